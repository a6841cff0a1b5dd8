/**
 * The single-instance lock (SPEC LK-1..3): one process per state dir, staleness by the holder's liveness,
 * race-free takeover of a dead holder's lock, and a release that never removes someone else's lock.
 * See `lock-protocol.ts` for the protocol and why it is race-free.
 */
export {
  acquireInstanceLock,
  tryAcquireInstanceLock,
  type AcquireInstanceLockOptions,
  type InstanceLockHandle,
  type LockConflictReason,
  type LockJudgeOptions,
  type LockReleaseResult,
  type TryAcquireResult,
} from './instance-lock.js';
export {
  checkLockHealth,
  cleanupStaleLock,
  getLockStatus,
  type LockCleanupResult,
  type LockHealth,
  type LockHealthProblem,
  type LockStatus,
} from './lock-status.js';
export { resolveLockPaths, LOCK_DIR_NAME, OWNER_FILE_NAME, type LockLocationOptions, type LockPaths } from './lock-paths.js';
export { type LockStateReason } from './lock-owner.js';
export { parseOwner, type LockOwner } from './lock-record.js';
export { probeProcess, startTimeMethod, type ProcessProbe, type StartTimeMethod } from './process-identity.js';
