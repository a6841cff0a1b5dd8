/**
 * The owner record of a lock directory and the one rule that judges it: a lock is stale exactly when its
 * holder is provably dead on this host. Used for the instance lock and for the protocol's own takeover
 * mutexes alike.
 */
import { readFileSync, lstatSync, type BigIntStats } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { LockFileError } from '../errors.js';
import { OWNER_FILE_NAME } from './lock-paths.js';
import { probeProcess, selfIdentity } from './process-identity.js';

/** The metadata a holder writes into `owner.json` (0600) before its lock directory becomes visible. */
export interface LockOwner {
  /** Format version of this record. */
  version: 1;
  /** The holder's PID. */
  pid: number;
  /** `os.hostname()` of the holder's machine. A holder on another host is never judged dead. */
  host: string;
  /** When the holder process started (ISO), for people; `null` when the platform cannot tell. */
  startedAt: string | null;
  /** The holder's exact start identity (see `process-identity.ts`); `null` when the platform cannot tell. */
  startId: string | null;
  /** A random one-time id of this acquisition; every release and `isHeld()` compares it. */
  token: string;
  /** When the lock was acquired (ISO). */
  acquiredAt: string;
}

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
  /** Held by a process on another host: it cannot be checked from here, so it is never stale. */
  | 'foreign-host'
  /** The directory has no readable owner yet and is younger than the grace period: treated as held. */
  | 'ownerless-fresh'
  /** Stale: no process with the holder's PID exists. */
  | 'dead-pid'
  /** Stale: the holder exited and is a zombie waiting to be reaped. */
  | 'zombie'
  /** Stale: the PID is alive but started at another time: a recycled PID of another program. */
  | 'recycled-pid'
  /** Stale: no readable owner and older than the grace period (its creator died before writing it). */
  | 'ownerless-expired'
  /** Something that is not a directory sits at the lock path: nobody can acquire until it is removed. */
  | 'not-a-directory';

/** The state of one lock-like directory (the instance lock, or a takeover mutex). */
export type LockInspection =
  | { kind: 'absent'; reason: 'free' }
  | { kind: 'invalid'; reason: 'not-a-directory' }
  | {
      kind: 'present';
      /** The parsed owner, `null` when `owner.json` is missing or garbage. */
      owner: LockOwner | null;
      /** The holder is provably dead: the directory may be taken over. */
      stale: boolean;
      /** Why it is held or stale. */
      reason: Exclude<LockStateReason, 'free' | 'not-a-directory'>;
      /** Identity of this directory instance: `t-<token>`, or `i-<dev>-<ino>` when ownerless. */
      key: string;
    };

/** What judging needs besides the directory itself. */
export interface InspectContext {
  /** Epoch ms now (for the ownerless grace period). */
  now: number;
  /** How long a directory without a readable owner counts as "being created" (held). */
  graceMs: number;
}

const TOKEN_PATTERN = /^[A-Za-z0-9-]{8,80}$/;

/** Serialise an owner record for `owner.json`. */
export function serializeOwner(owner: LockOwner): string {
  return `${JSON.stringify(owner)}\n`;
}

/** Parse `owner.json`; `null` for anything that is not a complete, well-formed record. */
export function parseOwner(text: string): LockOwner | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (v.version !== 1) return null;
  if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0) return null;
  if (typeof v.host !== 'string' || v.host.length === 0) return null;
  if (typeof v.token !== 'string' || !TOKEN_PATTERN.test(v.token)) return null;
  if (typeof v.acquiredAt !== 'string') return null;
  if (v.startedAt !== null && typeof v.startedAt !== 'string') return null;
  if (v.startId !== null && typeof v.startId !== 'string') return null;
  return {
    version: 1,
    pid: v.pid,
    host: v.host,
    startedAt: v.startedAt,
    startId: v.startId,
    token: v.token,
    acquiredAt: v.acquiredAt,
  };
}

/** A new owner record for this process. */
export function ownerForThisProcess(token: string, now: number): LockOwner {
  const self = selfIdentity();
  return {
    version: 1,
    pid: process.pid,
    host: hostname(),
    startedAt: self.startedAt,
    startId: self.startId,
    token,
    acquiredAt: new Date(now).toISOString(),
  };
}

/** Read `<dir>/owner.json`: the owner, `null` (missing or garbage), and the file's mtime when it exists. */
export function readOwner(dir: string): { owner: LockOwner | null; mtimeMs: number | null } {
  const file = path.join(dir, OWNER_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { owner: null, mtimeMs: null };
    throw new LockFileError(dir, `Cannot read the lock owner file ${file} (${code ?? String(error)}): check its permissions (it should be 0600, owned by this user).`, { cause: error });
  }
  const owner = parseOwner(text);
  if (owner) return { owner, mtimeMs: null };
  let mtimeMs: number | null = null;
  try {
    mtimeMs = lstatSync(file).mtimeMs;
  } catch {
    // vanished meanwhile: the directory's own mtime decides
  }
  return { owner: null, mtimeMs };
}

/**
 * Judge an owner record by liveness: another host → never stale; our PID with our start → held by us;
 * PID gone, zombie, or alive with another start time → stale; start unknown → held (never guess "dead").
 */
export function judgeOwner(owner: LockOwner): { stale: boolean; reason: Exclude<LockStateReason, 'free' | 'not-a-directory' | 'ownerless-fresh' | 'ownerless-expired'> } {
  if (owner.host !== hostname()) return { stale: false, reason: 'foreign-host' };
  const self = selfIdentity();
  if (owner.pid === process.pid) {
    if (owner.startId !== null && self.startId !== null && owner.startId !== self.startId) {
      return { stale: true, reason: 'recycled-pid' };
    }
    return { stale: false, reason: 'held-by-this-process' };
  }
  const probe = probeProcess(owner.pid);
  if (!probe.exists) return { stale: true, reason: 'dead-pid' };
  if (probe.zombie) return { stale: true, reason: 'zombie' };
  if (owner.startId !== null && probe.startId !== null) {
    if (owner.startId !== probe.startId) return { stale: true, reason: 'recycled-pid' };
    return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held' };
  }
  return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held-unverified' };
}

/**
 * Inspect a lock-like directory (`lstat`, read `owner.json`, judge).
 * @throws {LockFileError} when it cannot be examined (permissions, I/O).
 */
export function inspectLockDir(dir: string, ctx: InspectContext): LockInspection {
  let stat: BigIntStats;
  try {
    stat = lstatSync(dir, { bigint: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent', reason: 'free' };
    throw new LockFileError(dir, `Cannot examine the lock ${dir} (${code ?? String(error)}): check the permissions of its directory.`, { cause: error });
  }
  if (!stat.isDirectory()) return { kind: 'invalid', reason: 'not-a-directory' };
  const { owner, mtimeMs } = readOwner(dir);
  if (owner) {
    const verdict = judgeOwner(owner);
    return { kind: 'present', owner, stale: verdict.stale, reason: verdict.reason, key: `t-${owner.token}` };
  }
  // No readable owner: a creator that died before writing it, a power loss that lost the file's data,
  // or something outside this protocol. Held during a grace period, then stale.
  const newest = Math.max(Number(stat.mtimeMs), mtimeMs ?? 0);
  const stale = ctx.now - newest > ctx.graceMs;
  return {
    kind: 'present',
    owner: null,
    stale,
    reason: stale ? 'ownerless-expired' : 'ownerless-fresh',
    key: `i-${stat.dev}-${stat.ino}`,
  };
}
