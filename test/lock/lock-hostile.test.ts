/**
 * The lock against a hostile or unlucky state dir (issue 10, items 14–16) and the `sleep` hook of the
 * relaunch hand-off. The owner records here are in the directory format of earlier versions
 * (`instance.lock/owner.json`), which is still recognised and judged: that is where a FIFO or a directory
 * can sit in place of the record. The current format (a symbolic link whose target is the record) has no
 * file to open at all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { acquireInstanceLock, checkLockHealth, getLockStatus, tryAcquireInstanceLock, type InstanceLockHandle } from '../../src/lock/index.js';
import { BIN } from '../support/processes.js';
import { cleanupAll, startHolder, tempDir } from './helpers.js';

const handles: InstanceLockHandle[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) handle.releaseSync();
  await cleanupAll();
});

const HOUR = 3_600_000;

/** A state dir whose lock is a directory with `owner.json` replaced by `make(ownerPath)`. */
function legacyLockWith(make: (ownerPath: string) => void): { root: string; stateDir: string; lockDir: string; ownerPath: string } {
  const root = tempDir();
  const stateDir = path.join(root, 'state');
  const lockDir = path.join(stateDir, 'instance.lock');
  mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  const ownerPath = path.join(lockDir, 'owner.json');
  make(ownerPath);
  return { root, stateDir, lockDir, ownerPath };
}

function setMtime(file: string, ms: number): void {
  const seconds = ms / 1000;
  utimesSync(file, seconds, seconds);
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', ['-m', '600', file]);
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI; a process still running after `boundMs` is SIGKILLed and reported with signal SIGKILL —
 * the bound only turns a hang (the defect) into a failed assertion, it asserts no speed.
 */
function cli(args: string[], boundMs = 20_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

function grantedSandbox(root: string): string[] {
  const simDb = path.join(root, 'tcc.json');
  const granted = { status: 'granted' };
  writeFileSync(simDb, JSON.stringify({ permissions: { microphone: granted, accessibility: granted, input_monitoring: granted, screen_capture: granted } }));
  return ['--sim-db', simDb, '--backend', 'sim'];
}

describe('the lock against hostile files (issue 10: 14–16)', () => {
  it('LK-3 a FIFO at the owner record hangs neither `status` nor `launch` (a fresh one counts as held, an old one as stale)', async () => {
    const box = legacyLockWith(mkfifo);
    const status = await cli(['status', '--state-dir', box.stateDir, '--json']);
    expect(status.signal).toBeNull();
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ lock: { held: true } });
    const fresh = await cli(['launch', '--state-dir', box.stateDir, ...grantedSandbox(box.root), '--json']);
    expect(fresh.signal).toBeNull();
    expect(fresh.code).toBe(3);
    expect(fresh.stdout + fresh.stderr).toMatch(/no readable owner/);

    setMtime(box.ownerPath, Date.now() - HOUR);
    setMtime(box.lockDir, Date.now() - HOUR);
    const stale = await cli(['launch', '--state-dir', box.stateDir, ...grantedSandbox(box.root), '--json']);
    expect(stale.signal).toBeNull();
    expect(stale.code).toBe(0);
    expect(getLockStatus({ stateDir: box.stateDir })).toMatchObject({ locked: false, reason: 'free' });
  }, 60_000);

  it('LK-3 an owner record that is a symbolic link to a FIFO is never opened', async () => {
    const box = legacyLockWith((ownerPath) => {
      const fifo = path.join(path.dirname(path.dirname(path.dirname(ownerPath))), 'elsewhere.fifo');
      mkfifo(fifo);
      symlinkSync(fifo, ownerPath);
    });
    // In a child process: opening the FIFO would block the thread for good.
    const status = await cli(['status', '--state-dir', box.stateDir, '--json']);
    expect(status.signal).toBeNull();
    expect(JSON.parse(status.stdout)).toMatchObject({ lock: { held: true } });
    setMtime(box.lockDir, Date.now() - HOUR);
    lutimesSync(box.ownerPath, (Date.now() - HOUR) / 1000, (Date.now() - HOUR) / 1000);
    const launch = await cli(['launch', '--state-dir', box.stateDir, ...grantedSandbox(box.root), '--json']);
    expect(launch.signal).toBeNull();
    expect(launch.code).toBe(0);
  }, 60_000);

  it('LK-2 an owner record that is a directory is an unreadable owner: held during the grace period, then stale and taken over', async () => {
    const box = legacyLockWith((ownerPath) => mkdirSync(ownerPath));
    const fresh = await tryAcquireInstanceLock({ stateDir: box.stateDir });
    expect(fresh).toMatchObject({ acquired: false, reason: 'ownerless-fresh', holder: null });
    expect(checkLockHealth({ stateDir: box.stateDir }).problems.map((p) => p.code)).toContain('ownerless-lock');
    const later = { now: () => Date.now() + 2500 };
    expect(getLockStatus({ stateDir: box.stateDir, clock: later })).toMatchObject({ stale: true, reason: 'ownerless-expired' });
    const handle = await acquireInstanceLock({ stateDir: box.stateDir, clock: later });
    handles.push(handle);
    expect(handle.isHeld()).toBe(true);
  });

  it('LK-2 a CLI launch over a lock whose owner record is a directory, past the grace period, takes it over', async () => {
    const box = legacyLockWith((ownerPath) => mkdirSync(ownerPath));
    setMtime(box.ownerPath, Date.now() - HOUR);
    setMtime(box.lockDir, Date.now() - HOUR);
    const result = await cli(['launch', '--state-dir', box.stateDir, ...grantedSandbox(box.root), '--json']);
    expect(result.stderr).not.toMatch(/check its permissions/);
    expect(result.code).toBe(0);
  }, 30_000);

  it('LK-2 an ownerless lock with an mtime far in the future is stale now, not when the clock reaches it', async () => {
    const box = legacyLockWith((ownerPath) => writeFileSync(ownerPath, '{"pid": 1'));
    setMtime(box.ownerPath, Date.now() + 24 * HOUR);
    setMtime(box.lockDir, Date.now() + 24 * HOUR);
    expect(getLockStatus({ stateDir: box.stateDir })).toMatchObject({ locked: true, stale: true, reason: 'ownerless-expired' });
    const handle = await acquireInstanceLock({ stateDir: box.stateDir });
    handles.push(handle);
    expect(handle.isHeld()).toBe(true);
  });

  it('LK-2 a current-format lock (a symbolic link) with a garbage target: held during the grace period, then stale', async () => {
    const stateDir = path.join(tempDir(), 'state');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    symlinkSync('not an owner record', path.join(stateDir, 'instance.lock'));
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, holder: null, stale: false, reason: 'ownerless-fresh' });
    const later = { now: () => Date.now() + 2500 };
    const handle = await acquireInstanceLock({ stateDir, clock: later });
    handles.push(handle);
    expect(getLockStatus({ stateDir })).toMatchObject({ reason: 'held-by-this-process', holder: { token: handle.token } });
  });
});

describe('the `sleep` option: how to wait while a live holder holds the lock', () => {
  it('LK-1 a sleep that resolves when the holder says it released hands the lock over without waiting out the retry interval', async () => {
    const stateDir = path.join(tempDir(), 'state');
    const holder = await startHolder(stateDir);
    const asked: number[] = [];
    // The relaunch hand-off's shape: resolve early on the predecessor's word, not after `ms`.
    const sleep = async (ms: number) => {
      asked.push(ms);
      holder.send('release');
      await holder.next('released');
    };
    // A retry interval and timeout this long would hang the test if the default timer sleep were used.
    const handle = await acquireInstanceLock({ stateDir, timeoutMs: 600_000, retryIntervalMs: 300_000, sleep });
    handles.push(handle);
    expect(handle.isHeld()).toBe(true);
    expect(asked).toEqual([300_000]);
  });

  it('LK-1 the sleep is bounded by the timeout: it is asked for no more than the time left', async () => {
    const stateDir = path.join(tempDir(), 'state');
    await startHolder(stateDir);
    let now = Date.now();
    const clock = { now: () => now };
    const asked: number[] = [];
    const sleep = async (ms: number) => {
      asked.push(ms);
      now += ms; // simulated time: nothing waits for real
    };
    const result = await tryAcquireInstanceLock({ stateDir, timeoutMs: 100, retryIntervalMs: 40, sleep, clock });
    expect(result).toMatchObject({ acquired: false, reason: 'held', waitedMs: 100 });
    expect(asked).toEqual([40, 40, 20]);
  });

  it('LK-3 a sleep that is not a function is a UsageError naming the option', async () => {
    const stateDir = path.join(tempDir(), 'state');
    await expect(acquireInstanceLock({ stateDir, sleep: 5 as never })).rejects.toThrow(/Expected `sleep` to be a function/);
    await expect(acquireInstanceLock({ stateDir, sleep: 5 as never })).rejects.toThrow(UsageError);
    expect(existsSync(stateDir)).toBe(false);
  });
});
