/**
 * The owner record of a lock and the one rule that judges it: a lock is stale exactly when its holder is
 * provably dead on this machine (HE-9: the machine's identity, not its host name). Used for the instance lock and for the protocol's own takeover mutexes
 * alike. A lock is a symbolic link whose target is the record (see `lock-protocol.ts`); a directory
 * holding `owner.json` (the format of earlier versions) is still read and judged by the same rule.
 */
import { lstatSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { LockFileError } from '../errors.js';
import { readRegularFileSync, UnsafeFileError } from '../fs/regular-file.js';
import { OWNER_FILE_NAME } from './lock-paths.js';
import { hostLabel, MACHINE_HOST_PREFIX, parseOwner, startKey, type LockOwner, type LockOwnerV3 } from './lock-record.js';
import { machineIdentity } from './machine-identity.js';
import { probeProcess, selfIdentity } from './process-identity.js';
import { judgeHolder } from '../protocol/decisions.js';

export type { LockOwner } from './lock-record.js';

/** Why a lock is (or is not) held, as decided by {@link inspectLockDir}. */
export type LockStateReason =
  /** No lock directory. */
  | 'free'
  /** A live process on this host holds it (its PID and start time match). */
  | 'held'
  /** A live process holds it but is suspended (SIGSTOP, debugger): never taken over. */
  | 'held-stopped'
  /** The PID is alive but its start time cannot be checked here: treated as the holder. */
  | 'held-unverified'
  /** This very process holds it. */
  | 'held-by-this-process'
  /** Held by a process on another machine (or host, for an earlier record): it cannot be checked from here, so it is never stale. */
  | 'foreign-host'
  /** Stale: the holder ran on this machine in an earlier boot (its PID is not alive with its recorded start). */
  | 'earlier-boot'
  /** The lock has no readable owner and its mtime is within the grace period of now: treated as held. */
  | 'ownerless-fresh'
  /** Stale: no process with the holder's PID exists. */
  | 'dead-pid'
  /** Stale: the holder exited and is a zombie waiting to be reaped. */
  | 'zombie'
  /** Stale: the PID is alive but started at another time: a recycled PID of another program. */
  | 'recycled-pid'
  /** Stale: no readable owner and an mtime further from now than the grace period (past or future). */
  | 'ownerless-expired'
  /**
   * Something that is no lock (neither a symbolic link nor a directory: a regular file, a FIFO…) sits at
   * the lock path: nobody can acquire until it is removed. (The name is kept from the directory format.)
   */
  | 'not-a-directory';

/** The state of one lock (the instance lock, or a takeover mutex). */
export type LockInspection =
  | { kind: 'absent'; reason: 'free' }
  | { kind: 'invalid'; reason: 'not-a-directory' }
  | {
      kind: 'present';
      /** The parsed owner, `null` when the record is missing, garbage or not a readable file. */
      owner: LockOwner | null;
      /** The holder is provably dead: the lock may be taken over. */
      stale: boolean;
      /** Why it is held or stale. */
      reason: Exclude<LockStateReason, 'free' | 'not-a-directory'>;
      /** Identity of this lock instance: `t-<token>`, or `i-<dev>-<ino>` when ownerless. */
      key: string;
    };

/** What judging needs besides the directory itself. */
export interface InspectContext {
  /** Epoch ms now (for the ownerless grace period). */
  now: number;
  /** How long (either side of now) a lock without a readable owner counts as "being created" (held). */
  graceMs: number;
}

let hostCache: string | undefined;
let hostLabelCache: string | undefined;
/**
 * `os.hostname()`, read once per process (a `uname` call each time otherwise, ~25 µs on a busy machine,
 * a fifth of a lock cycle). A process judges every lock by the name it started with, and records it in
 * its own locks: consistent within the process. A name changed by the network meanwhile makes this
 * process's locks look foreign to processes started after the change — as it did before the cache.
 */
export function thisHost(): string {
  hostCache ??= hostname();
  return hostCache;
}

/** {@link hostLabel} of {@link thisHost}, computed once: what this process's records say as their host. */
function thisHostLabel(): string {
  hostLabelCache ??= hostLabel(thisHost());
  return hostLabelCache;
}

let selfStartKey: { startId: string | null; key: string | null } | undefined;
/** `startKey` of this process's own start identity, computed once. */
function ownStartKey(): string | null {
  const { startId } = selfIdentity();
  if (selfStartKey?.startId !== startId) selfStartKey = { startId, key: startId === null ? null : startKey(startId) };
  return selfStartKey.key;
}

/**
 * A new owner record for this process, exactly as a reader parses it back from the link (version 3:
 * `startedAt` is not recorded, `startId` is its hash, `acquiredAt` is whole milliseconds from 1970 on).
 */
export function ownerForThisProcess(token: string, now: number): LockOwnerV3 {
  const { machine, boot } = machineIdentity();
  return {
    version: 3,
    pid: process.pid,
    host: `${MACHINE_HOST_PREFIX}${machine}`, // as parsed back; `shownOwner` puts our host name in for people
    startedAt: null,
    startId: ownStartKey(),
    token,
    acquiredAt: new Date(Math.max(0, Math.trunc(now))).toISOString(),
    machine,
    boot,
  };
}

/** The longest owner record read from a legacy `owner.json` (a record is ~300 bytes). */
const MAX_OWNER_BYTES = 16 * 1024;

/**
 * Read a legacy directory lock's `<dir>/owner.json` without ever blocking: `lstat` first (a FIFO, a
 * device, a directory or a symbolic link is no owner record and is never opened), then open with
 * `O_NONBLOCK | O_NOFOLLOW`, check again on the descriptor, and read at most {@link MAX_OWNER_BYTES}.
 * @returns the text, or `null` with the file's mtime (when it exists) for anything unreadable.
 * @throws {LockFileError} only when the file is a regular file that cannot be read (permissions, I/O).
 */
function readLegacyOwnerText(dir: string): { text: string | null; mtimeMs: number | null } {
  const file = path.join(dir, OWNER_FILE_NAME);
  let stat: Stats;
  try {
    stat = lstatSync(file);
  } catch {
    return { text: null, mtimeMs: null }; // missing (or the directory vanished): the directory's mtime decides
  }
  if (!stat.isFile()) return { text: null, mtimeMs: stat.mtimeMs };
  try {
    return { text: readRegularFileSync(file, { maxBytes: MAX_OWNER_BYTES, noFollow: true }).toString('utf8'), mtimeMs: stat.mtimeMs };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Gone, swapped for a link, a FIFO or something else after the lstat, or too large: no owner record.
    if (error instanceof UnsafeFileError || code === 'ENOENT' || code === 'ELOOP' || code === 'ENXIO') return { text: null, mtimeMs: stat.mtimeMs };
    throw new LockFileError(dir, `Cannot read the lock owner file ${file} (${code ?? String(error)}): check its permissions (it should be 0600, owned by this user).`, { cause: error });
  }
}

/**
 * The owner record of the lock at `lockPath`, whatever its form: the target of a symbolic link (the
 * current format: one `readlink`, nothing opened), or `owner.json` inside a directory (the format of
 * earlier versions, still judged so that their locks are honoured and taken over).
 * @returns the owner (`null` when missing or garbage) and, for an unreadable record, the newest mtime of
 *   the record's file (legacy) — the lock's own mtime is the caller's.
 * @throws {LockFileError} when a legacy `owner.json` is a regular file that cannot be read.
 */
export function readOwner(lockPath: string): { owner: LockOwner | null; mtimeMs: number | null } {
  let target: string;
  try {
    target = readlinkSync(lockPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { owner: null, mtimeMs: null };
    if (code !== 'EINVAL') {
      throw new LockFileError(lockPath, `Cannot read the lock ${lockPath} (${code ?? String(error)}): check the permissions of its directory.`, { cause: error });
    }
    // Not a symbolic link: a directory in the earlier format (or something that is no lock at all).
    const legacy = readLegacyOwnerText(lockPath);
    const owner = legacy.text === null ? null : parseOwner(legacy.text);
    return { owner, mtimeMs: owner ? null : legacy.mtimeMs };
  }
  return { owner: parseOwner(target), mtimeMs: null };
}

/** The judgement of an owner record; `startedAt` is the live holder's, read from the process when its identity matched. */
export interface OwnerVerdict {
  stale: boolean;
  reason: Exclude<LockStateReason, 'free' | 'not-a-directory' | 'ownerless-fresh' | 'ownerless-expired'>;
  startedAt?: string | null;
}

/**
 * Is `owner` on this machine? Version 3 records the machine's identity (HE-9); version 1 the host name,
 * version 2 its label (the same function of the name) — an earlier record is judged by the name, as
 * before, so one left under a name changed since is still foreign (docs/architecture.md).
 */
function onThisMachine(owner: LockOwner): boolean {
  if (owner.version === 3) return owner.machine === machineIdentity().machine;
  return owner.host === (owner.version === 1 ? thisHost() : thisHostLabel());
}

/** A version-3 holder on this machine from another boot than ours (either boot unknown: not known to be another). */
function fromAnotherBoot(owner: LockOwner): boolean {
  const ours = machineIdentity().boot;
  return owner.version === 3 && owner.boot != null && ours !== null && owner.boot !== ours;
}

/**
 * Does the start identity `startId` of a live process match the one `owner` recorded? Version 1 records
 * the identity (compared exactly), version 2 its hash (compared hash to hash).
 */
function sameStart(owner: LockOwner, startId: string): boolean {
  return owner.startId === (owner.version === 1 ? startId : startKey(startId));
}

/**
 * Judge an owner record by liveness (the rule is `judgeHolder`, src/protocol/decisions.ts): another host →
 * never stale; our PID with our start → held by us; PID gone, zombie, or alive with another start time →
 * stale; start unknown → held (never guess "dead").
 */
export function judgeOwner(owner: LockOwner): OwnerVerdict {
  const here = onThisMachine(owner);
  const anotherBoot = here && fromAnotherBoot(owner);
  const self = selfIdentity();
  const own = owner.pid === process.pid;
  const probe = here && !own ? probeProcess(owner.pid) : null;
  const verdict = judgeHolder(owner, {
    onThisMachine: here,
    fromAnotherBoot: anotherBoot,
    selfPid: process.pid,
    selfStartId: self.startId,
    probe: probe ?? (own ? self : { pid: owner.pid, exists: false, zombie: false, stopped: false, startId: null, startedAt: null }),
    sameStart: (startId) => sameStart(owner, startId),
  });
  if (verdict.reason === 'held-by-this-process') return { ...verdict, startedAt: self.startedAt } as OwnerVerdict;
  const verified = owner.startId !== null && probe !== null && probe.startId !== null;
  if (verdict.reason === 'held' || (verdict.reason === 'held-stopped' && verified)) return { ...verdict, startedAt: probe!.startedAt } as OwnerVerdict;
  return verdict as OwnerVerdict;
}

/**
 * The owner as people see it: a version-3 record on this machine shows this machine's host name (a
 * foreign one its machine tag); a live holder proved by its start identity lends its start time.
 */
function shownOwner(owner: LockOwner, verdict: OwnerVerdict): LockOwner {
  const host = owner.version === 3 && verdict.reason !== 'foreign-host' ? thisHost() : owner.host;
  const startedAt = owner.startedAt ?? verdict.startedAt ?? null;
  return host === owner.host && startedAt === owner.startedAt ? owner : { ...owner, host, startedAt };
}

/**
 * Whether a lock without a readable owner still counts as "being created": its newest mtime is within
 * `graceMs` of now, in either direction. A wall-clock comparison is clamped both ways: an mtime in the
 * future (a clock set back, an edited or restored file) is not trusted to mean "fresh" until the clock
 * reaches it — beyond the grace period it is as stale as one that far in the past.
 */
function isFreshOwnerless(newestMtimeMs: number, ctx: InspectContext): boolean {
  return Math.abs(ctx.now - newestMtimeMs) <= ctx.graceMs;
}

/**
 * Inspect a lock (the instance lock, or a takeover mutex): `lstat`, read the owner record, judge.
 * A symbolic link (the current format) or a directory (the earlier one) is a lock; anything else at the
 * path (a regular file, a FIFO, a socket) is `invalid` and is never opened.
 * @throws {LockFileError} when it cannot be examined (permissions, I/O).
 */
export function inspectLockDir(lockPath: string, ctx: InspectContext): LockInspection {
  let stat: BigIntStats;
  try {
    stat = lstatSync(lockPath, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent', reason: 'free' };
    throw new LockFileError(lockPath, `Cannot examine the lock ${lockPath} (${code ?? String(error)}): check the permissions of its directory.`, { cause: error });
  }
  if (!stat.isSymbolicLink() && !stat.isDirectory()) return { kind: 'invalid', reason: 'not-a-directory' };
  const { owner, mtimeMs } = readOwner(lockPath);
  if (owner) {
    const verdict = judgeOwner(owner);
    // A version-2 record has no start time: a holder proved alive by its start identity lends its own.
    const shown = shownOwner(owner, verdict);
    return { kind: 'present', owner: shown, stale: verdict.stale, reason: verdict.reason, key: `t-${owner.token}` };
  }
  // No readable owner: never produced by this protocol (a link is created with its record in one step);
  // a lock of an earlier version whose creator died before writing owner.json, a power loss, or
  // something from outside. Held during a grace period, then stale.
  const newest = Math.max(Number(stat.mtimeMs), mtimeMs ?? 0);
  const stale = !isFreshOwnerless(newest, ctx);
  return {
    kind: 'present',
    owner: null,
    stale,
    reason: stale ? 'ownerless-expired' : 'ownerless-fresh',
    key: `i-${stat.dev}-${stat.ino}`,
  };
}
