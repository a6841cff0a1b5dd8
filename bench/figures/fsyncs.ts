/**
 * `fsyncs_warm_launch` and `fsyncs_first_run`: how many fsyncs the product makes, counted inside the
 * measured processes by the preloaded `fsync-probe.js` (`node --import`, passed through NODE_OPTIONS so a
 * relaunched successor is counted too), by the path of each descriptor.
 * - warm launch: a `first-run launch` on a COMPLETED ledger with everything granted (target 0);
 * - first run: a `first-run launch` whose pipeline relaunches once, predecessor and successor together,
 *   on a fresh state dir (target ≤ 12).
 * Only fsyncs inside the state dir count: the simulated TCC database (`--sim-db`) stands in for macOS's
 * own TCC store, which the product never writes there; its fsyncs are shown in the detail.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fastConfig, launchArgs, NEEDS_RESTART, writeJson, type BenchContext } from '../context.js';
import { timeToExit } from '../proc.js';
import type { Figure } from '../stats.js';
import { waitForSuccessor } from './relaunch-handoff.js';
import { prepareWarmState } from './warm-launch.js';

interface Count {
  product: number;
  other: number;
  processes: number;
}

function countFsyncs(file: string, stateDir: string): Count {
  const count: Count = { product: 0, other: 0, processes: 0 };
  if (!existsSync(file)) return count;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    count.processes += 1;
    const { fsyncs } = JSON.parse(line) as { fsyncs: Record<string, number> };
    for (const [where, n] of Object.entries(fsyncs)) {
      if (where === stateDir || where.startsWith(stateDir + path.sep)) count.product += n;
      else count.other += n;
    }
  }
  return count;
}

function probeEnv(ctx: BenchContext, out: string): NodeJS.ProcessEnv {
  const probe = pathToFileURL(path.join(ctx.childDir, 'fsync-probe.js')).href;
  return { ...ctx.env, BENCH_FSYNC_FILE: out, NODE_OPTIONS: `--import ${probe}` };
}

function countFigure(name: string, values: number[], target: number, detail: string): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const value = sorted[sorted.length >> 1]!;
  return { name, value, unit: 'fsyncs', baseline: null, ratio: null, target: `≤ ${target}`, met: sorted.at(-1)! <= target, runs: values.length, min: sorted[0]!, max: sorted.at(-1)!, baseline_min: null, baseline_max: null, detail };
}

export async function fsyncCounts(ctx: BenchContext): Promise<Figure[]> {
  const warm: number[] = [];
  for (let i = 0; i < ctx.runs(3, 1); i++) {
    const { stateDir, args } = prepareWarmState(ctx);
    const out = path.join(path.dirname(stateDir), `fsyncs-${i}.ndjson`);
    timeToExit(args, probeEnv(ctx, out));
    warm.push(countFsyncs(out, stateDir).product);
  }
  const first: Count[] = [];
  for (let i = 0; i < ctx.runs(3, 1); i++) {
    const dir = ctx.dir('fsyncs-first-run');
    const simDb = writeJson(path.join(dir, 'tcc.json'), NEEDS_RESTART);
    const config = writeJson(path.join(dir, 'config.json'), fastConfig(0, 0.3));
    const stateDir = path.join(dir, 'state');
    const out = path.join(dir, 'fsyncs.ndjson');
    timeToExit(launchArgs(ctx, stateDir, simDb, config), probeEnv(ctx, out));
    await waitForSuccessor(stateDir);
    // The successor appends its line on exit, after its last journal line: wait for both lines.
    const deadline = Date.now() + 10_000;
    while (countFsyncs(out, stateDir).processes < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.push(countFsyncs(out, stateDir));
  }
  return [
    countFigure('fsyncs_warm_launch', warm, 0, 'fsyncs in the state dir by a warm `first-run launch` (granted, COMPLETED ledger), counted in-process by the fsync probe'),
    countFigure(
      'fsyncs_first_run',
      first.map((c) => c.product),
      12,
      `fsyncs in the state dir by a whole first run with one relaunch (predecessor + successor: ${first.map((c) => c.processes).join(',')} processes); plus ${first.map((c) => c.other).join(',')} of the simulated TCC database`,
    ),
  ];
}
