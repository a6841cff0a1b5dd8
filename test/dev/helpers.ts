/**
 * Real-process helpers for the dev-mode tests: a temp world (state dir, sim db, config, a watched `app/`
 * dir with a dev module), `first-run launch --dev` processes, and bounded waits on observable
 * conditions (journal lines, the lock owner, process exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidExists } from '../../src/lock/process-identity.js';
import { parseOwner } from '../../src/lock/lock-record.js';

export const BIN = fileURLToPath(new URL('../../bin/first-run.js', import.meta.url));

/** One journal line. */
export interface JournalLine {
  ts: string;
  pid: number;
  type: string;
  [key: string]: unknown;
}

/** A dev module: counts on a timer (a handle that must die with its process), keeps the count in `app.state`. */
export const COUNTER_MODULE = `// counter v1
export default function setup(app) {
  app.state.counter = typeof app.state.counter === 'number' ? app.state.counter : 0;
  app.record('fixture.counter_restored', { value: app.state.counter, restored: app.restored });
  const timer = setInterval(() => { app.state.counter += 1; }, 10);
  app.onShutdown(() => {
    clearInterval(timer);
    app.record('fixture.counter_saved', { value: app.state.counter });
    // Arrives during the shutdown: queued, saved, re-delivered by the next process.
    app.send({ type: 'app.mode_changed', mode: 'PROCESSING' });
  }, 'counter');
}
`;

/** A dev module whose shutdown hook never ends, and which holds the event loop open with a timer. */
export const HANGING_MODULE = `// hanging v1
export default function setup(app) {
  setInterval(() => {}, 1000);
  app.onShutdown(() => new Promise(() => {}), 'hangs');
}
`;

export interface World {
  dir: string;
  stateDir: string;
  appDir: string;
  module: string;
  simDb: string;
  config: string;
}

const worlds: World[] = [];
const processes: ChildProcess[] = [];

/**
 * A fresh world: microphone is asked and granted at once; accessibility is denied and never answered
 * within a 600 s timebox, so the run sits in PIPELINE with one step outcome recorded.
 */
export function makeWorld(moduleSource = COUNTER_MODULE): World {
  const dir = mkdtempSync(path.join(tmpdir(), 'dev-mode-'));
  const world: World = {
    dir,
    stateDir: path.join(dir, 'state'),
    appDir: path.join(dir, 'app'),
    module: path.join(dir, 'app', 'dev.mjs'),
    simDb: path.join(dir, 'tcc.json'),
    config: path.join(dir, 'config.json'),
  };
  mkdirSync(world.appDir);
  writeFileSync(world.module, moduleSource);
  writeFileSync(
    world.simDb,
    JSON.stringify({
      permissions: {
        microphone: { status: 'not_determined', on_request: { result: 'granted', after_ms: 0 } },
        accessibility: { status: 'denied' },
        input_monitoring: { status: 'granted' },
        screen_capture: { status: 'granted' },
      },
    }),
  );
  writeFileSync(
    world.config,
    JSON.stringify({
      integrations: {
        permissions_v2: {
          enabled: true,
          confirm_retries: 1,
          confirm_interval_s: 0.05,
          poll_interval_s: 0.05,
          steps: { accessibility: { timeout_s: 600 } },
        },
      },
    }),
  );
  worlds.push(world);
  return world;
}

export interface Launched {
  proc: ChildProcess;
  pid: number;
  /** stdout + stderr so far (the successors inherit the same pipes). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `first-run launch --dev --watch <app> --dev-module <app>/dev.mjs …` in `world`. */
export function launchDev(world: World, extra: string[] = [], options: { dev?: boolean } = {}): Launched {
  const args = [BIN, 'launch', '--state-dir', world.stateDir, '--sim-db', world.simDb, '--config', world.config];
  if (options.dev !== false) args.push('--dev', '--watch', world.appDir, '--dev-module', world.module);
  const proc = spawn(process.execPath, [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(proc);
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, pid: proc.pid!, output: () => output, exited };
}

export function readJournal(stateDir: string): JournalLine[] {
  let raw: string;
  try {
    raw = readFileSync(path.join(stateDir, 'events.ndjson'), 'utf8');
  } catch {
    return [];
  }
  return raw
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JournalLine);
}

/** Poll `probe` every 20 ms until it returns a value (not undefined/false); fail after `timeoutMs`, naming `what`. */
export async function waitUntil<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Wait for the first journal line matching `match` (after `after` lines, if given). */
export function waitForEvent(world: World, what: string, match: (line: JournalLine) => boolean, timeoutMs = 10_000): Promise<JournalLine> {
  return waitUntil(what, () => readJournal(world.stateDir).find(match), timeoutMs, () => journalTail(world));
}

export function journalTail(world: World, lines = 25): string {
  return readJournal(world.stateDir)
    .filter((line) => !['ledger.committed', 'permissions.status_checked', 'permissions.v2.step_timeout'].includes(line.type))
    .slice(-lines)
    .map((line) => JSON.stringify(line).slice(0, 240))
    .join('\n');
}

/** The PID in the instance lock's owner record, or null when nobody holds it. */
export function lockOwnerPid(stateDir: string): number | null {
  try {
    // The lock is a symbolic link whose target is the owner record (src/lock/lock-protocol.ts).
    return parseOwner(readlinkSync(path.join(stateDir, 'instance.lock')))?.pid ?? null;
  } catch {
    return null;
  }
}

/** Whether a PID is alive: the product's own check. */
export const isAlive = pidExists;

export function readLedgerSnapshot(stateDir: string): { value: unknown; context: Record<string, unknown>; children: Record<string, { snapshot: { context: Record<string, unknown> } }> } {
  return (JSON.parse(readFileSync(path.join(stateDir, 'permission_ledger.json'), 'utf8')) as { snapshot: never }).snapshot;
}

/** Kill every process of every world (the launched ones, their successors, the lock holders) and remove the dirs. */
export async function cleanupAll(): Promise<void> {
  const pids = new Set<number>();
  for (const proc of processes.splice(0)) if (proc.pid && proc.exitCode === null) pids.add(proc.pid);
  for (const world of worlds) {
    for (const line of readJournal(world.stateDir)) if (line.type === 'dev.successor_spawned' && typeof line.child_pid === 'number') pids.add(line.child_pid);
    const owner = lockOwnerPid(world.stateDir);
    if (owner !== null && owner !== process.pid) pids.add(owner);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const world of worlds.splice(0)) rmSync(world.dir, { recursive: true, force: true });
}
