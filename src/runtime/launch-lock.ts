/**
 * Taking the instance lock for a launch, hand-off included (`src/handoff/handoff-protocol.ts`):
 * - a successor proves alive, waits for the lock for as long as the hand-off allows (never a CLI flag),
 *   and runs only if it was not given up on;
 * - a plain launch takes the lock (waiting `lockTimeoutMs` at most), makes sure `handoff/` is a directory
 *   of ours, sweeps dead successors' files, and yields the lock to a successor that is waiting for it.
 */
import { monotonicClock } from '../clock-monotonic.js';
import { LockAcquisitionError } from '../errors.js';
import { beginSuccession, ensureHandoffDir, successorWaitMs, sweepAndFindPending, type HandoffRole, type PendingHandoff } from '../handoff/index.js';
import { acquireInstanceLock, tryAcquireInstanceLock, type InstanceLockHandle } from '../lock/index.js';
import { launchUnderLock, successorUnderLock } from '../protocol/decisions.js';

/** Set when this process was started by a relaunch. */
export interface SuccessorInfo {
  /** PID of the process that started us. */
  predecessorPid: number;
  /** The one-time token of the hand-off. */
  token: string;
}

/** What the lock step needs from the runtime. */
export interface LaunchLockContext {
  stateDir: string;
  handoffTimeoutMs: number;
  record: (type: string, payload?: Record<string, unknown>) => void;
}

/** The lock is ours, or this successor must not run (`quietly`: it was never told to start, and leaves no trace). */
export type LaunchLock = { kind: 'held'; lock: InstanceLockHandle; waitedMs: number } | { kind: 'cancelled'; quietly?: boolean };

/**
 * Under the lock: `handoff/` usable, dead successors' files swept (journaled); returns the successor
 * still waiting for the lock, if any.
 */
export function tidyHandoffs(stateDir: string, record: LaunchLockContext['record']): PendingHandoff | null {
  const { quarantined } = ensureHandoffDir(stateDir);
  if (quarantined) record('handoff.quarantined', { moved_to: quarantined });
  const { swept, pending } = sweepAndFindPending(stateDir);
  if (swept.length > 0) record('handoff.swept', { tokens: swept.map((token) => token.slice(0, 8)) });
  return pending;
}

/** A successor's way to the lock (steps 2 and 5 of the protocol). */
export async function takeLockAsSuccessor(ctx: LaunchLockContext, handoff: SuccessorInfo, role: HandoffRole): Promise<LaunchLock> {
  const started = Date.now();
  // Journaled before the proof exists, so it comes before anything the predecessor journals on seeing it.
  ctx.record(`${role}.successor_started`, { predecessor_pid: handoff.predecessorPid, wait_ms: successorWaitMs(ctx.handoffTimeoutMs) });
  const succession = beginSuccession({ stateDir: ctx.stateDir, token: handoff.token, role, handoffTimeoutMs: ctx.handoffTimeoutMs });
  if (succession.cancelledEarly) {
    succession.finish({ clearFiles: false });
    return { kind: 'cancelled' };
  }
  const result = await tryAcquireInstanceLock({ stateDir: ctx.stateDir, timeoutMs: succession.remainingMs(), sleep: succession.sleep, clock: monotonicClock });
  if (!result.acquired) {
    const cancelled = succession.wasCancelled();
    succession.finish({ clearFiles: true });
    if (cancelled) return { kind: 'cancelled' };
    ctx.record('instance.lock_conflict', { message: result.message });
    const holder = result.holder ? { pid: result.holder.pid, host: result.holder.host, startedAt: result.holder.startedAt ?? 'unknown' } : null;
    throw new LockAcquisitionError(result.lockPath, holder, `${result.message} (this process is a relaunched successor and waited as long as the hand-off allows)`);
  }
  // One check, right after the lock is ours: given up on, or past our own wait (paused, overloaded: the
  // lock's loop makes one last attempt after its deadline) — others have judged our proof expired by
  // now and may have acted on it (a launch ran, `reset` cleared the ledger): we must not run.
  const underLock = successorUnderLock({ cancelled: succession.wasCancelled(), remainingMs: succession.remainingMs() });
  if (underLock.kind === 'leave') {
    succession.finish({ clearFiles: true });
    await result.handle.release();
    ctx.record(`${role}.successor_gave_up`, { reason: underLock.reason });
    return { kind: 'cancelled' };
  }
  succession.finish({ clearFiles: true });
  tidyHandoffs(ctx.stateDir, ctx.record);
  return { kind: 'held', lock: result.handle, waitedMs: Date.now() - started };
}

/** A plain launch's way to the lock: take it, then yield it to a successor that is waiting for it. */
export async function takeLockAsLaunch(ctx: LaunchLockContext, lockTimeoutMs: number): Promise<LaunchLock> {
  const started = Date.now();
  const lock = await acquireInstanceLock({ stateDir: ctx.stateDir, timeoutMs: lockTimeoutMs, clock: monotonicClock }).catch((error: unknown) => {
    ctx.record('instance.lock_conflict', { message: error instanceof Error ? error.message : String(error) });
    throw error;
  });
  let pending: PendingHandoff | null;
  try {
    pending = tidyHandoffs(ctx.stateDir, ctx.record);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const decision = launchUnderLock(pending);
  if (decision.kind === 'run') return { kind: 'held', lock, waitedMs: Date.now() - started };
  // We slipped into the hand-off gap: the lock belongs to the successor that is waiting for it.
  pending = decision.to;
  await lock.release();
  ctx.record('instance.lock_yielded', { successor_pid: pending.pid, waits_until: pending.waitsUntil });
  throw new LockAcquisitionError(
    lock.lockPath,
    { pid: pending.pid, host: lock.owner.host, startedAt: 'unknown' },
    `Another instance is taking over ${ctx.stateDir}: the relaunched successor (pid ${pending.pid}) is waiting for the instance lock ${lock.lockPath} (until ${pending.waitsUntil} at the latest). This launch exits; use the running app.`,
  );
}
