/**
 * Looking at the instance lock from outside: status, cleanup of a dead holder's lock, health check.
 * None of these ever removes a live holder's lock.
 */
import { accessSync, constants, lstatSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { systemClock } from '../clock.js';
import { UsageError, describeValue } from '../errors.js';
import { OWNER_FILE_NAME, resolveLockPaths, type LockPaths } from './lock-paths.js';
import { inspectLockDir, ownerForThisProcess, type InspectContext, type LockOwner, type LockStateReason } from './lock-owner.js';
import { takeOver, type TakeoverEnv } from './lock-protocol.js';
import type { LockJudgeOptions } from './instance-lock.js';

/** The instance lock as seen right now. */
export interface LockStatus {
  /** The lock's path. */
  lockPath: string;
  /** Something occupies the lock path (a live holder, a dead holder's leftover, or junk). */
  locked: boolean;
  /** The owner record, when readable. */
  holder: LockOwner | null;
  /** The lock was left by a dead holder on this host: the next acquire takes it over at once. */
  stale: boolean;
  /** Why, as a stable code. */
  reason: LockStateReason;
  /** The same, in a sentence for people. */
  description: string;
}

function resolveJudge(options: LockJudgeOptions): { paths: LockPaths; ctx: InspectContext } {
  const graceMs = options.graceMs ?? 2000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new UsageError(`Expected \`graceMs\` to be a finite number from 0 and up, got ${describeValue(graceMs)}.`);
  }
  return { paths: resolveLockPaths(options), ctx: { now: (options.clock ?? systemClock).now(), graceMs } };
}

const DESCRIPTIONS: Record<LockStateReason, string> = {
  free: 'not locked',
  held: 'held by a live process',
  'held-stopped': 'held by a live but suspended process (never taken over)',
  'held-unverified': 'held by a live PID whose start time cannot be checked here',
  'held-by-this-process': 'held by this process',
  'foreign-host': 'held by a process on another machine (cannot be checked from here; never treated as stale)',
  'ownerless-fresh': 'exists without a readable owner, within the grace period (treated as held)',
  'dead-pid': 'stale: its holder no longer exists',
  zombie: 'stale: its holder has exited (zombie)',
  'recycled-pid': "stale: its holder's PID now belongs to another process (different start time)",
  'earlier-boot': 'stale: its holder ran on this machine before the last boot',
  'ownerless-expired': 'stale: no readable owner and older than the grace period',
  'not-a-directory': 'blocked: the lock path is neither a lock link nor a directory (remove it)',
};

/**
 * The lock's status: is it locked, by whom, is it stale, and why.
 * @throws {LockFileError} when the lock cannot be examined (permissions).
 * @throws {UsageError} when no state dir is given.
 */
export function getLockStatus(options: LockJudgeOptions): LockStatus {
  const { paths, ctx } = resolveJudge(options);
  const inspection = inspectLockDir(paths.lockPath, ctx);
  const holder = inspection.kind === 'present' ? inspection.owner : null;
  const stale = inspection.kind === 'present' && inspection.stale;
  const extra = holder ? ` (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt ?? 'unknown'}, acquired ${holder.acquiredAt})` : '';
  return {
    lockPath: paths.lockPath,
    locked: inspection.kind !== 'absent',
    holder,
    stale,
    reason: inspection.reason,
    description: `${paths.lockPath}: ${DESCRIPTIONS[inspection.reason]}${extra}`,
  };
}

/** What {@link cleanupStaleLock} did. */
export interface LockCleanupResult {
  /** The status before cleaning. */
  before: LockStatus;
  /** A dead holder's lock was removed. */
  removed: boolean;
  /** Leftovers of dead processes removed from the protocol's scratch dir (`<lockPath>.aux/`). */
  swept: string[];
}

/**
 * Remove the lock only if its holder is provably dead on this host (the same race-free takeover an
 * acquire does), and sweep leftovers of dead processes from `<lockPath>.aux/`. A live, suspended,
 * unverifiable or foreign-host holder's lock is left alone.
 * @throws {LockFileError}
 * @throws {UsageError} when no state dir is given.
 */
export function cleanupStaleLock(options: LockJudgeOptions): LockCleanupResult {
  const { paths, ctx } = resolveJudge(options);
  const before = getLockStatus(options);
  const env: TakeoverEnv = { paths, ctx, makeOwner: (token) => ownerForThisProcess(token, ctx.now) };
  let removed = false;
  if (before.stale) {
    const inspection = inspectLockDir(paths.lockPath, ctx);
    if (inspection.kind === 'present' && inspection.stale) removed = takeOver(paths.lockPath, inspection.key, env) === 'done';
  }
  return { before, removed, swept: sweepAux(paths, env) };
}

function listAux(paths: LockPaths): string[] {
  try {
    return readdirSync(paths.auxDir);
  } catch {
    return [];
  }
}

/** Entries of the scratch dir that belong to dead processes (what a sweep would remove). */
function deadAuxEntries(paths: LockPaths, ctx: InspectContext): { name: string; kind: 'tombstone' | 'scratch' | 'mutex'; key: string }[] {
  const found: { name: string; kind: 'tombstone' | 'scratch' | 'mutex'; key: string }[] = [];
  for (const name of listAux(paths)) {
    const full = path.join(paths.auxDir, name);
    if (name.startsWith('dead-')) {
      found.push({ name, kind: 'tombstone', key: '' });
      continue;
    }
    const kind = name.startsWith('new-') ? 'scratch' : name.startsWith('takeover-') ? 'mutex' : null;
    if (!kind) continue;
    let inspection;
    try {
      inspection = inspectLockDir(full, ctx);
    } catch {
      continue;
    }
    if (inspection.kind === 'present' && inspection.stale) found.push({ name, kind, key: inspection.key });
  }
  return found;
}

function sweepAux(paths: LockPaths, env: TakeoverEnv): string[] {
  const swept: string[] = [];
  for (const entry of deadAuxEntries(paths, env.ctx)) {
    const full = path.join(paths.auxDir, entry.name);
    if (entry.kind === 'mutex') {
      // A mutex is a lock others may be judging right now: remove it by the protocol.
      if (takeOver(full, entry.key, env) === 'done') swept.push(full);
      continue;
    }
    // Tombstones are garbage the moment they exist; a dead process's scratch dir is touched by no one else.
    try {
      rmSync(full, { recursive: true, force: true });
      swept.push(full);
    } catch {
      // left for next time
    }
  }
  return swept;
}

/** One problem found by {@link checkLockHealth}. */
export interface LockHealthProblem {
  /** Stable code. */
  code:
    | 'state-dir-not-directory'
    | 'state-dir-permissions'
    | 'state-dir-owner'
    | 'state-dir-not-writable'
    | 'lock-not-directory'
    | 'lock-permissions'
    | 'lock-unreadable'
    | 'stale-lock'
    | 'ownerless-lock'
    | 'aux-leftovers';
  /** The file or directory concerned. */
  path: string;
  /** What is wrong and what to do. */
  message: string;
}

/** The result of {@link checkLockHealth}. */
export interface LockHealth {
  /** No problems found. */
  healthy: boolean;
  /** Every problem found, each with what to do. */
  problems: LockHealthProblem[];
  /** The lock's status (`null` when it could not be examined). */
  status: LockStatus | null;
}

function mode(stats: Stats): string {
  return (stats.mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * Check that the lock can work and is in order: the state dir is a 0700 directory owned and writable by
 * this user, the lock (if any) is a lock link (or an earlier version's 0700 directory with a 0600 owner
 * file), it is not stale or ownerless,
 * and no dead process left scratch behind. Read-only: it changes nothing. A missing state dir is not a
 * problem (it is created on the first acquire).
 * @throws {UsageError} when no state dir is given.
 */
export function checkLockHealth(options: LockJudgeOptions): LockHealth {
  const { paths, ctx } = resolveJudge(options);
  const problems: LockHealthProblem[] = [];
  const dir = paths.parentDir;
  let dirStats: Stats | null = null;
  try {
    dirStats = statSync(dir);
  } catch {
    dirStats = null; // missing: created 0700 on the first acquire
  }
  if (dirStats) {
    if (!dirStats.isDirectory()) {
      problems.push({ code: 'state-dir-not-directory', path: dir, message: `The state dir ${dir} is not a directory: remove it or choose another \`stateDir\`.` });
      return { healthy: false, problems, status: null };
    }
    if ((dirStats.mode & 0o077) !== 0) {
      problems.push({ code: 'state-dir-permissions', path: dir, message: `The state dir ${dir} has mode ${mode(dirStats)}, expected 0700: run \`chmod 700 ${dir}\`.` });
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (uid !== null && dirStats.uid !== uid) {
      problems.push({ code: 'state-dir-owner', path: dir, message: `The state dir ${dir} belongs to uid ${dirStats.uid}, not to this user (uid ${uid}): use a state dir of your own.` });
    }
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch {
      problems.push({ code: 'state-dir-not-writable', path: dir, message: `The state dir ${dir} is not writable by this user, so the lock cannot be taken: fix its permissions (chmod 700) or its owner.` });
    }
  }

  let status: LockStatus | null = null;
  try {
    status = getLockStatus(options);
  } catch (error) {
    problems.push({ code: 'lock-unreadable', path: paths.lockPath, message: error instanceof Error ? error.message : String(error) });
  }
  if (status?.reason === 'not-a-directory') {
    problems.push({ code: 'lock-not-directory', path: paths.lockPath, message: `${paths.lockPath} is neither a lock (a symbolic link) nor a directory, so no process can take the lock: remove it.` });
  } else if (status?.locked) {
    // A lock link's own mode means nothing (its record is guarded by the 0700 state dir); a directory
    // lock of an earlier version keeps its files' modes.
    if (lstatSync(paths.lockPath, { throwIfNoEntry: false })?.isDirectory()) {
      checkMode(paths.lockPath, 0o700, problems);
      checkMode(path.join(paths.lockPath, OWNER_FILE_NAME), 0o600, problems);
    }
    if (status.reason === 'ownerless-fresh' || status.reason === 'ownerless-expired') {
      problems.push({ code: 'ownerless-lock', path: paths.lockPath, message: `The lock ${paths.lockPath} has no readable owner record (${status.reason === 'ownerless-expired' ? 'stale' : 'within the grace period'}): the next acquire takes it over once the grace period is over; or run cleanupStaleLock.` });
    } else if (status.stale) {
      problems.push({ code: 'stale-lock', path: paths.lockPath, message: `${status.description}. The next launch takes it over at once; or run cleanupStaleLock.` });
    }
  }

  const leftovers = deadAuxEntries(paths, ctx);
  if (leftovers.length > 0) {
    problems.push({ code: 'aux-leftovers', path: paths.auxDir, message: `${leftovers.length} leftover(s) of dead processes in ${paths.auxDir} (${leftovers.map((e) => e.name).join(', ')}): harmless; cleanupStaleLock removes them.` });
  }
  return { healthy: problems.length === 0, problems, status };
}

function checkMode(file: string, expected: number, problems: LockHealthProblem[]): void {
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch {
    return; // missing owner file is reported as ownerless
  }
  if ((stats.mode & 0o777 & ~expected) !== 0) {
    problems.push({ code: 'lock-permissions', path: file, message: `${file} has mode ${mode(stats)}, expected ${expected.toString(8).padStart(4, '0')} or stricter: run \`chmod ${expected.toString(8)} ${file}\`.` });
  }
}
