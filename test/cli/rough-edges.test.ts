/**
 * The CLI's rough edges an adopter hit (issue 21), each as the user meets it: `reset` on a missing state
 * dir creates nothing; a `--config` that names no file exits 2 with its path; a lock conflict names the
 * CLI's `--lock-timeout`, not the library's `timeoutMs`; a world-writable state dir is tightened with a
 * word (stderr and journal); `inspect` on a busy port says so in one line; `demo` honours `--state-dir`
 * and `--config` (and refuses an invalid config with exit 2). Spawned commands run the built CLI (dist/).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inCliWords } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { parseCLI } from '../../src/cli/parse-cli.js';
import { LockAcquisitionError } from '../../src/errors.js';
import { LOCK_WAIT_HINT } from '../../src/lock/instance-lock.js';
import { assertBuilt, BIN } from '../support/processes.js';

const ALL_GRANTED = {
  permissions: { microphone: { status: 'granted' }, accessibility: { status: 'granted' }, input_monitoring: { status: 'granted' }, screen_capture: { status: 'granted' } },
};

const capture = (env: NodeJS.ProcessEnv = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env }, out, err, text: () => `${out.join('\n')}\n${err.join('\n')}` };
};

const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('first-run CLI rough edges (issue 21)', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const servers: Server[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'first-run-cli-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(() => assertBuilt());
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reset --yes on a missing state dir says so and creates nothing', async () => {
    const stateDir = join(scratch(), 'no-such-state');
    const text = capture();
    expect(await runCli(['reset', '--state-dir', stateDir, '--yes'], text.io)).toBe(0);
    expect(text.out.join('\n')).toContain(`nothing to reset: ${stateDir} does not exist`);
    expect(existsSync(stateDir)).toBe(false);
    const json = capture();
    expect(await runCli(['reset', '--state-dir', stateDir, '--yes', '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join(''))).toEqual({ state_dir: stateDir, state_dir_exists: false, moved: [] });
    expect(existsSync(stateDir)).toBe(false);
  });

  it('launch --config FILE that does not exist exits 2 naming the path (no run with the defaults)', async () => {
    const dir = scratch();
    const missing = join(dir, 'confg.json');
    writeFileSync(join(dir, 'tcc.json'), JSON.stringify(ALL_GRANTED));
    const text = capture();
    const code = await runCli(['launch', '--state-dir', join(dir, 'state'), '--sim-db', join(dir, 'tcc.json'), '--backend', 'sim', '--config', missing], text.io);
    expect(code, text.text()).toBe(2);
    expect(text.err.join('\n')).toContain(missing);
    expect(text.err.join('\n')).toMatch(/no such file: fix the --config path, or leave --config out/);
    expect(existsSync(join(dir, 'state')), 'nothing ran').toBe(false);
  });

  it('a lock conflict names --lock-timeout to CLI users (reset, which has no such flag, names none)', async () => {
    const stateDir = join(scratch(), 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    // Another live process holds the instance lock.
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `
      const { acquireInstanceLock } = await import(${JSON.stringify(new URL('../../dist/src/lock/index.js', import.meta.url).href)});
      await acquireInstanceLock({ stateDir: ${JSON.stringify(stateDir)} });
      console.log('held');
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      holder.on('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
    });
    const db = join(stateDir, '..', 'tcc.json');
    writeFileSync(db, JSON.stringify(ALL_GRANTED));
    const launched = cli(['launch', '--state-dir', stateDir, '--sim-db', db, '--backend', 'sim']);
    expect(launched.status, launched.stderr).toBe(3);
    expect(launched.stderr).toContain(`pid ${holder.pid}`);
    expect(launched.stderr).toContain('or pass `--lock-timeout MS` to wait for it');
    expect(launched.stderr).not.toContain('timeoutMs');
    const reset = cli(['reset', '--state-dir', stateDir, '--yes']);
    expect(reset.status, reset.stderr).toBe(3);
    expect(reset.stderr).toContain('Quit that instance and start again.');
    expect(reset.stderr).not.toMatch(/timeoutMs|--lock-timeout/);
  });

  it.each([
    [['launch'], 'Quit that instance and start again, or pass `--lock-timeout MS` to wait for it.'],
    [['launch', '--successor-of', '42', '--handoff-token', 't'], 'Quit that instance and start again.'],
    [['reset', '--yes'], 'Quit that instance and start again.'],
  ])('a lock conflict of `%s` names the wait the CLI user has', (argv, expected) => {
    const library = new LockAcquisitionError('/s/instance.lock', null, `Another instance holds the lock /s/instance.lock: pid 7. Quit that instance and start again, ${LOCK_WAIT_HINT}.`);
    const shown = inCliWords(library, parseCLI(argv)) as LockAcquisitionError;
    expect(shown).toBeInstanceOf(LockAcquisitionError);
    expect(shown.message).toBe(`Another instance holds the lock /s/instance.lock: pid 7. ${expected}`);
    expect(shown.cause).toBe(library);
  });

  it('a world-writable state dir is tightened to 0700 with a word on stderr and in the journal', () => {
    const dir = scratch();
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o777);
    writeFileSync(join(dir, 'tcc.json'), JSON.stringify(ALL_GRANTED));
    const launched = cli(['launch', '--state-dir', stateDir, '--sim-db', join(dir, 'tcc.json'), '--backend', 'sim', '--json']);
    expect(launched.status, launched.stderr).toBe(0);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(launched.stderr).toContain(`the state dir ${stateDir} was 0777 (others could write to it); tightened to 0700`);
    const lines = readFileSync(join(stateDir, 'events.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string });
    expect(lines.find((line) => line.type === 'state_dir.tightened')).toMatchObject({ path: stateDir, from: '0777', to: '0700' });

    // reset tightens the same way, and says so too.
    chmodSync(stateDir, 0o757);
    const reset = cli(['reset', '--state-dir', stateDir, '--yes']);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stderr).toContain(`the state dir ${stateDir} was 0757 (others could write to it); tightened to 0700`);
    expect(readFileSync(join(stateDir, 'events.ndjson'), 'utf8')).toMatch(/"type":"state_dir\.tightened".*"from":"0757"/);
  });

  it('inspect on a busy port: one line naming the port and what to do, no stack (exit 1)', async () => {
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    const inspected = cli(['inspect', '--port', String(port)]);
    expect(inspected.status, inspected.stderr).toBe(1);
    expect(inspected.stderr.trim().split('\n')).toEqual([
      `first-run: The viewer cannot listen on 127.0.0.1:${port}: port ${port} is already in use (another \`first-run inspect\` or another program listens there). Stop it, or pass --port N (--port 0 picks a free port).`,
    ]);
    const json = cli(['inspect', '--port', String(port), '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ERR_INSPECTOR_RELAY' }, exit_code: 1 });
  });

  describe('demo --state-dir / --config', () => {
    it.each([
      ['does not exist', (dir: string) => join(dir, 'missing.json'), /no such file/],
      ['is invalid', (dir: string) => {
        writeFileSync(join(dir, 'bad.json'), JSON.stringify({ integrations: { permissions_v2: { default_step_timeout_s: -1 } } }));
        return join(dir, 'bad.json');
      }, /default_step_timeout_s/],
    ])('should refuse a --config that %s with exit 2, before anything runs', async (_what, configOf, message) => {
      const dir = scratch();
      const config = configOf(dir);
      const text = capture();
      expect(await runCli(['demo', '--config', config, '--state-dir', join(dir, 'state')], text.io), text.text()).toBe(2);
      expect(text.err.join('\n')).toContain(config);
      expect(text.err.join('\n')).toMatch(message);
      expect(existsSync(join(dir, 'state'))).toBe(false);
    });

    it('should refuse a --state-dir that already holds something (a demo is a first run), exit 2', async () => {
      const stateDir = join(scratch(), 'state');
      mkdirSync(stateDir);
      writeFileSync(join(stateDir, 'events.ndjson'), '');
      const text = capture();
      expect(await runCli(['demo', '--state-dir', stateDir], text.io), text.text()).toBe(2);
      expect(text.err.join('\n')).toMatch(/needs a new or empty state dir, and this one holds events\.ndjson/);
    });

    it("should run in the user's --state-dir (kept) with the user's --config", async () => {
      const dir = scratch();
      const stateDir = join(dir, 'my-demo');
      // The user's config turns the restart off (and shortens the timeboxes): a demo that used its own
      // config would restart once.
      const config = join(dir, 'app.json');
      writeFileSync(config, JSON.stringify({ integrations: { permissions_v2: { enabled: false, default_step_timeout_s: 3, poll_interval_s: 0.1, confirm_interval_s: 0.1 } } }));
      const text = capture(process.env);
      const code = await runCli(['demo', '--state-dir', stateDir, '--config', config, '--json'], text.io);
      expect(code, text.text()).toBe(0);
      const result = JSON.parse(text.out.at(-1)!) as { state_dir: string; kept: boolean; restarts_executed: number; phase: string };
      expect(result).toMatchObject({ state_dir: stateDir, kept: true, restarts_executed: 0, phase: 'COMPLETED' });
      expect(existsSync(join(stateDir, 'permission_ledger.json'))).toBe(true);
    }, 60_000);
  });
});
