/**
 * `reset` as a library call: clear the ledger and flags (moved to `quarantine/`, nothing deleted) so the
 * next launch is a first run again — only when no instance runs **and no relaunched successor is waiting
 * for the lock**. Resetting under a waiting successor was a way to a second restart: the successor would
 * have found an empty ledger and started a fresh first run (`src/handoff/handoff-protocol.ts`, "Why
 * `reset` cannot cause a second restart through the hand-off").
 */
import { LockAcquisitionError } from '../errors.js';
import { pinStateDir, prepareStateDir, tightenedPayload } from '../fs/state-dir.js';
import { openJournal } from '../journal/index.js';
import { resetLedger } from '../ledger/index.js';
import { acquireInstanceLock } from '../lock/index.js';
import { tidyHandoffs } from './launch-lock.js';
import { resetUnderLock } from '../protocol/decisions.js';

/** Options of {@link resetFirstRun}. */
export interface ResetFirstRunOptions {
  /** The state dir to reset. */
  stateDir: string;
}

/** What {@link resetFirstRun} moved. */
export interface ResetFirstRunResult {
  moved: { from: string; to: string }[];
  /** The state dir was group/world-writable and was tightened to 0700: the mode it had (journaled as `state_dir.tightened`). */
  tightenedFrom: number | null;
}

/**
 * Reset the first run of `stateDir`, holding the instance lock.
 * @throws StateDirError when the state dir is not usable.
 * @throws LockAcquisitionError when an instance holds the lock, or a relaunched successor is waiting for it.
 */
export async function resetFirstRun(options: ResetFirstRunOptions): Promise<ResetFirstRunResult> {
  const stateDir = pinStateDir(options.stateDir); // HE-3: one absolute path for the check, the lock, the journal and the reset
  const prepared = prepareStateDir(stateDir);
  const lock = await acquireInstanceLock({ stateDir });
  const journal = openJournal({ stateDir });
  try {
    const record = (type: string, payload: Record<string, unknown> = {}) => journal.append(type, payload);
    if (prepared.tightenedFrom !== null) record('state_dir.tightened', tightenedPayload(prepared));
    // After the lock: a successor that could still take it proved alive before the lock was free.
    const decision = resetUnderLock(tidyHandoffs(stateDir, record));
    if (decision.kind === 'refuse') {
      const pending = decision.for;
      record('ledger.reset_refused', { successor_pid: pending.pid });
      throw new LockAcquisitionError(
        lock.lockPath,
        { pid: pending.pid, host: lock.owner.host, startedAt: 'unknown' },
        `Not resetting ${stateDir}: a relaunched successor (pid ${pending.pid}) is waiting to take over the app (until ${pending.waitsUntil} at the latest). Resetting now could make the app restart a second time. Try again once it runs (or has given up).`,
      );
    }
    return { ...resetLedger(stateDir, { journal, assertWriter: () => lock.assertHeld() }), tightenedFrom: prepared.tightenedFrom };
  } finally {
    journal.close();
    await lock.release();
  }
}
