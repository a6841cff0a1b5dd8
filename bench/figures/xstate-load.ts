/**
 * `xstate_load`: what keeping xstate out of the CLI bundle costs a launch (issue 11: the package must not
 * ship a second copy of xstate, so the bundle `require`s the one in node_modules). Measured in fresh
 * processes: the wall time of `require('xstate')` from the package root (resolution through its
 * `exports`, reading and compiling its CommonJS build — with no code cache of ours), against the wall
 * time of the same process's whole start, `node -e` to that point. Informational: it is a part of
 * `warm_launch`, reported so the choice can be revisited with a number.
 */
import { spawnSync } from 'node:child_process';
import type { BenchContext } from '../context.js';
import { median, spread, type Figure } from '../stats.js';

const PROBE = `const t0 = performance.now(); require('xstate'); const ms = performance.now() - t0; console.log(JSON.stringify({ ms, sinceStart: performance.now() }));`;

export async function xstateLoad(ctx: BenchContext): Promise<Figure[]> {
  const loads: number[] = [];
  const starts: number[] = [];
  for (let i = 0; i < ctx.runs(15, 3) + 1; i++) {
    const result = spawnSync(process.execPath, ['-e', PROBE], { cwd: ctx.root, env: ctx.env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`xstate_load: ${result.stderr}`);
    const { ms, sinceStart } = JSON.parse(result.stdout) as { ms: number; sinceStart: number };
    if (i === 0) continue; // warm-up
    loads.push(ms);
    starts.push(sinceStart - ms);
  }
  const { min, max } = spread(loads);
  const b = spread(starts);
  return [
    {
      name: 'xstate_load',
      value: median(loads),
      unit: 'ms',
      baseline: median(starts),
      ratio: median(loads.map((l, i) => l / starts[i]!)),
      target: null,
      met: null,
      runs: loads.length,
      min,
      max,
      baseline_min: b.min,
      baseline_max: b.max,
      detail: "require('xstate') from node_modules in a fresh process (no code cache) vs that process's own start up to the require: the price of not bundling xstate",
    },
  ];
}
