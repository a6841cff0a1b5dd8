/**
 * The host's reality (SPEC "Host environment", HE-1..3): what the process that starts us brings — a
 * stdout whose reader leaves or never reads, a working directory deleted under the run, a descriptor
 * table that is full, a `chdir` after the start, a relative path in the environment — never costs the one
 * restart, blocks a run, or kills anything but our own children. Real processes in temp dirs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_GRANTED,
  allWritersGone,
  assertBuilt,
  BIN,
  endsWithin,
  journal,
  journalInvariants,
  killSleepers,
  lastJson,
  launch,
  ledgerPhase,
  quickConfig,
  run,
  sandbox,
  spawnCaptured,
  waitFor,
  type Launched,
  type Sandbox,
} from '../support/processes.js';
import { pidExists } from '../../src/lock/process-identity.js';

beforeAll(() => assertBuilt());
afterEach(() => killSleepers());

const FIXTURES = resolve(import.meta.dirname, 'fixtures');

/** `first-run launch` on `box` (absolute paths) as `sh -c '<prelude>; exec node …'`, reading stdout/stderr. */
function launchViaShell(box: Sandbox, prelude: string, extra: string[] = [], options: { detached?: boolean } = {}): Launched {
  return cliViaShell(prelude, ['launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim', ...extra], options);
}

/** `first-run <args>` as `sh -c '<prelude>; exec node …'`. */
function cliViaShell(prelude: string, args: string[], options: { detached?: boolean } = {}): Launched {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnCaptured('/bin/sh', ['-c', `${prelude}; exec ${quoted}`], options);
}

describe('HE-1 the successor owns its environment', () => {
  it('should complete the run when the reader of stdout leaves after the first line (EPIPE ends no run)', async () => {
    const box = sandbox();
    // Not --json: the progress lines are written while the run goes on.
    const launched = run(['launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim']);
    // A reader that reads one chunk and leaves (`first-run launch | head -1`).
    await waitFor('the first output', () => launched.stdout().length > 0 || launched.child.exitCode !== null, 20_000);
    launched.child.stdout!.destroy();
    await endsWithin(launched, 30_000);
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(journalInvariants(journal(box))).toMatchObject({ restartsExecuted: 1, successorsStarted: 1 });
  }, 60_000);

  it('should complete the restart when the reader of stdout leaves right after "handed off"', async () => {
    const box = sandbox();
    const launched = run(['launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim']);
    await waitFor('"handed off"', () => launched.stdout().includes('handed off') || launched.child.exitCode !== null, 30_000);
    launched.child.stdout!.destroy(); // `first-run launch | grep -m1 'handed off'`
    await endsWithin(launched, 30_000);
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    const executed = journal(box).find((e) => e.type === 'restart.executed')!;
    expect(journal(box).some((e) => e.pid === executed.new_pid && e.type === 'permissions.first_run_completed')).toBe(true);
  }, 60_000);

  it("should give the successor a log of its own, never the predecessor's stdout, and start it in /", async () => {
    const box = sandbox();
    const launched = launch(box, [], {});
    const result = await endsWithin(launched, 30_000);
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    // Only our own line on our stdout: the successor (still running or not) never writes there.
    const pids = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { pid: number }).pid);
    expect(pids).toEqual([launched.child.pid]);
    const log = readFileSync(join(box.stateDir, 'successor.log'), 'utf8');
    const executed = journal(box).find((e) => e.type === 'restart.executed')!;
    expect(lastJson(log)).toMatchObject({ outcome: 'completed', phase: 'COMPLETED', pid: executed.new_pid });
  }, 60_000);

  it('should complete the restart when the working directory is deleted during the run', async () => {
    const box = sandbox(undefined, quickConfig({ delaySec: 1 }));
    const cwd = join(box.dir, 'cwd');
    mkdirSync(cwd);
    const launched = launchViaShell(box, `cd '${cwd}'`, ['--json']);
    await waitFor('the restart request', () => journal(box).some((e) => e.type === 'restart.requested'));
    rmdirSync(cwd);
    await endsWithin(launched, 30_000);
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(journalInvariants(journal(box))).toMatchObject({ restartsExecuted: 1 });
  }, 60_000);

  it('should run a launch from a deleted working directory, and refuse a relative path there with a clear error (exit 2, no stack)', async () => {
    const box = sandbox(ALL_GRANTED);
    const cwd = join(box.dir, 'gone');
    mkdirSync(cwd);
    const plain = await endsWithin(launchViaShell(box, `cd '${cwd}' && rmdir '${cwd}'`, ['--json']), 30_000);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    expect(plain.code, plain.stderr).toBe(0);
    expect(lastJson(plain.stdout)).toMatchObject({ outcome: 'completed' });

    mkdirSync(cwd);
    const relative = launchViaShell(box, `cd '${cwd}' && rmdir '${cwd}'`, ['--state-dir', 'state']);
    const refused = await endsWithin(relative, 30_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('working directory no longer exists');
    expect(refused.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);

  it.runIf(existsSync('/proc/self/fd'))('should never block a run on a stdout pipe that nobody reads (it gives that output up)', async () => {
    const box = sandbox(ALL_GRANTED);
    const fifo = join(box.dir, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader that holds the pipe open and never reads: fill it to the brim, then hand the child a
    // blocking write end (as a shell pipeline would).
    const reader = openSync(fifo, constants.O_RDWR);
    const filler = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      for (;;) writeSync(filler, Buffer.alloc(4096));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('EAGAIN');
    }
    closeSync(filler);
    const out = openSync(fifo, constants.O_WRONLY);
    try {
      const child = spawn(process.execPath, [BIN, 'launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim'], {
        stdio: ['ignore', out, 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('exit', (c, s) => done([c, s])));
      clearTimeout(guard);
      expect(signal, 'the launch blocked on its stdout and was killed').toBeNull();
      expect(code).toBe(0);
      expect(stderr).toContain('writing to stdout failed (EAGAIN)');
      expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 0 });
    } finally {
      closeSync(out);
      closeSync(reader);
    }
  }, 60_000);
});

describe('HE-2 child-process failures are handled', () => {
  it('should end a relaunch that meets a full descriptor table (EMFILE) in a journaled FAILED, killing nothing of its process group', async () => {
    // The smallest descriptor limit under which Node boots and commits but cannot spawn differs by
    // machine: walk up until the spawn itself met EMFILE. Every attempt must end honestly either way.
    let sawEmfile = false;
    for (let limit = 19; limit <= 40 && !sawEmfile; limit++) {
      const box = sandbox();
      // A canary in the launch's own process group: `kill(0, SIGKILL)` would take it too.
      const launched = launchViaShell(box, `sleep 60 & echo $! > '${box.dir}/canary'; ulimit -n ${limit}`, ['--json'], { detached: true });
      const result = await endsWithin(launched, 30_000);
      const canary = Number(readFileSync(join(box.dir, 'canary'), 'utf8'));
      try {
        expect(result.signal, `limit ${limit}: the launch was killed (${result.stderr})`).toBeNull();
        expect(pidExists(canary), `limit ${limit}: a process of the launch's group was killed`).toBe(true);
      } finally {
        process.kill(canary, 'SIGKILL');
      }
      if (result.code === 1 && /EMFILE/.test(result.stdout + result.stderr) && !existsSync(join(box.stateDir, 'events.ndjson'))) continue; // Node itself could not boot
      await allWritersGone(box);
      const lines = journal(box);
      const spawnFailed = lines.filter((e) => e.type === 'restart.child_error' && e.code === 'EMFILE');
      if (spawnFailed.length === 0) continue;
      sawEmfile = true;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(lastJson(result.stdout)).toMatchObject({ outcome: 'failed', phase: 'FAILED' });
      expect(lines.find((e) => e.type === 'restart.failed')).toMatchObject({ message: expect.stringContaining('EMFILE') });
      expect(ledgerPhase(box)?.phase).toBe('FAILED');
      expect(journalInvariants(lines).restartsExecuted).toBe(0);
    }
    expect(sawEmfile, 'no descriptor limit made the relaunch spawn fail with EMFILE').toBe(true);
  }, 300_000);
});

describe('HE-3 paths are pinned when a run starts', () => {
  /** The host of `fixtures/chdir-app.mjs`, started in `box.dir`, moving to `box.dir/elsewhere` right after `runFirstRun`. */
  const runChdirApp = async (box: Sandbox) => {
    const elsewhere = join(box.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const env = { ...process.env, APP_SIM_DB: box.simDb, APP_CONFIG: box.config, APP_CHDIR_TO: elsewhere };
    return { elsewhere, ...(await endsWithin(spawnCaptured(process.execPath, [join(FIXTURES, 'chdir-app.mjs')], { cwd: box.dir, env }), 30_000)) };
  };

  it("should keep the lock, the journal and the ledger in one state dir when the host changes directory after runFirstRun({ stateDir: 'state' })", async () => {
    const box = sandbox(ALL_GRANTED);
    const { code, stdout, elsewhere } = await runChdirApp(box);
    expect(code, stdout).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ outcome: 'completed', phase: 'COMPLETED' });
    expect(existsSync(join(elsewhere, 'state')), 'nothing is written under the new working directory').toBe(false);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 0 });
    expect(journal(box).map((e) => e.type)).toContain('instance.lock_acquired');
  }, 60_000);

  it("should find the same relative state dir in an embedding host's successor, which starts in / (one restart, COMPLETED)", async () => {
    const box = sandbox();
    const { stdout, elsewhere } = await runChdirApp(box);
    await allWritersGone(box);
    expect(ledgerPhase(box), stdout).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(journalInvariants(journal(box))).toMatchObject({ restartsExecuted: 1, successorsStarted: 1 });
    expect(existsSync(join(elsewhere, 'state'))).toBe(false);
  }, 60_000);

  it('should refuse a relative FIRST_RUN_STATE_DIR (exit 2, naming it) instead of making one state dir per working directory', async () => {
    const box = sandbox(ALL_GRANTED);
    for (const cwd of ['a', 'b']) mkdirSync(join(box.dir, cwd));
    const results = [];
    for (const cwd of ['a', 'b']) {
      const args = ['launch', '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim'];
      const launched = cliViaShell(`cd '${join(box.dir, cwd)}'; export FIRST_RUN_STATE_DIR=state`, args);
      results.push(await endsWithin(launched, 30_000));
    }
    for (const result of results) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('FIRST_RUN_STATE_DIR');
      expect(result.stderr).toContain('absolute path');
    }
    expect(existsSync(join(box.dir, 'a', 'state')) || existsSync(join(box.dir, 'b', 'state'))).toBe(false);
  }, 60_000);

  it('should refuse a relative FIRST_RUN_STATE_DIR in status too', async () => {
    const result = await endsWithin(run(['status'], { FIRST_RUN_STATE_DIR: 'state' }), 20_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('FIRST_RUN_STATE_DIR');
  });
});
