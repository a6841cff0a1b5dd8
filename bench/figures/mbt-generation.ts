/**
 * `mbt_generation`: how long `getShortestPaths` (xstate/graph) takes to generate the relaunch gate's
 * model-based test paths for the four gate inputs of `test/mbt/relaunch-gate.mbt.test.ts`, plus the
 * extension by every event, and how many paths that gives. Generation only: replaying the paths is the
 * test's job. `eventsFor` and the inputs are copied from that test (keep them in step).
 */
import { getShortestPaths } from 'xstate/graph';
import { relaunchGateMachine, type RelaunchGateContext, type RelaunchGateInput } from '../../machines/relaunch-gate.machine.js';
import type { BenchContext } from '../context.js';
import { median, spread, type Figure } from '../stats.js';

type GateEvent = { type: string; [key: string]: unknown };

const traversable = relaunchGateMachine.provide({ actions: { notifyParent: () => {} } });
const MAX_BOOT = 3;
const nextBoot = (bootId: string) => `b${Number(bootId.slice(1)) + 1}`;

function eventsFor(snapshot: { value: unknown; context: RelaunchGateContext }): GateEvent[] {
  const events: GateEvent[] = [
    { type: 'restart.request', requestId: 'r', source: 'orchestrator' },
    { type: 'restart.request', requestId: 'l', source: 'legacy' },
    { type: 'user.quit' },
  ];
  if (snapshot.value === 'armed') events.push({ type: 'gate.delay_elapsed' });
  if (snapshot.value === 'committing') {
    events.push(
      { type: 'xstate.done.actor.commitLedger', output: { generation: 1 } },
      { type: 'xstate.error.actor.commitLedger', error: { message: 'disk full' } },
    );
  }
  if (snapshot.value === 'executing') {
    events.push({ type: 'relaunch.succeeded', newPid: 4242 }, { type: 'relaunch.failed', message: 'no successor' });
  }
  if (Number(snapshot.context.bootId.slice(1)) < MAX_BOOT) {
    events.push({ type: 'runtime.booted', bootId: nextBoot(snapshot.context.bootId), pid: 2, at: 0 });
  }
  return events;
}

const INPUTS: RelaunchGateInput[] = [
  { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: false, killSwitch: false },
  { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: true, killSwitch: false },
  { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: false, killSwitch: true },
  { bootId: 'b1', delayMs: 3000, enabled: false, dryRun: false, killSwitch: false },
];

function generateAll(): { shortest: number; extended: number } {
  let shortest = 0;
  let extended = 0;
  for (const input of INPUTS) {
    const paths = getShortestPaths(traversable, {
      events: eventsFor as never,
      input,
      stopWhen: (snapshot) => (snapshot.context as RelaunchGateContext).restartCount > 1,
      limit: 20_000,
    });
    shortest += paths.length;
    for (const p of paths) extended += eventsFor(p.state as never).length;
  }
  return { shortest, extended };
}

export async function mbtGeneration(ctx: BenchContext): Promise<Figure[]> {
  generateAll(); // warm-up (JIT)
  const times: number[] = [];
  let counts = { shortest: 0, extended: 0 };
  for (let i = 0; i < ctx.runs(10, 3); i++) {
    const start = performance.now();
    counts = generateAll();
    times.push(performance.now() - start);
  }
  const { min, max } = spread(times);
  return [
    {
      name: 'mbt_generation',
      value: median(times),
      unit: 'ms',
      baseline: null,
      ratio: null,
      target: null,
      met: null,
      runs: times.length,
      min,
      max,
      baseline_min: null,
      baseline_max: null,
      detail: `${counts.shortest} shortest paths (+ ${counts.extended} extended by every event) for the relaunch gate's 4 inputs, generated with getShortestPaths`,
    },
  ];
}
