/**
 * `launch_rss`: peak resident set size of a warm `first-run launch` (CLI bundle) against `node -e 0`,
 * both read the same way — `process.resourceUsage().maxRSS` on `exit`, written by the preloaded
 * `rss-probe.js` (`node --import`) — interleaved.
 * `launch_cpu`: from the same runs, the CPU time (user + system) each process used. Unlike wall time it
 * hardly moves when other jobs compete for the cores, so it is the steadiest view of the start-up cost.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from '../context.js';
import { timeToExit } from '../proc.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';
import { prepareWarmState } from './warm-launch.js';

export async function launchRss(ctx: BenchContext): Promise<Figure[]> {
  const { args } = prepareWarmState(ctx);
  const probe = pathToFileURL(path.join(ctx.childDir, 'rss-probe.js')).href;
  const out = path.join(ctx.dir('rss'), 'usage.json');
  const env = { ...ctx.env, BENCH_RSS_FILE: out };
  const cpu = { launch: [] as number[], bare: [] as number[] };
  const measure = (argv: string[], into: number[]) => {
    timeToExit(['--import', probe, ...argv], env);
    const usage = JSON.parse(readFileSync(out, 'utf8')) as { maxRssKiB: number; cpuMs: number };
    into.push(usage.cpuMs);
    return usage.maxRssKiB / 1024;
  };
  const samples = await interleave(ctx.runs(15, 3), 1, () => measure(args, cpu.launch), () => measure(['-e', '0'], cpu.bare));
  // interleave() drops the warm-up round; drop it here too so the CPU rounds pair up the same way.
  cpu.launch.shift();
  cpu.bare.shift();
  return [
    ratioFigure({
      name: 'launch_rss',
      unit: 'MiB',
      values: samples.a,
      baselines: samples.b,
      maxRatio: null,
      detail: 'peak RSS (maxRSS at exit) of a warm launch vs node -e 0, both with the same --import probe',
    }),
    ratioFigure({
      name: 'launch_cpu',
      unit: 'ms',
      values: cpu.launch,
      baselines: cpu.bare,
      maxRatio: null,
      detail: 'CPU time (user + system) of a warm launch vs node -e 0, same runs: informational, steadier than wall time under load',
    }),
  ];
}
