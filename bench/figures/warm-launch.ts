/**
 * `warm_launch`: a whole `first-run launch` process (everything granted, ledger already COMPLETED) from
 * spawn to exit, against `node -e 0` (a process that imports nothing), interleaved.
 * `warm_launch_unbundled` is the same with `FIRST_RUN_NO_BUNDLE=1` (the tsc output, module by module):
 * what the CLI bundle saves; `warm_launch_no_code_cache` the bundle without its V8 code cache.
 */
import * as path from 'node:path';
import { ALL_GRANTED, fastConfig, launchArgs, writeJson, type BenchContext } from '../context.js';
import { timeToExit } from '../proc.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';

/** A state dir whose ledger is COMPLETED (two launches: the first completes, the second is warm). */
export function prepareWarmState(ctx: BenchContext): { stateDir: string; args: string[] } {
  const dir = ctx.dir('warm');
  const simDb = writeJson(path.join(dir, 'tcc.json'), ALL_GRANTED);
  const config = writeJson(path.join(dir, 'config.json'), fastConfig(0.5));
  const stateDir = path.join(dir, 'state');
  const args = launchArgs(ctx, stateDir, simDb, config);
  timeToExit(args, ctx.env);
  timeToExit(args, ctx.env);
  return { stateDir, args };
}

export async function warmLaunch(ctx: BenchContext): Promise<Figure[]> {
  const { args } = prepareWarmState(ctx);
  const runs = ctx.runs(40, 6);
  const bare = () => timeToExit(['-e', '0'], ctx.env);
  const bundled = await interleave(runs, 3, () => timeToExit(args, ctx.env), bare);
  const plainEnv = { ...ctx.env, FIRST_RUN_NO_BUNDLE: '1' };
  const plain = await interleave(ctx.runs(15, 3), 1, () => timeToExit(args, plainEnv), bare);
  const uncachedEnv = { ...ctx.env, FIRST_RUN_NO_CODE_CACHE: '1' };
  const uncached = await interleave(ctx.runs(15, 3), 1, () => timeToExit(args, uncachedEnv), bare);
  return [
    ratioFigure({
      name: 'warm_launch',
      unit: 'ms',
      values: bundled.a,
      baselines: bundled.b,
      maxRatio: 1.5,
      detail: 'spawn → exit of `first-run launch` (granted, COMPLETED ledger; CLI bundle + V8 code cache) vs `node -e 0`, interleaved',
    }),
    ratioFigure({
      name: 'warm_launch_unbundled',
      unit: 'ms',
      values: plain.a,
      baselines: plain.b,
      maxRatio: null,
      detail: 'the same with FIRST_RUN_NO_BUNDLE=1 (dist/ module by module): informational',
    }),
    ratioFigure({
      name: 'warm_launch_no_code_cache',
      unit: 'ms',
      values: uncached.a,
      baselines: uncached.b,
      maxRatio: null,
      detail: 'the bundle without its V8 code cache (FIRST_RUN_NO_CODE_CACHE=1): what the cache saves, informational',
    }),
  ];
}
