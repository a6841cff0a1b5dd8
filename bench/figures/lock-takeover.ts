/**
 * `lock_takeover`: a holder process takes the lock and is SIGKILLed (its lock directory stays behind);
 * once it is reaped, a contender *process* is launched: the figure is the time from `spawn()` of the
 * contender to its line saying it holds the lock (target < 0.5 s absolute). The baseline is a bare
 * `node` spawned to its first line, so the ratio shows what the takeover adds to a process start.
 * `lock_takeover_acquire` is the same takeover done by an `acquireInstanceLock()` call in this process:
 * the acquire itself, without a process start.
 */
import * as path from 'node:path';
import { acquireInstanceLock } from '../../src/lock/index.js';
import type { BenchContext } from '../context.js';
import { reaped, timeToLine } from '../proc.js';
import { interleave, median, ratioFigure, spread, type Figure } from '../stats.js';

async function killedHolder(ctx: BenchContext, stateDir: string): Promise<void> {
  const { child } = await timeToLine([path.join(ctx.childDir, 'lock-holder.js'), stateDir], ctx.env, (l) => l.startsWith('held '));
  child.kill('SIGKILL');
  await reaped(child);
}

export async function lockTakeover(ctx: BenchContext): Promise<Figure[]> {
  const runs = ctx.runs(15, 4);
  const contender = path.join(ctx.childDir, 'lock-contender.js');
  const inChild: number[] = [];
  const samples = await interleave(
    runs,
    1,
    async () => {
      const stateDir = ctx.dir('takeover');
      await killedHolder(ctx, stateDir);
      const { ms, line, child } = await timeToLine([contender, stateDir], ctx.env, (l) => l.startsWith('acquired '));
      inChild.push(Number(line.split(' ')[1]));
      await reaped(child);
      return ms;
    },
    async () => {
      const { ms, child } = await timeToLine(['-e', 'console.log(1)'], ctx.env);
      await reaped(child);
      return ms;
    },
  );
  inChild.shift(); // the warm-up round's
  const inProcess: number[] = [];
  for (let i = 0; i < runs; i++) {
    const stateDir = ctx.dir('takeover-in-process');
    await killedHolder(ctx, stateDir);
    const start = performance.now();
    const lock = await acquireInstanceLock({ stateDir });
    inProcess.push(performance.now() - start);
    await lock.release();
  }
  const figure = ratioFigure({
    name: 'lock_takeover',
    unit: 'ms',
    values: samples.a,
    baselines: samples.b,
    maxRatio: null,
    detail: `spawn of a contender → it holds a SIGKILLed holder's lock (the acquire inside it: median ${median(inChild).toFixed(2)} ms) vs bare node spawn → first line`,
  });
  figure.target = '< 500 ms';
  figure.met = figure.value < 500;
  const ip = spread(inProcess);
  return [
    figure,
    {
      name: 'lock_takeover_acquire',
      value: median(inProcess),
      unit: 'ms',
      baseline: null,
      ratio: null,
      target: '< 500 ms',
      met: median(inProcess) < 500,
      runs: inProcess.length,
      min: ip.min,
      max: ip.max,
      baseline_min: null,
      baseline_max: null,
      detail: "acquireInstanceLock() in a running process over a SIGKILLed, reaped holder's lock",
    },
  ];
}
