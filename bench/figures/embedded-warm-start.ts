/**
 * `embedded_warm_start`: what an app that embeds the library pays at every start — `runFirstRun(...)`
 * to its `result` on a COMPLETED ledger with everything granted, in this process, which has imported
 * the package already (and warmed up: the first rounds are not recorded); `createSimBackend` + `runFirstRun`,
 * a backend per start as an app makes one (the run closes it). Baseline, same process, same
 * disk (SPEC §5): read the ledger file + create and remove a lock (`symlink` + `unlink`, the lock's own
 * mechanism) + one `stat`. Interleaved, ms per start.
 */
import { readFileSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { parseConfig } from '../../src/config/index.js';
import { runFirstRun } from '../../src/runtime/run-first-run.js';
import { fastConfig, type BenchContext } from '../context.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';
import { prepareWarmState } from './warm-launch.js';

export async function embeddedWarmStart(ctx: BenchContext): Promise<Figure[]> {
  const { stateDir } = prepareWarmState(ctx);
  const simDb = path.join(path.dirname(stateDir), 'tcc.json');
  const settings = parseConfig(fastConfig(0.5), 'bench config', { env: {} });
  const ledger = path.join(stateDir, 'permission_ledger.json');
  const floorLock = path.join(ctx.dir('embedded-floor'), 'instance.lock');
  const outcomes = new Set<string>();

  const start = async () => {
    const t0 = performance.now();
    // One backend per start, as an app makes one: runFirstRun closes it when the run ends.
    const backend = createSimBackend({ file: simDb });
    const runtime = runFirstRun({ stateDir, settings, backend, relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: ctx.bin, args: [] } });
    const result = await runtime.result;
    const ms = performance.now() - t0;
    // The warm route starts no service (src/runtime/warm-start.ts); a start that ran the machines says so.
    outcomes.add(`${result.outcome}${runtime.service === null ? ' without the machines' : ' through the machines'}`);
    return ms;
  };
  const floor = () => {
    const t0 = performance.now();
    readFileSync(ledger);
    symlinkSync('owner', floorLock);
    unlinkSync(floorLock);
    statSync(stateDir);
    return performance.now() - t0;
  };
  const samples = await interleave(ctx.runs(40, 6), 5, start, floor);
  return [
    ratioFigure({
      name: 'embedded_warm_start',
      unit: 'ms',
      values: samples.a,
      baselines: samples.b,
      maxRatio: 4,
      detail: `runFirstRun → result on a COMPLETED ledger (outcome ${[...outcomes].join('/')}), package already imported, vs read the ledger + symlink/unlink a lock + one stat, same process`,
    }),
  ];
}
