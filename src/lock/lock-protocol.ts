/**
 * The lock protocol: how a lock comes into existence, goes away, and is taken over from a dead holder —
 * race-free, in as few system calls as the guarantees allow, with staleness decided by the holder's
 * liveness (never by an mtime).
 *
 * ## The lock is a symbolic link whose target is the owner record
 * `<stateDir>/instance.lock -> 3 48213 q3Xb9_LmT2aZ Hk3_a9Qz lz1k5x0a Xq0aZ1b2 cD4eF5g6` (pid, token, start
 * identity, acquired at, machine, boot: the format is in `lock-record.ts`). The target is never followed: it is data, read
 * with one `readlink`. (Chromium's `SingletonLock` is such a link.)
 * - **Acquire = one `symlink()`.** `symlink` creates the link *with* its target in one step and fails
 *   with EEXIST when anything exists at the path, so exactly one contender's call succeeds and the lock
 *   never exists without its owner. (The earlier format — `mkdir` of a private directory, write
 *   `owner.json`, `rename` onto the lock path — took five calls for the same guarantee.)
 * - **Release = `readlink` + `unlink`**, the unlink only when the record carries our token.
 * - **`isHeld()` = one `readlink`**, compared by token.
 * So a free-lock acquire + release is three calls against `mkdir` + `rmdir`'s two.
 *
 * ## Why the record is at most 59 bytes (version 2)
 * ext4 keeps a link target of up to 59 bytes inside the inode (a "fast symlink"); a longer one gets a
 * data block, allocated by `symlink` and freed by `unlink`. Measured here: symlink + readlink + unlink
 * of a 50-byte target ~14 µs, of a 225-byte one ~70 µs — as much as `mkdir` + `rmdir`, and the single
 * largest system-call cost of an embedded warm start. (APFS and tmpfs have no such threshold; nothing
 * is lost there.) So the record keeps only what the protocol needs, compactly:
 * - **Token**: 12 base64url characters from 9 random bytes (`/dev/urandom`, `src/fs/urandom.ts`), fresh per acquire.
 *   72 bits: after 2^18 acquisitions on one state dir the chance that any two drew the same token is
 *   ~2^-37 (and a repeat only matters if it meets a stale judgement of the same lock).
 * - **Start identity**: the 48-bit FNV-1a hash of `startId` (`process-identity.ts`), compared hash to
 *   hash. Not cryptographic, and need not be: nobody chooses a process's start time, so a recycled PID
 *   whose identity hashes equal to the dead holder's is a 2^-48 accident. No `node:crypto` for it.
 * - **Machine and boot** (version 3, HE-9): 8-character hashes of the machine's and the boot's identity
 *   (`machine-identity.ts`) — not the host name, which changes under a running app. The two tags take
 *   the room version 2 gave the host.
 * - **Host** (version 2, still read): kept as it is when it is at most 18 plain characters (`[A-Za-z0-9._-]`), else its first 9
 *   plain characters, `~`, and the 48-bit hash of the whole name (`Johns-Mac~x3Fq0aZ1`). A label is a
 *   function of the name alone, so "is the holder on this host?" is `record === label(this host)`,
 *   exact up to a 2^-48 collision of two long names *sharing a state dir*; and a person reading
 *   `status` still recognises the machine. A full hash alone would be exact too, but unreadable.
 * - **Acquired at**: epoch ms in base 36. The holder's start time (ISO) no longer fits: a status of a
 *   live holder whose start identity matched shows the process's own start time; otherwise unknown.
 * Version 1 records (JSON, a link target or an earlier directory lock's `owner.json`) are still read
 * and judged — host and start identity compared exactly, as before — so a lock taken by an earlier
 * version is honoured while its holder lives and taken over once it is dead. The other way round is
 * not safe: a version-1-only reader sees a version-2 link as a garbage target (held for `graceMs`, then
 * stale), so two versions must not run on one state dir at the same time (see "What it does not detect").
 *
 * ## Removing a lock — the invariant
 * A lock whose owner token is T is removed only
 *  (a) by T's own process on release, after `readlink` shows T; or
 *  (b) by the holder of the takeover mutex M(T) = `<lockPath>.aux/takeover-t-T`, after re-reading,
 *      *while holding M(T)*, that the lock still carries T and that T is dead.
 * M(T) is itself a lock created by the same one `symlink()`, so at most one process holds it at a time,
 * and it falls under the same invariant (its own mutex is M(W) for its holder's token W).
 *
 * ## Why release and takeover are race-free
 * Release: between our `readlink` showing T and our `unlink`, nobody else may remove the T-link — (b)
 * needs T dead, and we are T, alive — and nobody can put another lock at a path the T-link occupies.
 * So the unlink removes our own link, never a successor's.
 * Takeover: under M(T), between the re-read and the `unlink`, nobody else may remove the T-link (only
 * M(T)'s holder may, and T is dead and cannot release), and nobody can create a lock at the occupied
 * path. So the unlink removes exactly the dead holder's link. Tokens are random and never reused, so a
 * late contender that judged T dead long ago finds, under M(T), that the lock no longer carries T, and
 * backs off. After the unlink the path is free and contenders race on `symlink()` again: exactly one
 * wins. A live holder is never taken over: liveness is `kill(pid, 0)` plus the process's start identity
 * (a recycled PID of another program does not match; a zombie is dead; a SIGSTOPped or blocked process
 * is alive), and a holder on another machine is never judged at all. If a taker dies holding M(T), M(T) is
 * stale by the same rule and is taken over through M(W) — the same argument, one level up.
 *
 * ## Locks without a readable owner, and the earlier format
 * This protocol never makes one (the record is the link). A link with a garbage target, or a directory
 * lock of an earlier version without a readable `owner.json` (missing, torn, a FIFO, a directory, a link),
 * counts as held while its mtime is within `graceMs` of now — in either direction, so an mtime in the
 * future is not trusted until the clock reaches it — then as stale. A directory lock of an earlier
 * version *with* a record is judged like a link, and taken over the same way (moved to a tombstone in
 * the scratch dir under M(T), then deleted), so an upgrade never strands or steals a lock. Nothing in
 * the state dir is ever opened without `lstat` first and `O_NONBLOCK | O_NOFOLLOW`: a FIFO cannot hang
 * a launch or a status.
 *
 * ## What it does not detect
 * Processes outside this protocol deleting or replacing the link (a holder notices at its next
 * `isHeld()`: the ledger refuses the write); two machines with one machine identity (a cloned
 * machine-id in one PID namespace), or — where no machine identity can be read, and for version-2
 * records — whose `os.hostname()` is equal (or whose long names share a label), sharing one state dir; a version
 * that reads only version-1 records (before the compact record) running on the same state dir as this
 * one, while this one holds the lock: it takes the lock for ownerless after `graceMs`; PID namespaces
 * (containers) sharing one state dir; a file system without symbolic links (acquire then fails with a
 * `LockFileError` naming the path); a live holder that hangs for ever (it is alive: by design it is
 * never taken over).
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, lstatSync } from 'node:fs';
import * as path from 'node:path';
import { LockFileError } from '../errors.js';
import type { LockPaths } from './lock-paths.js';
import { inspectLockDir, readOwner, type InspectContext } from './lock-owner.js';
import { newToken, serializeOwner, type WritableOwner } from './lock-record.js';

function errCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Create `dir` (mode 0700) when it is missing: the state dir before the first lock, the scratch dir
 * before the first takeover. Called only after a `symlink()` failed with ENOENT, so a warm acquire
 * makes no `mkdir` call at all.
 * @throws {LockFileError}
 */
function ensureDir(dir: string, lockPath: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new LockFileError(lockPath, `Cannot create ${dir} (${errCode(error) ?? String(error)}): create it (mode 0700) or pass another \`stateDir\`.`, { cause: error });
  }
}

/**
 * Make `owner` the lock at `target` with one `symlink()` (the target of the link is the record).
 * @returns `true` when it is now the lock; `false` when something already exists at `target`.
 * @throws {LockFileError} when the link cannot be created (permissions, no symlinks on this file system).
 */
export function placeLock(target: string, owner: WritableOwner): boolean {
  const record = serializeOwner(owner);
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(record, target);
      return true;
    } catch (error) {
      const code = errCode(error);
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT' && attempt === 0) {
        ensureDir(path.dirname(target), target); // first lock in this state dir, or it was removed under us
        continue;
      }
      throw new LockFileError(target, `Cannot create the lock ${target} (${code ?? String(error)}): check that ${path.dirname(target)} is a writable directory owned by this user, on a file system with symbolic links.`, { cause: error });
    }
  }
}

/** What a token-checked removal did. */
export type RemoveOutcome = 'removed' | 'not-ours' | 'missing';

/**
 * Remove the lock `lockPath` only if its owner token is `token` (invariant case (a)).
 * @throws {LockFileError} when the lock cannot be read or removed.
 */
export function removeOwnedLock(lockPath: string, token: string): RemoveOutcome {
  const { owner } = readOwner(lockPath);
  if (!owner) {
    try {
      lstatSync(lockPath);
      return 'not-ours';
    } catch {
      return 'missing';
    }
  }
  if (owner.token !== token) return 'not-ours';
  try {
    unlinkSync(lockPath);
  } catch (error) {
    if (errCode(error) === 'ENOENT') return 'missing';
    throw new LockFileError(lockPath, `Cannot remove the lock ${lockPath} (${errCode(error) ?? String(error)}): check the permissions of ${path.dirname(lockPath)}.`, { cause: error });
  }
  return 'removed';
}

/** What a takeover attempt did. */
export type TakeoverOutcome =
  /** The dead holder's lock was removed; the path is free (for whoever is first). */
  | 'done'
  /** The lock changed meanwhile (someone else finished, or it is not stale any more): look again. */
  | 'changed'
  /** Another live process is taking it over right now: look again shortly. */
  | 'busy';

/** Everything a takeover needs. */
export interface TakeoverEnv {
  paths: LockPaths;
  ctx: InspectContext;
  /** Owner records for our mutex claims (a fresh token each). */
  makeOwner: (token: string) => WritableOwner;
}

const MAX_TAKEOVER_DEPTH = 4;

/** Remove a stale lock we hold the mutex of: unlink a link; move an earlier-format directory aside, then delete it. */
function removeStale(target: string, env: TakeoverEnv): TakeoverOutcome {
  let isDirectory: boolean;
  try {
    isDirectory = lstatSync(target).isDirectory();
  } catch {
    return 'changed';
  }
  if (!isDirectory) {
    try {
      unlinkSync(target);
      return 'done';
    } catch (error) {
      if (errCode(error) === 'ENOENT') return 'changed';
      throw new LockFileError(target, `Cannot remove the stale lock ${target} (${errCode(error) ?? String(error)}): check the permissions of ${path.dirname(target)}.`, { cause: error });
    }
  }
  const tombstone = path.join(env.paths.auxDir, `dead-${newToken()}`);
  try {
    renameSync(target, tombstone);
  } catch (error) {
    if (errCode(error) === 'ENOENT') return 'changed';
    throw new LockFileError(target, `Cannot move the stale lock ${target} aside (${errCode(error) ?? String(error)}): check the permissions of ${path.dirname(target)}.`, { cause: error });
  }
  try {
    rmSync(tombstone, { recursive: true, force: true });
  } catch {
    // a tombstone is garbage the moment it exists; cleanupStaleLock sweeps it
  }
  return 'done';
}

/**
 * Take over the stale lock `target` whose identity is `key` (invariant case (b)).
 * @throws {LockFileError}
 */
export function takeOver(target: string, key: string, env: TakeoverEnv, depth = 0): TakeoverOutcome {
  if (depth > MAX_TAKEOVER_DEPTH) return 'busy';
  const mutexPath = path.join(env.paths.auxDir, `takeover-${key}`);
  if (mutexPath === target) return 'busy'; // only with a forged owner record (tokens never repeat)
  const mutexOwner = env.makeOwner(newToken());
  if (!placeLock(mutexPath, mutexOwner)) {
    const state = inspectLockDir(mutexPath, env.ctx);
    if (state.kind === 'absent') return 'changed';
    if (state.kind === 'present' && state.stale) {
      // The previous taker died holding M(key): take M(key) over by the same rule, then look again.
      return takeOver(mutexPath, state.key, env, depth + 1) === 'busy' ? 'busy' : 'changed';
    }
    return 'busy';
  }
  try {
    const current = inspectLockDir(target, env.ctx);
    if (current.kind !== 'present' || current.key !== key || !current.stale) return 'changed';
    return removeStale(target, env);
  } finally {
    removeOwnedLock(mutexPath, mutexOwner.token);
  }
}
