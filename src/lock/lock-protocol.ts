/**
 * The lock protocol: how a lock directory comes into existence, goes away, and is taken over from a dead
 * holder — race-free, with staleness decided by the holder's liveness (never by mtime).
 *
 * ## Why not proper-lockfile's own acquire/release
 * proper-lockfile's mechanism is the right primitive — an atomic directory operation as the lock — and
 * this module keeps it (the lock is a directory at a fixed path, as with its `lockfilePath`). But its
 * policy cannot meet LK-2 (LOCK-NOTES.md): staleness by mtime takes a SIGKILLed holder's lock only
 * after ≥ 2 s and steals a SIGSTOPped holder's lock after ~1.5 s; its `release()` removes the directory
 * without checking who owns it (a third process got in that way); its stale-removal is itself racy
 * (check-then-rmdir); and `mkdir` followed by writing the owner leaves a window in which the lock has no
 * owner. So the atomic step here is done with `node:fs` directly, and everything around it is new.
 *
 * ## Creating a lock directory: never ownerless
 * A contender prepares a private directory `<aux>/new-<token>/owner.json` (0700/0600) and `rename`s it
 * onto the lock path. `rename` of a directory onto an existing non-empty directory fails (ENOTEMPTY or
 * EEXIST), so exactly one contender's rename succeeds, and the lock appears *with* its owner in one step.
 * (A directory without a readable owner therefore only comes from a power loss or from outside this
 * protocol; it counts as held for `graceMs` after its last change, then as stale.)
 *
 * ## Removing a lock directory — the invariant
 * A lock directory whose owner token is T is removed only
 *  (a) by T's own process on release, after reading `owner.json` and finding T; or
 *  (b) by the holder of the takeover mutex M(T) = `<aux>/takeover-t-T`, after re-reading, *while holding
 *      M(T)*, that the lock still carries T and T is dead.
 * M(T) is itself a lock directory created by the same rename step, so at most one process holds it at a
 * time, and it falls under the same invariant (its own mutex is M(W) for its holder's token W).
 *
 * ## Why takeover is race-free
 * Under M(T), between the re-read and the `rename` of the lock to a tombstone, no one else can remove the
 * T-directory (only M(T)'s holder may, and T is dead and cannot release), and no one can put another
 * directory at the lock path while the T-directory occupies it. So the rename moves exactly the dead
 * holder's directory — never a live owner's. Tokens are random and never reused, so a late contender that
 * judged T dead long ago finds, under M(T), that the lock no longer carries T and backs off. After the
 * tombstone rename the lock path is free and contenders race on the atomic rename again: exactly one
 * wins. A live holder is never taken over: liveness is `kill(pid, 0)` plus the process's start identity
 * (a recycled PID of another program does not match; a zombie is dead; a SIGSTOPped or blocked process is
 * alive), and a holder on another host is never judged at all. If a takeover's holder dies while holding
 * M(T), M(T) is stale by the same rule and is taken over through M(W) — the same argument, one level up.
 *
 * Not covered: processes outside this protocol deleting or replacing the directory, two machines whose
 * `os.hostname()` is equal sharing one state dir, and PID namespaces (containers) sharing one state dir.
 */
import { mkdirSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { LockFileError } from '../errors.js';
import { OWNER_FILE_NAME, type LockPaths } from './lock-paths.js';
import { inspectLockDir, readOwner, serializeOwner, type InspectContext, type LockOwner } from './lock-owner.js';

/** A new random one-time token. */
export function newToken(): string {
  return randomUUID();
}

function errCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Create the lock's parent (the state dir) 0700 when missing, and the protocol's scratch dir.
 * @throws {LockFileError}
 */
export function ensureLockDirs(paths: LockPaths, force = false): void {
  // Once per process and lock: if they vanish later, placing a directory fails with ENOENT and calls
  // this again with `force`.
  if (!force && ensured.has(paths.auxDir)) return;
  try {
    mkdirSync(paths.parentDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new LockFileError(paths.lockPath, `Cannot create the state dir ${paths.parentDir} (${errCode(error) ?? String(error)}): create it (mode 0700) or pass another \`stateDir\`.`, { cause: error });
  }
  try {
    mkdirSync(paths.auxDir, { mode: 0o700 });
  } catch (error) {
    if (errCode(error) !== 'EEXIST') {
      throw new LockFileError(paths.lockPath, `Cannot create ${paths.auxDir} (${errCode(error) ?? String(error)}): is the state dir ${paths.parentDir} writable by this user?`, { cause: error });
    }
  }
  ensured.add(paths.auxDir);
}

const ensured = new Set<string>();

/** A private directory holding `owner.json`, ready to be renamed onto a lock path. */
export class PreparedLockDir {
  private current: LockOwner;
  readonly tmpPath: string;
  private readonly paths: LockPaths;
  private present = false;

  constructor(paths: LockPaths, owner: LockOwner) {
    this.paths = paths;
    this.current = owner;
    this.tmpPath = path.join(paths.auxDir, `new-${owner.token}`);
  }

  /** The owner record that placing this directory publishes. */
  get owner(): LockOwner {
    return this.current;
  }

  /**
   * Set a new `acquiredAt` (after waiting for a holder, so the record tells when the lock was really
   * taken). Rewrites the private copy only; never the lock.
   */
  restamp(acquiredAt: string): void {
    this.current = { ...this.current, acquiredAt };
    if (!this.present) return;
    try {
      writeFileSync(path.join(this.tmpPath, OWNER_FILE_NAME), serializeOwner(this.current), { mode: 0o600 });
    } catch {
      this.discard(); // prepared afresh by the next placeAt
    }
  }

  private prepare(): void {
    try {
      mkdirSync(this.tmpPath, { mode: 0o700 });
      writeFileSync(path.join(this.tmpPath, OWNER_FILE_NAME), serializeOwner(this.current), { mode: 0o600, flag: 'wx' });
      this.present = true;
    } catch (error) {
      this.present = true; // partly created: let discard() remove what exists
      this.discard();
      throw new LockFileError(this.paths.lockPath, `Cannot write the lock owner file in ${this.tmpPath} (${errCode(error) ?? String(error)}): is ${this.paths.parentDir} writable and not full?`, { cause: error });
    }
  }

  /**
   * Try to make it the directory at `target` (one atomic rename).
   * @returns `true` when it is now the lock; `false` when `target` exists (this directory is kept for another try).
   * @throws {LockFileError}
   */
  placeAt(target: string): boolean {
    for (let attempt = 0; ; attempt++) {
      if (!this.present) this.prepare();
      try {
        renameSync(this.tmpPath, target);
        this.present = false;
        return true;
      } catch (error) {
        const code = errCode(error);
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') return false;
        if (code === 'ENOENT' && attempt === 0) {
          // The scratch dir or the state dir was removed under us: recreate and retry once.
          this.present = false;
          ensureLockDirs(this.paths, true);
          continue;
        }
        throw new LockFileError(target, `Cannot create the lock ${target} (${code ?? String(error)}): check that ${path.dirname(target)} is a writable directory owned by this user.`, { cause: error });
      }
    }
  }

  /** Remove the private directory if it was not placed. Never throws. */
  discard(): void {
    if (!this.present) return; // placed (it is the lock now) or never made
    this.present = false;
    try {
      rmSync(this.tmpPath, { recursive: true, force: true });
    } catch {
      // leftover scratch of a live process is swept by cleanupStaleLock once we are gone
    }
  }
}

/** What a token-checked removal did. */
export type RemoveOutcome = 'removed' | 'not-ours' | 'missing';

/**
 * Remove the lock directory `dir` only if its owner token is `token` (invariant case (a)).
 * @throws {LockFileError} when the owner file cannot be read or removed.
 */
export function removeOwnedDir(dir: string, token: string): RemoveOutcome {
  const { owner } = readOwner(dir);
  if (!owner) {
    try {
      lstatSync(dir);
      return 'not-ours';
    } catch {
      return 'missing';
    }
  }
  if (owner.token !== token) return 'not-ours';
  try {
    unlinkSync(path.join(dir, OWNER_FILE_NAME));
  } catch (error) {
    if (errCode(error) !== 'ENOENT') {
      throw new LockFileError(dir, `Cannot remove ${path.join(dir, OWNER_FILE_NAME)} (${errCode(error) ?? String(error)}): check the permissions of ${dir}.`, { cause: error });
    }
  }
  try {
    rmdirSync(dir);
  } catch (error) {
    // ENOTEMPTY/EEXIST: a contender's rename already replaced our (now empty) directory with its own
    // lock — which is theirs, and stays.
    const code = errCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') {
      throw new LockFileError(dir, `Cannot remove the lock ${dir} (${code ?? String(error)}): check the permissions of its parent.`, { cause: error });
    }
  }
  return 'removed';
}

/** What a takeover attempt did. */
export type TakeoverOutcome =
  /** The dead holder's directory was moved away and deleted; the path is free (for whoever is first). */
  | 'done'
  /** The directory changed meanwhile (someone else finished, or it is not stale any more): look again. */
  | 'changed'
  /** Another live process is taking it over right now: look again shortly. */
  | 'busy';

/** Everything a takeover needs. */
export interface TakeoverEnv {
  paths: LockPaths;
  ctx: InspectContext;
  /** Owner records for our mutex claims (a fresh token each). */
  makeOwner: (token: string) => LockOwner;
}

const MAX_TAKEOVER_DEPTH = 4;

/**
 * Take over the stale lock-like directory `target` whose identity is `key` (invariant case (b)).
 * @throws {LockFileError}
 */
export function takeOver(target: string, key: string, env: TakeoverEnv, depth = 0): TakeoverOutcome {
  if (depth > MAX_TAKEOVER_DEPTH) return 'busy';
  const mutexPath = path.join(env.paths.auxDir, `takeover-${key}`);
  if (mutexPath === target) return 'busy'; // only with a forged owner record (tokens never repeat)
  const mutex = new PreparedLockDir(env.paths, env.makeOwner(newToken()));
  let claimed: boolean;
  try {
    claimed = mutex.placeAt(mutexPath);
  } catch (error) {
    mutex.discard();
    throw error;
  }
  if (!claimed) {
    mutex.discard();
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
  } finally {
    removeOwnedDir(mutexPath, mutex.owner.token);
  }
}
