/**
 * `first-run launch` — behave as the client process (SPEC §4): lock, precheck, pipeline, decision,
 * relaunch, verify; exit when settled (`--stay` keeps running until SIGTERM/SIGINT). SIGINT/SIGTERM
 * is the user quitting (`tray.quit_clicked`): a restart not yet executed is cancelled, exit 0.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { RelaunchStrategy } from '../../../machines/types.js';
import { loadBackend, type BackendKind } from '../../backend/load-backend.js';
import { UsageError } from '../../errors.js';
import { packageRoot } from '../../inspect/package-root.js';
import { parseSuccessorFlags, withoutOptions, type RelaunchPlan } from '../../runtime/relauncher.js';
import { runFirstRun, type RuntimeResult } from '../../runtime/run-first-run.js';
import { holdForGo } from '../../handoff/handoff-channel.js';
import { absolutePath, resolveSettings, resolveStateDir, tightenedLine } from '../common.js';
import { EXIT, stdoutIsTerminal, type Command } from '../io.js';
import { parseMs, type ParsedCLI } from '../parse-cli.js';
import { createReporter } from '../reporter.js';
import type { DevSession } from '../../dev/dev-session.js';
import { hasDevState } from '../../dev/dev-state-file.js';
import type { FirstRunRuntime } from '../../runtime/run-first-run.js';

/** The app bundle around an executable (`/Applications/X.app/Contents/MacOS/X` → `/Applications/X.app`). */
export function appBundleOf(execPath: string): string | null {
  const match = /^(.*?\.app)\/Contents\/MacOS\/[^/]+$/.exec(execPath);
  return match?.[1] ?? null;
}

/**
 * Options that belong to this launch only and never to its successor: how long *we* wait for the lock
 * (a successor's wait comes from the hand-off) and the demo's simulated session. A successor that
 * inherited `--lock-timeout 0` tried the lock once, found us still holding it, and exited — and nothing
 * ran. (The hand-off flags of our own start are replaced by the relauncher: `successorArgs`.)
 */
const PREDECESSOR_ONLY_OPTIONS = ['--lock-timeout', '--busy-at-restart'] as const;

/** Options whose value is a path: made absolute for the successor (`open -n -a` starts it in `/`). */
const PATH_OPTIONS = ['--state-dir', '--config', '--sim-db', '--dev-module', '--watch'] as const;

/**
 * The arguments of this launch, composed for its successor (which starts in `/`): without
 * {@link PREDECESSOR_ONLY_OPTIONS}, with every path option absolute (resolved against `cwd`, by default
 * the working directory — read only when a path is relative: it may have been deleted).
 * @throws {UsageError} for a relative path when the working directory no longer exists.
 */
export function composeSuccessorCliArgs(args: readonly string[], cwd?: string): string[] {
  const absolute = (value: string, option: string) => (cwd === undefined ? absolutePath(value, option) : resolve(cwd, value));
  const rest = withoutOptions(args, PREDECESSOR_ONLY_OPTIONS);
  const kept: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const pathOption = PATH_OPTIONS.find((name) => arg === name || arg.startsWith(`${name}=`));
    if (pathOption && arg === pathOption && i + 1 < rest.length) {
      kept.push(arg, absolute(rest[++i]!, pathOption));
    } else if (pathOption && arg !== pathOption) {
      kept.push(`${pathOption}=${absolute(arg.slice(pathOption.length + 1), pathOption)}`);
    } else {
      kept.push(arg);
    }
  }
  return kept;
}

/** How this very CLI process is started again, per strategy (RS-8), with arguments composed for the successor. */
export function relaunchPlanFor(strategy: RelaunchStrategy, argv: readonly string[] = process.argv): RelaunchPlan {
  const entry = argv[1] ?? ourLauncher();
  const args = composeSuccessorCliArgs(argv.slice(2));
  if (strategy === 'bundle') {
    const appPath = appBundleOf(process.execPath);
    if (!appPath) {
      throw new UsageError(
        `restart.strategy "bundle" relaunches a packaged .app with \`open -n -a\`, but this process (${process.execPath}) is not inside one. Use "node" for a plain Node/CLI run.`,
      );
    }
    return { strategy, appPath, args, output: 'log' };
  }
  return {
    strategy,
    // The successor's stdout and stderr go to successor.log in the state dir (HE-1): whatever reads ours
    // may be gone, or never read again, by the time it runs.
    output: 'log',
    execPath: process.execPath,
    execArgv: [...process.execArgv],
    entry,
    args,
    // Our own CLI holds for `go` (`holdForGo` in runLaunch): the successor may boot before the RS-3
    // commit. Worked out when asked (only a run that restarts asks), not at every launch.
    get holdsForGo() {
      return isOurLauncher(entry);
    },
  };
}

const ourLauncher = () => join(packageRoot(), 'bin', 'first-run.js');

/** Whether the command line asks for an inspector (the viewer or the Stately relay). */
function inspectionAsked(cli: ParsedCLI): boolean {
  return cli.options.inspect === true || typeof cli.options['inspect-url'] === 'string' || typeof cli.options['inspect-viewer'] === 'string';
}

/** Whether `entry` is this package's `bin/first-run.js`, whose `launch` holds for `go`. */
function isOurLauncher(entry: string): boolean {
  try {
    return realpathSync(entry) === realpathSync(ourLauncher());
  } catch {
    return false;
  }
}

/** The successor flags, checked by the same parser an embedding host uses (`readSuccessorInfo`); bad usage exits 2. */
function successorOf(cli: ParsedCLI) {
  try {
    return parseSuccessorFlags(cli.options['successor-of'], cli.options['handoff-token']);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

export const runLaunch: Command = async (cli, io) => {
  const json = cli.options.json === true;
  const stateDir = resolveStateDir(cli, io);
  const settings = await resolveSettings(cli, io);
  const simDb = typeof cli.options['sim-db'] === 'string' ? absolutePath(cli.options['sim-db'], '--sim-db') : undefined;
  const backend = await loadBackend({
    ...(typeof cli.options.backend === 'string' ? { kind: cli.options.backend as BackendKind } : {}),
    ...(simDb ? { simDb } : {}),
  });
  const successor = successorOf(cli);
  // A successor started held, in dev mode or with inspection, waits here for the predecessor's `go`
  // before those start anything; otherwise it waits inside the runtime, right before its first journal
  // line (`holdForGo` below), having opened all it needs. Told nothing, it was never a successor.
  const heldEarly = successor !== undefined && (cli.options.dev === true || inspectionAsked(cli));
  if (heldEarly && !holdForGo()) {
    await backend.close?.();
    return EXIT.ok;
  }
  const dev = await prepareDevFromCli(cli, io, stateDir, successor, json);
  const lockTimeoutMs = cli.options['lock-timeout'] === undefined ? undefined : parseMs('lock-timeout', cli.options['lock-timeout'], 0);
  const reporter = json ? null : createReporter(io, { tty: stdoutIsTerminal() });

  const { createInspectionFromCli } = await import('../inspection.js');
  const inspection = await createInspectionFromCli(cli, io);

  const runtime = runFirstRun({
    stateDir,
    settings,
    backend,
    relaunch: relaunchPlanFor(settings.restart.strategy),
    ...(successor && !dev?.runtimeOptions.devRestart ? { successor, holdForGo } : {}),
    stay: cli.options.stay === true,
    // Dev mode: the dev session's hand-off, restore and `stay`; otherwise a stale dev-restart file is only reported.
    ...(dev ? dev.runtimeOptions : { onLocked: () => setAsideStaleDevStateLater(stateDir, io) }),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(typeof cli.options['app-mode'] === 'string' ? { appMode: cli.options['app-mode'] as 'SLEEPING' } : {}),
    ...(inspection ? { inspect: inspection.inspect } : {}),
    onEvent: (event) => {
      if (event.type === 'state_dir.tightened') io.stderr(tightenedLine(stateDir, String((event as { from?: unknown }).from)));
      reporter?.onEvent(event as never);
      inspection?.publish(event as never);
    },
    log: (line) => {
      if (!json) io.stderr(line);
    },
  });

  dev?.attach(runtime);
  busyAtRestart(cli, runtime);

  // SIGINT/SIGTERM: the user quitting. Once settled with --stay, they end the process gracefully.
  let stayResolve: (() => void) | null = null;
  let signalled = false;
  const onSignal = () => {
    signalled = true;
    if (stayResolve) stayResolve();
    else runtime.quit();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: RuntimeResult;
  try {
    result = await runtime.result;
    if (dev) {
      const newPid = await waitInDevMode(dev, runtime, result, io, json, signalled, (resolveStay) => {
        stayResolve = resolveStay;
      });
      if (newPid !== null) {
        if (!json) io.stdout(`[${process.pid}] dev restart: handed off to pid ${newPid}; exiting`);
        else io.stdout(JSON.stringify({ outcome: 'dev_restarted', new_pid: newPid, pid: process.pid, state_dir: stateDir }));
        // The successor runs the app now: this process must be gone even if a forced shutdown hook still
        // holds a handle open (the "force" of --shutdown-timeout).
        setTimeout(() => process.exit(EXIT.ok), 100).unref();
        return EXIT.ok;
      }
      result = { ...result, outcome: result.outcome === 'suspended' ? 'quit' : result.outcome };
      // The dev module's handles (timers, servers) may outlive its hooks: a dev app ends here.
      setTimeout(() => process.exit(process.exitCode ?? EXIT.ok), 500).unref();
    } else if (cli.options.stay === true && (result.outcome === 'completed' || result.outcome === 'failed')) {
      if (!json) io.stdout(`[${process.pid}] settled ${result.phase}; staying up until SIGTERM/SIGINT (--stay)`);
      // Like an app: nothing else may be pending, so hold the event loop open until a signal.
      const keepAlive = setInterval(() => {}, 1 << 30);
      // A lost lock or a full disk ends the stay with its error (exit 1), never silently.
      const stayed = await Promise.race([
        new Promise<null>((resolveStay) => (stayResolve = () => resolveStay(null))),
        runtime.failure.catch((error: unknown) => ({ error })),
      ]);
      clearInterval(keepAlive);
      await runtime.close();
      if (stayed) throw stayed.error;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reporter?.close();
    await inspection?.close();
  }
  if (json) {
    io.stdout(JSON.stringify({ outcome: result.outcome, phase: result.phase, restart_count: result.restartCount, warnings: result.warnings, ledger: result.ledger, pid: process.pid, state_dir: stateDir }));
  } else {
    const what =
      result.outcome === 'handed_off'
        ? 'handed off to the successor; exiting'
        : result.outcome === 'cancelled_successor'
          ? 'the relaunch was cancelled by the predecessor; exiting without running'
          : result.outcome === 'quit'
            ? `quit (phase ${result.phase}, restart_count ${result.restartCount}); nothing will be relaunched`
            : `settled ${result.phase} (restart_count ${result.restartCount})`;
    io.stdout(`[${process.pid}] ${what}`);
  }
  return EXIT.ok;
};

/**
 * `--busy-at-restart MS` (restart safety, RS-10): when the pipeline ends needing a restart, the app says
 * it is busy (a session in progress) and idle again MS later — what a host does around a session or an
 * update; the demo uses it to show a deferred restart.
 */
function busyAtRestart(cli: ParsedCLI, runtime: FirstRunRuntime): void {
  if (cli.options['busy-at-restart'] === undefined) return;
  const busyMs = parseMs('busy-at-restart', cli.options['busy-at-restart'], 0);
  runtime.on('permissions.first_run_restart_pending', () => {
    runtime.setBusy(true);
    setTimeout(() => runtime.setBusy(false), busyMs).unref();
  });
}

/** Report a stale dev-restart file (dev mode's module, with the machines, loads only when it is needed). */
function setAsideStaleDevStateLater(stateDir: string, io: { stderr(text: string): void }): void {
  // One stat on every launch; the dev module is loaded only when there is such a file.
  if (!hasDevState(stateDir)) return;
  void reportStaleDevState(stateDir, io);
}

async function reportStaleDevState(stateDir: string, io: { stderr(text: string): void }): Promise<void> {
  try {
    const { setAsideStaleDevState } = await import('../../dev/dev-session.js');
    setAsideStaleDevState(stateDir, (line) => io.stderr(line));
  } catch (error) {
    io.stderr(`first-run: could not check for a stale dev-restart file: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `--dev …`: check the dev options and prepare the session (before `runFirstRun`: the dev module loads first). */
async function prepareDevFromCli(
  cli: ParsedCLI,
  io: { stderr(text: string): void },
  stateDir: string,
  successor: ReturnType<typeof successorOf>,
  json: boolean,
): Promise<DevSession | null> {
  const isDevRestart = cli.options['dev-restart'] === true;
  if (cli.options.dev !== true) {
    for (const name of ['watch', 'dev-module', 'shutdown-timeout', 'dev-restart']) {
      if (cli.options[name] !== undefined) throw new UsageError(`\`--${name}\` is a dev-mode option; add \`--dev\` (see docs/dev-mode.md).`);
    }
    return null;
  }
  if (isDevRestart && !successor) {
    throw new UsageError('`--dev-restart` is set by a dev restart, together with `--successor-of PID` and `--handoff-token TOKEN`.');
  }
  const watch = cli.options.watch;
  const devModule = typeof cli.options['dev-module'] === 'string' ? absolutePath(cli.options['dev-module'], '--dev-module') : undefined;
  const roots = Array.isArray(watch) ? watch.map((dir) => absolutePath(dir, '--watch')) : devModule ? [dirname(devModule)] : [];
  if (roots.length === 0) throw new UsageError('`--dev` needs at least one `--watch DIR` (or a `--dev-module FILE`, whose directory is then watched).');
  for (const root of roots) {
    if (!existsSync(root)) throw new UsageError(`Expected \`--watch\` to name an existing file or directory, got \`${root}\`.`);
  }
  const { prepareDevSession } = await import('../../dev/dev-session.js');
  return prepareDevSession({
    stateDir,
    watch: roots,
    shutdownTimeoutMs: parseMs('shutdown-timeout', cli.options['shutdown-timeout'], 10_000),
    ...(devModule ? { module: devModule } : {}),
    ...(isDevRestart && successor ? { restart: successor } : {}),
    log: (line) => {
      if (!json) io.stderr(`[${process.pid}] ${line}`);
    },
  });
}

/**
 * Dev mode after the run resolved: keep running (settled, or stopped by a dev restart) until the
 * successor took over (its PID) or a signal came (null).
 */
async function waitInDevMode(
  dev: DevSession,
  runtime: FirstRunRuntime,
  result: RuntimeResult,
  io: { stdout(text: string): void },
  json: boolean,
  signalled: boolean,
  onStay: (resolveStay: () => void) => void,
): Promise<number | null> {
  const running = result.outcome === 'completed' || result.outcome === 'failed' || result.outcome === 'suspended';
  if (running && !signalled) {
    if (!json && result.outcome !== 'suspended') io.stdout(`[${process.pid}] settled ${result.phase}; dev mode: watching for changes until SIGTERM/SIGINT`);
    // Like an app (and a crashed dev session waiting for changes): hold the event loop open.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const signal = new Promise<null>((resolveSignal) => onStay(() => resolveSignal(null)));
    const ended = await Promise.race([dev.whenHandedOff.then(({ newPid }) => newPid), signal]);
    clearInterval(keepAlive);
    if (ended !== null) return ended;
  }
  await dev.close();
  await runtime.close();
  return null;
}
