/**
 * The benchmark of SPEC §5 (`npm run bench`): every figure next to a baseline measured in the same run.
 *
 * Options:
 * - `--json FILE`  also write `{ "figures": [...] }` (see `Figure` in stats.ts) to FILE;
 * - `--only a,b`   run only these groups of figures (by name: warm_launch, embedded_warm_start,
 *                  xstate_load, lock_cycle, lock_takeover, ledger_commit, relaunch_handoff, mbt_generation,
 *                  launch_rss, fsyncs);
 * - `--quick`      a few runs each (a smoke test: the ratios are noisier);
 * - `--dir DIR`    scratch directory (default: a new one in the OS temp dir; it must be on a real disk for
 *                  the fsync figures to mean anything — not tmpfs);
 * - `--keep-env`   keep NODE_EXTRA_CA_CERTS / NODE_OPTIONS in the measured processes (see proc.ts).
 *
 * Targets are reported, never asserted: the exit code is 0 whatever the numbers (1 only on a failure).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { createContext, type BenchContext } from './context.js';
import { launchRss } from './figures/launch-rss.js';
import { embeddedWarmStart } from './figures/embedded-warm-start.js';
import { fsyncCounts } from './figures/fsyncs.js';
import { ledgerCommit } from './figures/ledger-commit.js';
import { lockCycle } from './figures/lock-cycle.js';
import { lockTakeover } from './figures/lock-takeover.js';
import { mbtGeneration } from './figures/mbt-generation.js';
import { relaunchHandoff } from './figures/relaunch-handoff.js';
import { warmLaunch } from './figures/warm-launch.js';
import { xstateLoad } from './figures/xstate-load.js';
import { formatTable, type Figure } from './stats.js';

const FIGURES: Record<string, (ctx: BenchContext) => Promise<Figure[]>> = {
  warm_launch: warmLaunch,
  embedded_warm_start: embeddedWarmStart,
  xstate_load: xstateLoad,
  lock_cycle: lockCycle,
  lock_takeover: lockTakeover,
  ledger_commit: ledgerCommit,
  relaunch_handoff: relaunchHandoff,
  mbt_generation: mbtGeneration,
  launch_rss: launchRss,
  fsyncs: fsyncCounts,
};

interface BenchArgs {
  json?: string;
  only?: string[];
  quick: boolean;
  dir?: string;
  keepEnv: boolean;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, keepEnv: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`Expected a value after \`${arg}\`, got none.`);
      return next;
    };
    if (arg === '--json') args.json = value();
    else if (arg === '--only') args.only = value().split(',').map((s) => s.trim());
    else if (arg === '--dir') args.dir = value();
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--keep-env') args.keepEnv = true;
    else throw new Error(`Unknown option \`${arg}\`: expected --json FILE, --only a,b, --quick, --dir DIR or --keep-env.`);
  }
  for (const name of args.only ?? []) {
    if (!(name in FIGURES)) throw new Error(`Unknown figure \`${name}\` in --only: expected some of ${Object.keys(FIGURES).join(', ')}.`);
  }
  return args;
}

export async function runBench(argv: readonly string[], where: { root: string; childDir: string }): Promise<number> {
  const args = parseBenchArgs(argv);
  const workDir = args.dir ? path.resolve(args.dir) : mkdtempSync(path.join(tmpdir(), 'first-run-bench-'));
  mkdirSync(workDir, { recursive: true });
  const ctx = createContext({ ...where, workDir, quick: args.quick, keepEnv: args.keepEnv });
  const started = performance.now();
  console.log(
    `first-run bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}${args.quick ? ', --quick' : ''}${args.keepEnv ? ', --keep-env' : ''}; scratch ${workDir}`,
  );
  const figures: Figure[] = [];
  try {
    for (const [name, run] of Object.entries(FIGURES)) {
      if (args.only && !args.only.includes(name)) continue;
      const t0 = performance.now();
      process.stderr.write(`  ${name}…`);
      const result = await run(ctx);
      process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      figures.push(...result);
    }
  } finally {
    if (!args.dir) rmSync(workDir, { recursive: true, force: true });
  }
  console.log('');
  console.log(formatTable(figures));
  console.log('');
  for (const f of figures) console.log(`${f.name}: ${f.detail}`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s; load now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify({ figures }, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
  return 0;
}
