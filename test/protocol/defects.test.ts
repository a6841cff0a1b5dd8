/**
 * The model's first finding (docs/architecture.md, "What the model found"), replayed on real processes:
 * a successor that proved alive and waits for the lock is not scheduled (SIGSTOP stands in for load, a
 * debugger, a sleeping machine) until its wait is over; `reset` then judges its proof expired and clears
 * the ledger. Before the fix the resumed successor made one more attempt at the now free lock, took it,
 * found restart_count 0 and ran with the budget spent — committing restart_count 1, so the reset was
 * silently undone. Now it gives up at its own deadline, even holding the lock: the reset stands.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { findPendingHandoff } from '../../src/handoff/index.js';
import { allWritersGone, assertBuilt, journal, launch, ledgerPhase, quickConfig, QUICK_DB, run, sandbox, waitFor } from '../support/processes.js';

beforeAll(() => assertBuilt());

describe('a successor that oversleeps its own wait (real processes)', () => {
  it('reset clears the ledger after the proof expired; the resumed successor gives up and the reset stands', async () => {
    const box = sandbox(QUICK_DB, quickConfig({ handoffSec: 0.5 })); // the successor waits 1.5 s
    await launch(box).exited;
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });

    // The running app holds the lock; its successor proves alive and waits for it.
    const app = launch(box, ['--stay']);
    await waitFor('the app to hold the lock', () => journal(box).some((e) => e.pid === app.child.pid && e.type === 'ledger.loaded'));
    const successor = launch(box, ['--successor-of', String(app.child.pid), '--handoff-token', randomUUID()]);
    const pid = successor.child.pid!;
    // Its proof on disk (the journal's `successor_started` comes just before the proof is written).
    await waitFor('the successor to prove alive', () => findPendingHandoff(box.stateDir)?.pid === pid);
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
    const end = await successor.exited;
    expect(end.code, end.stderr).toBe(0);
    const mine = journal(box).filter((e) => e.pid === pid).map((e) => e.type);
    // Its wait is over: whether or not its last attempt got the lock, it never runs on the reset ledger.
    expect(mine).toContain('restart.successor_cancelled');
    expect(mine).not.toContain('ledger.loaded');
    expect(ledgerPhase(box)).toBeNull();
  }, 60_000);
});
