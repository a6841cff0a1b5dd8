/**
 * Real processes in temp dirs: launch `bin/first-run.js` (the compiled CLI; `npm test` builds dist/
 * first), read the journal and the ledger, wait on observable conditions with a bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { handoffHost } from '../../src/handoff/handoff-files.js';
import { pidExists, probeProcess } from '../../src/lock/process-identity.js';
import { FAULT_INJECTION_NODE_ARGS, setsFaults } from './fault-injection.js';
import { tempDir } from './temp-dir.js';

export const BIN = resolve(import.meta.dirname, '../../bin/first-run.js');

export function assertBuilt(): void {
  if (!existsSync(resolve(import.meta.dirname, '../../dist/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the process tests.');
  }
}

/** A quick scenario: a prompt, and Screen Recording granted but effective only after a restart. */
export const QUICK_DB = {
  permissions: {
    microphone: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50 } },
    accessibility: { status: 'granted' },
    input_monitoring: { status: 'granted' },
    screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50, effective: 'after_restart' } },
  },
};

export function quickConfig(overrides: { delaySec?: number; timeoutSec?: number; handoffSec?: number } = {}) {
  return {
    integrations: {
      permissions_v2: {
        default_step_timeout_s: overrides.timeoutSec ?? 0.4,
        poll_interval_s: 0.05,
        confirm_interval_s: 0.05,
        confirm_retries: 1,
        restart: { delay_sec: overrides.delaySec ?? 0.05, handoff_timeout_s: overrides.handoffSec ?? 5 },
      },
    },
  };
}

export interface Sandbox {
  dir: string;
  stateDir: string;
  simDb: string;
  config: string;
}

export function sandbox(db: unknown = QUICK_DB, config: unknown = quickConfig()): Sandbox {
  const dir = tempDir('first-run-test-');
  const box = { dir, stateDir: join(dir, 'state'), simDb: join(dir, 'tcc.json'), config: join(dir, 'config.json') };
  writeFileSync(box.simDb, JSON.stringify(db));
  writeFileSync(box.config, JSON.stringify(config));
  return box;
}

export interface Launched {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stdout(): string;
}

export function run(args: string[], env: NodeJS.ProcessEnv = {}): Launched {
  // A test that sets FIRST_RUN_FAULT_* also preloads the test-only entry that turns the hooks on (HE-7).
  const nodeArgs = setsFaults(env) ? FAULT_INJECTION_NODE_ARGS : [];
  return spawnCaptured(process.execPath, [...nodeArgs, BIN, ...args], { env: { ...process.env, ...env } });
}

/** Any command, its stdout and stderr captured (as {@link run} does for the CLI). */
export function spawnCaptured(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; detached?: boolean; cwd?: string } = {}): Launched {
  const child = spawn(command, args, { env: options.env ?? process.env, detached: options.detached === true, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolveExit) =>
    child.on('exit', (code, signal) => {
      // Let the pipes drain.
      setImmediate(() => resolveExit({ code, signal, stdout, stderr }));
    }),
  );
  return { child, exited, stdout: () => stdout };
}

export function launch(box: Sandbox, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Launched {
  return run(['launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim', '--json', ...extra], env);
}

export interface JournalLine {
  ts: string;
  pid: number;
  type: string;
  [key: string]: unknown;
}

/**
 * The journal's complete lines. A test polls it while processes write: a line being appended may be
 * read half-written, so what follows the last newline is left for the next read.
 */
export function journal(box: Sandbox): JournalLine[] {
  const file = join(box.stateDir, 'events.ndjson');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as JournalLine);
}

/** Whether a PID is alive: the product's own check. */
export const isAlive = pidExists;

/** Poll `condition` every `stepMs` until it holds; throw with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000, stepMs = 10): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Wait until every process that ever wrote to the journal is gone. */
export async function allWritersGone(box: Sandbox, timeoutMs = 30_000): Promise<void> {
  await waitFor('every journal writer to exit', () => [...new Set(journal(box).map((e) => e.pid))].every((pid) => !isAlive(pid)), timeoutMs, 20);
}

export function ledgerPhase(box: Sandbox): { phase: string; restart_count: number } | null {
  const file = join(box.stateDir, 'permission_ledger.json');
  if (!existsSync(file)) return null;
  try {
    const envelope = JSON.parse(readFileSync(file, 'utf8')) as { summary: { phase: string; restart_count: number } };
    return envelope.summary;
  } catch {
    return null;
  }
}

/** Invariants of SPEC §3 over a journal that several processes wrote. */
export function journalInvariants(lines: JournalLine[]) {
  const executed = lines.filter((e) => e.type === 'restart.executed');
  const handoffs = lines.filter((e) => e.type === 'restart.handoff_started');
  const commits = lines.filter((e) => e.type === 'ledger.committed') as (JournalLine & { generation: number; restart_count: number })[];
  const countRises = commits.filter((c, i) => i > 0 && c.restart_count > commits[i - 1]!.restart_count).length;
  const generationsIncrease = commits.every((c, i) => i === 0 || c.generation > commits[i - 1]!.generation);
  // Writers never interleave: each writer's commits form one contiguous block.
  const blocks: number[] = [];
  for (const commit of commits) if (blocks.at(-1) !== commit.pid) blocks.push(commit.pid);
  const interleaved = new Set(blocks).size !== blocks.length;
  return {
    restartsExecuted: executed.length,
    successorsStarted: handoffs.length,
    countRises,
    countNeverFalls: commits.every((c, i) => i === 0 || c.restart_count >= commits[i - 1]!.restart_count),
    generationsIncrease,
    interleaved,
  };
}

/**
 * Plant a hand-off proof (`handoff/<token>.alive`) as a successor with PID `pid` would write it — its real
 * start identity unless `startId` says otherwise — for tests of what others conclude from it.
 */
export function plantProof(
  stateDir: string,
  pid: number,
  options: { token?: string; startId?: string | null; provedAt?: number; waitMs?: number; role?: 'restart' | 'dev' } = {},
): string {
  const token = options.token ?? randomUUID();
  const proof = {
    version: 2,
    role: options.role ?? 'restart',
    token,
    pid,
    startId: options.startId === undefined ? probeProcess(pid).startId : options.startId,
    host: handoffHost(),
    provedAt: new Date(options.provedAt ?? Date.now()).toISOString(),
    waitMs: options.waitMs ?? 30_000,
  };
  mkdirSync(join(stateDir, 'handoff'), { recursive: true, mode: 0o700 });
  writeFileSync(join(stateDir, 'handoff', `${token}.alive`), JSON.stringify(proof));
  return token;
}

/** Every permission granted: a warm launch settles COMPLETED at precheck. */
export const ALL_GRANTED = {
  permissions: Object.fromEntries(['microphone', 'accessibility', 'input_monitoring', 'screen_capture'].map((p) => [p, { status: 'granted' }])),
};

const sleepers: ChildProcess[] = [];
/** A live process that is not ours to judge: stands in for a waiting successor or a PID's new owner. */
export function sleeper(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  sleepers.push(child);
  return child;
}
/** Kill every {@link sleeper} (call it in `afterEach`). */
export function killSleepers(): void {
  for (const child of sleepers.splice(0)) child.kill('SIGKILL');
}

/** The process must end by itself within `ms`; a hang is a failure (it is killed), not a test timeout. */
export async function endsWithin(launched: Launched, ms: number) {
  const guard = setTimeout(() => launched.child.kill('SIGKILL'), ms);
  const result = await launched.exited;
  clearTimeout(guard);
  expect(result.signal, `the process hung and was killed after ${ms} ms; stderr: ${result.stderr}`).toBeNull();
  return result;
}

/** The last line of a `--json` output, parsed. */
export function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}
