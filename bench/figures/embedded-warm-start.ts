/**
 * `embedded_warm_start`: what an app that embeds the library pays at every start — `runFirstRun(...)`
 * to its `result` on a COMPLETED ledger with everything granted, in this process, which has imported
 * the package already (and warmed up: the first rounds are not recorded); `createSimBackend` + `runFirstRun`,
 * a backend per start as an app makes one (the run closes it). Baseline, same process, same disk
 * (SPEC §5, the floor decided 2026-12-07): a bare replay of the file operations a warm start is required
 * to make, with plain `node:fs` calls and no JavaScript of ours (`bench/warm-start-floor.ts`, listed in
 * `WARM_START_FLOOR`), on a mirror of the same state dir. Interleaved, ms per start.
 *
 * `syscalls_warm_start` (a value, no target): the system calls of one warm start, counted by `strace`
 * in a child process that makes warm starts and floor replays between marker calls
 * (`bench/children/warm-start-trace.ts`); see `countTracedSyscalls`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { parseConfig } from '../../src/config/index.js';
import { runFirstRun } from '../../src/runtime/run-first-run.js';
import type { OrchestratorSettings } from '../../machines/types.js';
import { fastConfig, type BenchContext } from '../context.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';
import { SETTLED_MS } from '../../src/fs/regular-file.js';
import { createWarmStartFloor, mirrorStateDir, WARM_START_FLOOR } from '../warm-start-floor.js';
import { prepareWarmState } from './warm-launch.js';

/** The settings of the warm state `prepareWarmState` leaves (its config file). */
export function warmSettings(): OrchestratorSettings {
  return parseConfig(fastConfig(0.5), 'bench config', { env: {} });
}

/** One embedded warm start: a backend, as an app makes one per start, and `runFirstRun` to its result. */
export async function warmStart(stateDir: string, simDb: string, settings: OrchestratorSettings, entry: string): Promise<string> {
  const backend = createSimBackend({ file: simDb });
  const runtime = runFirstRun({ stateDir, settings, backend, relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry, args: [] } });
  const result = await runtime.result;
  // The warm route starts no service (src/runtime/warm-start.ts); a start that ran the machines says so.
  return `${result.outcome}${runtime.service === null ? ' without the machines' : ' through the machines'}`;
}

/**
 * The simulated database's status read costs one `stat` once the file is older than its timestamps'
 * tick (src/fs/regular-file.ts, `isSettledVersion`: `SETTLED_MS`), as macOS's TCC database is at any app start;
 * `prepareWarmState` has just written it.
 */
async function untilSettled(file: string): Promise<void> {
  const age = Date.now() - statSync(file).mtimeMs;
  const settled = SETTLED_MS + 100;
  if (age < settled) await new Promise((resolve) => setTimeout(resolve, settled - age));
}

export async function embeddedWarmStart(ctx: BenchContext): Promise<Figure[]> {
  const { stateDir } = prepareWarmState(ctx);
  const simDb = path.join(path.dirname(stateDir), 'tcc.json');
  const settings = warmSettings();
  await untilSettled(simDb);
  // One warm start first: the journal then ends with a warm start's lines, which the floor writes again.
  await warmStart(stateDir, simDb, settings, ctx.bin);
  const floor = createWarmStartFloor(mirrorStateDir(stateDir, 'floor'), simDb);
  const traced = traceWarmStart(ctx, stateDir, floor.stateDir, simDb);

  const outcomes = new Set<string>();
  const start = async () => {
    const t0 = performance.now();
    outcomes.add(await warmStart(stateDir, simDb, settings, ctx.bin));
    return performance.now() - t0;
  };
  const bare = () => {
    const t0 = performance.now();
    floor.run();
    return performance.now() - t0;
  };
  const samples = await interleave(ctx.runs(60, 6), 10, start, bare);
  const floorList = WARM_START_FLOOR.map((op, i) => `${i + 1}. ${op.what} [${op.requirement}]: ${op.syscalls}`).join('; ');
  return [
    ratioFigure({
      name: 'embedded_warm_start',
      unit: 'ms',
      values: samples.a,
      baselines: samples.b,
      maxRatio: 2,
      detail: `runFirstRun → result on a COMPLETED ledger (outcome ${[...outcomes].join('/')}), package already imported, vs its floor, same process: a bare replay with plain fs calls of the operations a warm start must make — ${floorList}`,
    }),
    traced,
  ];
}

/** The main thread's system calls in one warm start and in one floor replay, by `strace` (see the child). */
interface TraceCount {
  product: Map<string, number>;
  floor: Map<string, number>;
  /** The most calls (memory calls apart) of a warm start in a round after the warm-up. */
  productMost: number;
  rounds: number;
}

/**
 * The allocator's and the garbage collector's calls (and a thread wake-up): they come with any JavaScript
 * that allocates, at moments of their own, not with an operation of the start. Counted apart.
 */
const MEMORY_CALLS = new Set(['brk', 'mmap', 'munmap', 'mprotect', 'madvise', 'mremap', 'futex']);

function total(counts: Map<string, number>, memory = false): number {
  let sum = 0;
  for (const [name, n] of counts) if (MEMORY_CALLS.has(name) === memory) sum += n;
  return sum;
}

function describe(counts: Map<string, number>): string {
  return [...counts.entries()]
    .filter(([name]) => !MEMORY_CALLS.has(name))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

/**
 * `strace -f` the child (`warm-start-trace.js`): it makes `rounds` warm starts and floor replays, each
 * between two marker calls (`access` of a path that does not exist). Counted: every system call of the
 * child's main thread between a pair of markers (the markers excluded; other threads — V8's, libuv's
 * pool — are not the start's), but the allocator's and the garbage collector's (`MEMORY_CALLS`), which
 * are shown apart. The count is the round with the fewest after two warm-up rounds (a first start
 * repairs what the previous left, e.g. the ledger's backup copy).
 */
export function countTracedSyscalls(trace: string, mainPid: number, markerDir: string): TraceCount {
  const rounds = new Map<string, Map<string, number>>();
  let open: Map<string, number> | null = null;
  const marker = new RegExp(`^access\\("${markerDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(\\w+)-(\\d+)-(start|end)"`);
  for (const line of trace.split('\n')) {
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match || Number(match[1]) !== mainPid) continue;
    const call = match[2]!;
    if (call.startsWith('<...') || call.startsWith('+++') || call.startsWith('---')) continue; // a resumed call (counted when it began), exit, signal
    const mark = marker.exec(call);
    if (mark) {
      open = mark[3] === 'start' ? new Map() : null;
      if (open) rounds.set(`${mark[1]}-${mark[2]}`, open);
      continue;
    }
    if (!open) continue;
    const name = /^(\w+)\(/.exec(call)?.[1] ?? '?';
    open.set(name, (open.get(name) ?? 0) + 1);
  }
  const counted = (kind: string): Map<string, number>[] => {
    const found = [...rounds.entries()].filter(([key]) => key.startsWith(`${kind}-`) && Number(key.split('-')[1]) >= 2).map(([, counts]) => counts);
    if (found.length === 0) throw new Error(`the strace output has no complete ${kind} round after the warm-up (main pid ${mainPid})`);
    return found;
  };
  const fewest = (found: Map<string, number>[]) => found.reduce((best, counts) => (total(counts) < total(best) ? counts : best));
  const starts = counted('start');
  return { product: fewest(starts), floor: fewest(counted('floor')), productMost: Math.max(...starts.map((counts) => total(counts))), rounds: rounds.size / 2 };
}

function traceWarmStart(ctx: BenchContext, stateDir: string, floorDir: string, simDb: string): Figure {
  const name = 'syscalls_warm_start';
  const none = (why: string): Figure => ({ name, value: Number.NaN, unit: 'syscalls', baseline: null, ratio: null, target: null, met: null, runs: 0, min: Number.NaN, max: Number.NaN, baseline_min: null, baseline_max: null, detail: `not counted: ${why}` });
  const markerDir = path.join(ctx.dir('trace-markers'), 'mark');
  const out = path.join(path.dirname(markerDir), 'strace.txt');
  const rounds = ctx.runs(8, 4);
  const child = path.join(ctx.childDir, 'warm-start-trace.js');
  const result = spawnSync('strace', ['-f', '-qq', '-o', out, process.execPath, child, stateDir, floorDir, simDb, ctx.bin, markerDir, String(rounds)], { env: ctx.env, encoding: 'utf8' });
  if (result.error) return none(`strace could not be run (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}); install it (apt-get install strace) to count`);
  if (result.signal) return none(`strace ${process.execPath} ${child} was stopped after 120 s (${result.signal}): a warm start hung`);
  if (result.status !== 0) return none(`strace ${process.execPath} ${child} exited ${result.status ?? result.signal}: ${result.stderr.slice(0, 400)}`);
  const mainPid = Number(/^pid (\d+)$/m.exec(result.stdout)?.[1]);
  if (!Number.isInteger(mainPid)) return none(`${child} printed no \`pid N\` line: ${result.stdout.slice(0, 200)}`);
  const counts = countTracedSyscalls(readFileSync(out, 'utf8'), mainPid, markerDir);
  const value = total(counts.product);
  const floorCount = total(counts.floor);
  // The floor replays what a warm start does, never more: a call it makes more often than the warm start is a replay gone wrong.
  const beyond = [...counts.floor].filter(([call, n]) => !MEMORY_CALLS.has(call) && n > (counts.product.get(call) ?? 0)).map(([call, n]) => `${call} ${n} (warm start: ${counts.product.get(call) ?? 0})`);
  const memory = `${total(counts.product, true)} of the allocator's and the GC's (${MEMORY_CALLS.size} kinds: ${[...MEMORY_CALLS].join(', ')}) not counted`;
  return {
    name,
    value,
    unit: 'syscalls',
    baseline: floorCount,
    ratio: null,
    target: null,
    met: null,
    runs: counts.rounds,
    min: value,
    max: counts.productMost,
    baseline_min: floorCount,
    baseline_max: floorCount,
    detail: `system calls of one embedded warm start (main thread, strace -f, the fewest of ${rounds - 2} rounds after 2 warm-up rounds): ${describe(counts.product)}; ${memory}; the floor's replay: ${floorCount} (${describe(counts.floor)}); calls the floor makes more often than the warm start: ${beyond.length === 0 ? 'none' : `${beyond.join(', ')} — CHECK THE REPLAY`}`,
  };
}
