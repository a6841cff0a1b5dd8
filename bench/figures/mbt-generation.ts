/**
 * `mbt_generation`: how long `getShortestPaths` (xstate/graph) takes to generate the relaunch gate's
 * model-based test paths for the four gate inputs of `test/mbt/relaunch-gate.mbt.test.ts`, plus the
 * extension by every event, and how many paths that gives. Generation only: replaying the paths is the
 * test's job. The model (events, inputs, generator) is the test's own, from `src/testing/relaunch-gate-model.ts`.
 */
import { RELAUNCH_GATE_INPUTS, relaunchGateEvents, relaunchGateShortestPaths } from '../../src/testing/relaunch-gate-model.js';
import type { BenchContext } from '../context.js';
import { median, spread, type Figure } from '../stats.js';

function generateAll(): { shortest: number; extended: number } {
  let shortest = 0;
  let extended = 0;
  for (const input of Object.values(RELAUNCH_GATE_INPUTS)) {
    const paths = relaunchGateShortestPaths(input);
    shortest += paths.length;
    for (const p of paths) extended += relaunchGateEvents(p.state as never).length;
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
