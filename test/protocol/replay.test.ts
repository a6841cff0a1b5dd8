/**
 * Replays of the model's crash traces against real processes: the model SIGKILLs the running app or its
 * successor before one step of the hand-off; the real run is SIGKILLed right after the journal line that
 * the step before writes (`FIRST_RUN_FAULT_KILL_AFTER=<role>:<event type>`, src/runtime/fault-injection.ts),
 * then launched again until it settles. The real journal must keep the model's invariants (one restart,
 * restart_count never falls, ledger writers never interleave) and end in an outcome the model allows
 * after that crash (`outcomesOfCrash`) — so the model cannot drift from the code unnoticed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { formatTrace } from './explore.js';
import { crashTrace, outcomeKey, outcomesOfCrash } from './replay.js';
import { allWritersGone, assertBuilt, journal, journalInvariants, launch, ledgerPhase, sandbox, type Sandbox } from '../support/processes.js';

beforeAll(() => assertBuilt());

/** One crash point: the model's step, and the journal line the real code writes right before it. */
interface CrashPoint {
  /** The model's victim, and where it is SIGKILLed: before the step at one of these program counters. */
  victim: 'L1' | 'S1';
  pcs: string[];
  /** The real process, and the event type after whose first journal line it is SIGKILLed. */
  role: 'first' | 'successor';
  after: string;
}

// Where one line cannot tell two model steps apart (is the ledger write after `restart.count_changed`
// durable yet?), both are allowed.
const POINTS: CrashPoint[] = [
  { victim: 'L1', pcs: ['pending'], role: 'first', after: 'instance.lock_acquired' },
  { victim: 'L1', pcs: ['pending'], role: 'first', after: 'ledger.loaded' },
  { victim: 'L1', pcs: ['pending', 'spawn'], role: 'first', after: 'restart.count_changed' },
  { victim: 'L1', pcs: ['await'], role: 'first', after: 'restart.handoff_started' },
  { victim: 'L1', pcs: ['commitExecuted'], role: 'first', after: 'restart.successor_alive' },
  { victim: 'L1', pcs: ['release'], role: 'first', after: 'restart.executed' },
  { victim: 'S1', pcs: ['begin'], role: 'successor', after: 'restart.successor_started' }, // journaled before its cancel check and proof
  { victim: 'S1', pcs: ['load'], role: 'successor', after: 'instance.lock_acquired' },
  { victim: 'S1', pcs: ['release'], role: 'successor', after: 'ledger.committed' },
];

/** Launch again (no fault) until the ledger says COMPLETED. */
async function settle(box: Sandbox): Promise<void> {
  for (let launches = 0; ; launches++) {
    await allWritersGone(box, 30_000);
    if (ledgerPhase(box)?.phase === 'COMPLETED') return;
    if (launches === 6) throw new Error(`not COMPLETED after 6 launches (phase ${ledgerPhase(box)?.phase}, state dir ${box.stateDir})`);
    await launch(box).exited;
  }
}

describe('replays of the model crash traces (real processes)', () => {
  it.each(POINTS)('$victim SIGKILLed after its `$after` line: the real run keeps the invariants and ends as the model allows', async (point) => {
    const { trace } = crashTrace(point.victim, point.pcs.at(-1)!);
    const allowed = outcomesOfCrash(point.victim, point.pcs);
    expect(allowed.size).toBeGreaterThan(0);

    const box = sandbox();
    const first = launch(box, [], { FIRST_RUN_FAULT_KILL_AFTER: `${point.role}:${point.after}` });
    await first.exited;
    await allWritersGone(box, 30_000);
    // The victim's last journal line is the one it was killed after: the crash hit the modelled step.
    const before = journal(box);
    const victim = point.role === 'first' ? first.child.pid : before.find((e) => e.pid !== first.child.pid)?.pid;
    expect(before.filter((e) => e.pid === victim).at(-1)?.type, `${point.role} (pid ${victim}) did not die right after \`${point.after}\``).toBe(point.after);
    await settle(box);
    const inv = journalInvariants(journal(box));
    const real = outcomeKey({
      restartCount: ledgerPhase(box)?.restart_count ?? -1,
      successorsStarted: inv.successorsStarted,
      restartsExecuted: inv.restartsExecuted,
    });
    const context = `model trace:\n${formatTrace({ invariant: '(replay)', detail: `${point.victim} SIGKILLed at ${point.pcs.join(' or ')}`, trace })}\nstate dir ${box.stateDir}`;
    expect(inv.restartsExecuted, context).toBeLessThanOrEqual(1);
    expect(inv.countRises, context).toBeLessThanOrEqual(1);
    expect(inv.countNeverFalls, context).toBe(true);
    expect(inv.generationsIncrease, context).toBe(true);
    expect(inv.interleaved, context).toBe(false);
    const verdict = allowed.has(real) ? 'allowed' : `real: ${real}; the model allows only: ${[...allowed].join(' | ')}`;
    expect(verdict, context).toBe('allowed');
  }, 120_000);
});
