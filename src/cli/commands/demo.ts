/**
 * `first-run demo` — the main job on any machine (SPEC §4): a complete simulated first run with one
 * real relaunch, in a fresh temporary state dir. It runs the real `first-run launch` as a child
 * process (which relaunches itself, exactly as an app would), shows its progress, waits for the
 * successor to settle, and ends with the ledger summary. The temporary dir is removed at the end,
 * unless `--keep` (then its path is printed with the commands to look into it) or the demo failed
 * (then it is what a bug report needs). `--state-dir DIR` runs it in the user's DIR instead (new or
 * empty; never removed); `--config FILE` with the user's config instead of the quick timings (checked
 * first: a missing or invalid one exits 2 before anything runs).
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { packageRoot } from '../../inspect/package-root.js';
import { readJournal } from '../../journal/index.js';
import { readLedgerSummary } from '../../ledger/index.js';
import { probeProcess, type ProcessProbe } from '../../lock/process-identity.js';
import { absolutePath, resolveSettings, stateDirExists } from '../common.js';
import { EXIT, type Command } from '../io.js';
import { SUCCESSOR_LOG_NAME } from '../../relaunch/successor-environment.js';
import { monotonicMs } from '../../clock-monotonic.js';

/** The package's own `first-run` launcher (found from this module, compiled or not, never from the cwd). */
const bin = () => join(packageRoot(), 'bin', 'first-run.js');

/** The §4 example scenario: a prompt, a trip to System Settings, one already granted, Screen Recording effective after a restart. */
export const DEMO_DB = {
  permissions: {
    microphone: { status: 'not_determined', on_request: { result: 'granted', after_ms: 800 } },
    accessibility: { status: 'denied', on_settings: { result: 'granted', after_ms: 1500 } },
    input_monitoring: { status: 'granted' },
    screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 600, effective: 'after_restart' } },
  },
};

function demoConfig(slow: boolean) {
  return {
    integrations: {
      permissions_v2: {
        default_step_timeout_s: slow ? 15 : 4,
        poll_interval_s: slow ? 1 : 0.25,
        confirm_interval_s: slow ? 2 : 0.3,
        restart: { delay_sec: slow ? 3 : 1.5, handoff_timeout_s: 10 },
      },
    },
  };
}

/**
 * Whether the process first seen as `first` has ended: gone, a zombie (re-parented to a PID 1 that never
 * reaps, as in a container without an init), or its PID now another process's.
 */
export function hasEnded(first: ProcessProbe): boolean {
  const now = probeProcess(first.pid);
  return !now.exists || now.zombie || (first.startId !== null && now.startId !== first.startId);
}

async function waitFor(condition: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const until = monotonicMs() + timeoutMs; // monotonic: a wall clock set back must not stretch the wait
  while (monotonicMs() < until) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return condition();
}

export const runDemo: Command = async (cli, io) => {
  const json = cli.options.json === true;
  const keep = cli.options.keep === true;
  // The user's own config and state dir, checked before anything starts: a bad one exits 2 here.
  const userConfig = typeof cli.options.config === 'string' ? absolutePath(cli.options.config, '--config') : null;
  if (userConfig) await resolveSettings(cli, io);
  const userStateDir = typeof cli.options['state-dir'] === 'string' ? freshStateDir(absolutePath(cli.options['state-dir'], '--state-dir')) : null;
  const dir = mkdtempSync(join(tmpdir(), 'first-run-demo-'));
  const stateDir = userStateDir ?? join(dir, 'state');
  const simDb = join(dir, 'tcc.json');
  const config = userConfig ?? join(dir, 'config.json');
  writeFileSync(simDb, JSON.stringify(DEMO_DB, null, 2));
  if (!userConfig) writeFileSync(config, JSON.stringify(demoConfig(cli.options.slow === true), null, 2));
  if (!json) {
    io.stdout(`first-run demo — a simulated first run with one real relaunch`);
    io.stdout(`state dir ${stateDir}${userStateDir ? ' (yours: --state-dir; kept)' : keep ? ' (kept: --keep)' : ' (temporary: removed at the end; --keep keeps it)'}`);
    if (userConfig) io.stdout(`config ${userConfig} (yours: --config; its timings, not the demo's quick ones)`);
    io.stdout(`simulated TCC: microphone asks (granted), accessibility goes through System Settings (granted),`);
    io.stdout(`input monitoring already granted, screen recording granted but effective only after a restart\n`);
  }
  const settled = await runLaunchAndSuccessor(demoLaunchArgs(cli, stateDir, simDb, config), stateDir, io);
  if (settled !== null) {
    io.stderr(`first-run: ${settled.problem}; its state is kept in ${stateDir} (inspect it: npx first-run status --state-dir ${stateDir})`);
    // Bad usage or config (2) and a held lock (3) keep their exit codes; anything else is a failed demo.
    return settled.code === EXIT.usage || settled.code === EXIT.locked ? settled.code : EXIT.failure;
  }
  const summary = demoSummary(stateDir);
  // A demo that did not complete keeps its state, as a failed launch does: it is what a bug report needs.
  const result = { ...summary, kept: keep || userStateDir !== null || summary.phase !== 'COMPLETED' };
  if (!keep && summary.phase === 'COMPLETED') rmSync(dir, { recursive: true, force: true });
  if (json) io.stdout(JSON.stringify(result));
  else {
    io.stdout('\nledger summary');
    io.stdout(`  phase              ${result.phase}`);
    io.stdout(`  restart_count      ${result.restart_count}`);
    io.stdout(`  generation         ${String(result.generation)}`);
    io.stdout(`  restarts executed  ${result.restarts_executed} (processes: ${result.processes.join(' → ')})`);
    if (result.kept) {
      io.stdout(`  journal            ${result.journal}`);
      io.stdout(`  inspect it again:  npx first-run status --state-dir ${stateDir}`);
    } else io.stdout(`  (the temporary state dir was removed; run with --keep to look into it)`);
  }
  return result.phase === 'COMPLETED' ? EXIT.ok : EXIT.failure;
};

/**
 * `demo --state-dir DIR`: the demo is a first run, so DIR must be new (created 0700 by the launch) or an
 * empty directory. One that holds anything — an earlier run's ledger and journal — would make the demo a
 * later launch of that run (or mix two runs in one journal): refused, exit 2, nothing touched.
 * @throws StateDirError for a file (or a path under one); UsageError for a directory that is not empty.
 */
function freshStateDir(stateDir: string): string {
  if (!stateDirExists(stateDir)) return stateDir;
  const entries = readdirSync(stateDir);
  if (entries.length > 0) {
    throw new UsageError(
      `\`demo --state-dir ${stateDir}\`: the demo runs a first run, which needs a new or empty state dir, and this one holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}. Choose another directory (or leave --state-dir out for a temporary one); nothing was changed.`,
    );
  }
  return stateDir;
}

/** The `first-run launch` arguments of the demo's first process. */
function demoLaunchArgs(cli: Parameters<Command>[0], stateDir: string, simDb: string, config: string): string[] {
  // A session is in progress when the restart comes due: the restart waits for idle (RS-10).
  const busyMs = cli.options.slow === true ? 6000 : 2500;
  const args = ['launch', '--state-dir', stateDir, '--sim-db', simDb, '--config', config, '--backend', 'sim', '--busy-at-restart', String(busyMs)];
  for (const name of ['inspect-viewer', 'inspect-url'] as const) {
    const value = cli.options[name];
    if (typeof value === 'string') args.push(`--${name}`, value);
  }
  if (cli.options.inspect === true) args.push('--inspect');
  if (cli.options.json === true) args.push('--json');
  return args;
}

/**
 * Run the launch and, if it handed off, wait for its successor to settle (bounded: timeboxes +
 * hand-off + margin). `null` when both ended well, else what went wrong (with the launch's exit code).
 */
async function runLaunchAndSuccessor(args: string[], stateDir: string, io: Parameters<Command>[1]): Promise<{ problem: string; code: number } | null> {
  // The launch (and, after the relaunch, its successor) writes straight to our stdout/stderr.
  const child = spawn(process.execPath, [bin(), ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: io.env });
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const code = await new Promise<number>((resolveExit) => child.on('exit', (c) => resolveExit(c ?? 1)));
    if (code !== 0) return { problem: `the demo's launch exited with code ${code}`, code };
    const executed = readJournal(join(stateDir, 'events.ndjson')).events.find((e) => e.type === 'restart.executed') as { new_pid?: number } | undefined;
    const successor = executed?.new_pid;
    if (successor) {
      const first = probeProcess(successor);
      // The successor writes to successor.log in the state dir (HE-1), not to our stdout: shown as it grows.
      const follow = followFile(join(stateDir, SUCCESSOR_LOG_NAME));
      const show = () => {
        const text = follow();
        if (text) io.stdout(text.replace(/\n$/, ''));
      };
      const ended = await waitFor(() => (show(), hasEnded(first)), 120_000);
      show();
      if (!ended) return { problem: `the successor (pid ${successor}) did not settle within 120 s`, code: EXIT.failure };
    }
    return null;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

/**
 * What was appended to `file` since the last call ('' when nothing, or when it is missing or not a regular
 * file). Opened without following a link and without blocking on a FIFO.
 */
function followFile(file: string): () => string {
  let offset = 0;
  return () => {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch {
      return '';
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size <= offset) return '';
      const chunk = Buffer.alloc(Math.min(stat.size - offset, 1 << 20));
      const read = readSync(fd, chunk, 0, chunk.length, offset);
      offset += read;
      return chunk.subarray(0, read).toString('utf8');
    } finally {
      closeSync(fd);
    }
  };
}

/** What the demo reports: the ledger summary and who wrote the journal. */
function demoSummary(stateDir: string) {
  const summary = readLedgerSummary(stateDir);
  const events = readJournal(join(stateDir, 'events.ndjson')).events;
  return {
    phase: summary.kind === 'ok' ? summary.phase : 'NONE',
    restart_count: summary.kind === 'ok' ? summary.restart_count : 0,
    generation: summary.kind === 'ok' ? summary.generation : null,
    restarts_executed: events.filter((e) => e.type === 'restart.executed').length,
    processes: [...new Set(events.map((e) => e.pid))],
    state_dir: stateDir,
    journal: join(stateDir, 'events.ndjson'),
  };
}
