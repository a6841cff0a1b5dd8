/**
 * The model's shortest counterexample to "reset respects a pending hand-off" (protocol-model.test.ts),
 * replayed on real processes: a successor that proved alive and waits for the lock is not scheduled
 * (SIGSTOP stands in for load, a debugger, a sleeping machine) until its wait is over; `reset` then
 * judges its proof expired and clears the ledger; resumed, the successor makes one more attempt at the
 * now free lock, takes it, finds restart_count 0 and runs with the budget spent — committing
 * restart_count 1, so the reset is silently undone. This test pins the defect (reported to the lead):
 * once the successor gives up at its own deadline, the last expectations flip.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPendingHandoff } from '../../src/handoff/index.js';
import { allWritersGone, assertBuilt, journal, launch, ledgerPhase, quickConfig, QUICK_DB, run, sandbox, waitFor } from '../support/processes.js';

beforeAll(() => assertBuilt());

describe('defect: a successor that oversleeps its own wait still takes the lock (real processes)', () => {
  it('reset clears the ledger after the proof expired; the resumed successor runs and undoes the reset', async () => {
    const box = sandbox(QUICK_DB, quickConfig({ handoffSec: 0.5 })); // the successor waits 1.5 s
    await launch(box).exited;
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });

    // The running app holds the lock; its successor proves alive and waits for it.
    const app = launch(box, ['--stay']);
    await waitFor('the app to hold the lock', () => journal(box).some((e) => e.pid === app.child.pid && e.type === 'ledger.loaded'));
    const successor = launch(box, ['--successor-of', String(app.child.pid), '--handoff-token', randomUUID()]);
    const pid = successor.child.pid!;
    await waitFor('the successor to prove alive', () => journal(box).some((e) => e.pid === pid && e.type === 'restart.successor_started'));
    process.kill(pid, 'SIGSTOP');
    try {
      app.child.kill('SIGTERM');
      await app.exited;
      // Its wait is over by every clock: the product itself no longer sees it pending.
      await waitFor('the proof to expire', () => findPendingHandoff(box.stateDir) === null, 20_000, 50);
      const reset = await run(['reset', '--state-dir', box.stateDir, '--yes', '--json']).exited;
      expect(reset.code, reset.stderr).toBe(0);
      expect(ledgerPhase(box)).toBeNull();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await successor.exited;
    const mine = journal(box).filter((e) => e.pid === pid).map((e) => e.type);
    // The defect: the successor took the lock after its wait and ran on the reset ledger.
    expect(mine).toContain('instance.lock_acquired');
    expect(mine).toContain('restart.successor_ledger_mismatch');
    expect(ledgerPhase(box)?.restart_count).toBe(1);
  }, 60_000);
});
