import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/lock-child.mjs', import.meta.url));

/** One JSON line a child printed. */
export interface ChildMessage {
  event: string;
  pid: number;
  t: number;
  [key: string]: unknown;
}

/** A running fixture process (`fixtures/lock-child.mjs`). */
export interface LockChild {
  proc: ChildProcess;
  pid: number;
  /** Resolve with the next message of this event (messages are consumed in order). */
  next(event: string, timeoutMs?: number): Promise<ChildMessage>;
  send(command: string): void;
  exited: Promise<number | null>;
}

const children = new Set<LockChild>();
const dirs = new Set<string>();

/** A fresh temp dir (removed by {@link cleanupAll}); `state/` inside it does not exist yet. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lock-test-'));
  dirs.add(dir);
  return dir;
}

/** Start a fixture child. */
export function startChild(config: { mode: 'hold' | 'contend'; stateDir: string; timeoutMs?: number; retryIntervalMs?: number }): LockChild {
  const proc = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: ChildMessage[] = [];
  const waiters: { event: string; resolve: (m: ChildMessage) => void }[] = [];
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: ChildMessage;
    try {
      message = JSON.parse(line) as ChildMessage;
    } catch {
      stderr += `[stdout] ${line}\n`;
      return;
    }
    const waiter = waiters.findIndex((w) => w.event === message.event);
    if (waiter >= 0) waiters.splice(waiter, 1)[0]!.resolve(message);
    else messages.push(message);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const child: LockChild = {
    proc,
    pid: proc.pid!,
    exited,
    send: (command) => proc.stdin?.write(`${command}\n`),
    next(event, timeoutMs = 10_000) {
      const index = messages.findIndex((m) => m.event === event);
      if (index >= 0) return Promise.resolve(messages.splice(index, 1)[0]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child ${proc.pid} did not print "${event}" within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ event, resolve: (m) => (clearTimeout(timer), resolve(m)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`child ${proc.pid} exited (${code}) before printing "${event}"; stderr: ${stderr}`));
        });
      });
    },
  };
  children.add(child);
  return child;
}

/** Start a holder and wait until it holds the lock. */
export async function startHolder(stateDir: string): Promise<LockChild & { token: string }> {
  const child = startChild({ mode: 'hold', stateDir });
  const acquired = await child.next('acquired');
  return Object.assign(child, { token: acquired.token as string });
}

/** SIGKILL a child and wait until it is gone (reaped). */
export async function killHard(child: LockChild): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

/** Kill every child (resuming stopped ones first) and remove every temp dir. */
export async function cleanupAll(): Promise<void> {
  for (const child of children) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGCONT');
      child.proc.kill('SIGKILL');
      await child.exited;
    }
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
