/**
 * The kill -9 sweep (SPEC §3 invariants 1, 2, 4): for every journal line of a clean run — whichever
 * process wrote it, the first one or its successor — a fresh run is SIGKILLed right after that line
 * (exactly: `FIRST_RUN_FAULT_KILL_AFTER`, see src/runtime/fault-injection.ts), then launched again
 * until it settles. Every run must end COMPLETED with at most one restart executed, restart_count
 * rising 0 → 1 at most once, and ledger writers never interleaving.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allWritersGone,
  assertBuilt,
  journal,
  journalInvariants,
  launch,
  ledgerPhase,
  sandbox,
  type Sandbox,
} from '../support/processes.js';

beforeAll(() => assertBuilt());

/**
 * Re-open until COMPLETED. FAILED counts as settled for the launch that reached it, but a crash can cost
 * the restart (by design: never double it), so a grant that only shows in a new process may need the
 * user's next launch — which re-checks TCC at PRECHECK and completes without restarting.
 */
async function settle(box: Sandbox): Promise<number> {
  let launches = 0;
  for (let i = 0; i < 6; i++) {
    await allWritersGone(box, 30_000);
    if (ledgerPhase(box)?.phase === 'COMPLETED') return launches;
    launches++;
    await launch(box).exited;
  }
  throw new Error(`did not reach COMPLETED after 6 launches (phase ${ledgerPhase(box)?.phase})`);
}

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

describe('kill -9 sweep (real processes)', () => {
  it('a crash right after every journal line of a clean run never doubles the restart', async () => {
    const clean = sandbox();
    const first = launch(clean);
    await first.exited;
    await allWritersGone(clean);
    const lines = journal(clean);
    expect(ledgerPhase(clean)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    const firstLines = lines.filter((e) => e.pid === first.child.pid).length;
    const successorLines = lines.filter((e) => e.pid !== first.child.pid).length;
    const points = [
      ...Array.from({ length: firstLines }, (_, i) => `first:${i + 1}`),
      ...Array.from({ length: successorLines }, (_, i) => `successor:${i + 1}`),
    ];
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    await pool(points, 4, async (point) => {
      const box = sandbox();
      await launch(box, [], { FIRST_RUN_FAULT_KILL_AFTER: point }).exited;
      try {
        const relaunches = await settle(box);
        const all = journal(box);
        const inv = journalInvariants(all);
        const phase = ledgerPhase(box);
        const key = `count ${phase?.restart_count}, restarts executed ${inv.restartsExecuted}, launches after the crash ${relaunches}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        const problems = [
          inv.restartsExecuted > 1 && `${inv.restartsExecuted} restarts executed`,
          inv.successorsStarted > 1 && `${inv.successorsStarted} successors started`,
          inv.countRises > 1 && `restart_count rose ${inv.countRises} times`,
          !inv.countNeverFalls && 'restart_count fell',
          !inv.generationsIncrease && 'ledger generations not strictly increasing',
          inv.interleaved && 'two ledger writers interleaved',
          phase?.phase !== 'COMPLETED' && `ended ${phase?.phase}`,
        ].filter(Boolean);
        if (problems.length > 0) failures.push(`${point}: ${problems.join('; ')} (state dir ${box.stateDir})`);
      } catch (error) {
        failures.push(`${point}: ${(error as Error).message} (state dir ${box.stateDir})`);
      }
    });
    console.log(
      `kill -9 sweep: ${points.length} crash points (${firstLines} in the first process, ${successorLines} in the successor); outcomes:\n` +
        [...outcomes].map(([k, v]) => `  ${v} × ${k}`).join('\n'),
    );
    expect(failures).toEqual([]);
  }, 300_000);
});
