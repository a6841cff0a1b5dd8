/**
 * `relaunch_handoff`: a real `first-run launch` whose pipeline decides to restart (`restart.delay_sec: 0`,
 * so there is no waiting window to subtract), timed from its journal: the predecessor's
 * `permissions.v2.decision` to the successor's `instance.lock_acquired` (journal timestamps, ms
 * resolution). That span holds: the gate's durable commits (restart_count 0 → 1), spawning the successor,
 * the successor's start-up up to `restart.successor_started` (journaled just before it writes its proof),
 * writing the proof and the predecessor seeing it (`alive` on the channel, or `fs.watch`), the
 * predecessor's last commit and lock release, and the successor taking the lock (woken by `released`).
 * No stage polls. Baseline: a bare `node` spawned to its first output line, interleaved.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fastConfig, launchArgs, NEEDS_RESTART, writeJson, type BenchContext } from '../context.js';
import { reaped, timeToExit, timeToLine } from '../proc.js';
import { interleave, median, ratioFigure, type Figure } from '../stats.js';

interface JournalLine {
  ts: string;
  pid: number;
  type: string;
}

function readJournal(stateDir: string): JournalLine[] {
  const file = path.join(stateDir, 'events.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JournalLine);
}

const STAGES = [
  ['permissions.v2.decision', 'decision'],
  ['restart.handoff_started', 'spawned'],
  ['restart.successor_started', 'successor alive proof'],
  ['restart.successor_alive', 'proof seen'],
  ['instance.lock_released', 'released'],
] as const;

/** The predecessor has exited; wait (up to 15 s) until its detached successor has released the lock too. */
export async function waitForSuccessor(stateDir: string): Promise<JournalLine[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const journal = readJournal(stateDir);
    const first = journal[0]?.pid;
    if (journal.some((e) => e.pid !== first && e.type === 'instance.lock_released')) return journal;
    if (Date.now() > deadline) throw new Error(`no successor finished within 15 s (state dir ${stateDir})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function oneRelaunch(ctx: BenchContext, stages: Map<string, number[]>): Promise<number> {
  const dir = ctx.dir('relaunch');
  const simDb = writeJson(path.join(dir, 'tcc.json'), NEEDS_RESTART);
  const config = writeJson(path.join(dir, 'config.json'), fastConfig(0, 0.3));
  const stateDir = path.join(dir, 'state');
  timeToExit(launchArgs(ctx, stateDir, simDb, config), ctx.env);
  const journal = await waitForSuccessor(stateDir);
  const predecessor = journal[0]!.pid;
  const at = (type: string, pid: 'old' | 'new') => {
    const event = journal.find((e) => e.type === type && (pid === 'old' ? e.pid === predecessor : e.pid !== predecessor));
    if (!event) throw new Error(`relaunch_handoff: no ${type} from the ${pid} process in ${stateDir}`);
    return Date.parse(event.ts);
  };
  const decision = at('permissions.v2.decision', 'old');
  const acquired = at('instance.lock_acquired', 'new');
  const times = [
    decision,
    at('restart.handoff_started', 'old'),
    at('restart.successor_started', 'new'),
    at('restart.successor_alive', 'old'),
    at('instance.lock_released', 'old'),
    acquired,
  ];
  for (let i = 0; i < STAGES.length; i++) {
    const name = `${STAGES[i]![1]}→${i + 1 < STAGES.length ? STAGES[i + 1]![1] : 'successor holds lock'}`;
    stages.set(name, [...(stages.get(name) ?? []), times[i + 1]! - times[i]!]);
  }
  return acquired - decision;
}

export async function relaunchHandoff(ctx: BenchContext): Promise<Figure[]> {
  const stages = new Map<string, number[]>();
  const samples = await interleave(
    ctx.runs(12, 3),
    1,
    () => oneRelaunch(ctx, stages),
    async () => {
      const { ms, child } = await timeToLine(['-e', 'console.log(1)'], ctx.env);
      await reaped(child);
      return ms;
    },
  );
  for (const values of stages.values()) values.shift(); // the warm-up round's
  const breakdown = [...stages].map(([name, values]) => `${name} ${median(values).toFixed(0)}`).join(', ');
  return [
    ratioFigure({
      name: 'relaunch_handoff',
      unit: 'ms',
      values: samples.a,
      baselines: samples.b,
      maxRatio: 1.7,
      detail: `journal: decision → successor's instance.lock_acquired (delay 0) vs bare node spawn → first line; median ms per stage: ${breakdown}`,
    }),
  ];
}
