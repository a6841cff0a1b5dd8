/**
 * `first-run launch` — behave as the client process (SPEC §4): lock, precheck, pipeline, decision,
 * relaunch, verify; exit when settled (`--stay` keeps running until SIGTERM/SIGINT). SIGINT/SIGTERM
 * is the user quitting (`tray.quit_clicked`): a restart not yet executed is cancelled, exit 0.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RelaunchStrategy } from '../../../machines/types.js';
import { loadBackend, type BackendKind } from '../../backend/load-backend.js';
import { UsageError } from '../../errors.js';
import type { RelaunchPlan } from '../../runtime/relauncher.js';
import { runFirstRun, type RuntimeResult } from '../../runtime/run-first-run.js';
import { resolveSettings, resolveStateDir } from '../common.js';
import { EXIT, type Command } from '../io.js';
import { parseMs, type ParsedCLI } from '../parse-cli.js';
import { createReporter } from '../reporter.js';

/** The app bundle around an executable (`/Applications/X.app/Contents/MacOS/X` → `/Applications/X.app`). */
export function appBundleOf(execPath: string): string | null {
  const match = /^(.*?\.app)\/Contents\/MacOS\/[^/]+$/.exec(execPath);
  return match?.[1] ?? null;
}

/** How this very CLI process is started again, per strategy (RS-8). */
export function relaunchPlanFor(strategy: RelaunchStrategy, argv: readonly string[] = process.argv): RelaunchPlan {
  const entry = argv[1] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../bin/first-run.js');
  const args = argv.slice(2);
  if (strategy === 'bundle') {
    const appPath = appBundleOf(process.execPath);
    if (!appPath) {
      throw new UsageError(
        `restart.strategy "bundle" relaunches a packaged .app with \`open -n -a\`, but this process (${process.execPath}) is not inside one. Use "node" for a plain Node/CLI run.`,
      );
    }
    return { strategy, appPath, args };
  }
  return { strategy, execPath: process.execPath, execArgv: [...process.execArgv], entry, args };
}

function successorOf(cli: ParsedCLI) {
  const of = cli.options['successor-of'];
  const token = cli.options['handoff-token'];
  if (of === undefined && token === undefined) return undefined;
  if (typeof of !== 'string' || !/^\d+$/.test(of) || typeof token !== 'string') {
    throw new UsageError('`--successor-of PID` and `--handoff-token TOKEN` go together (they are set by a relaunch).');
  }
  return { predecessorPid: Number(of), token };
}

export const runLaunch: Command = async (cli, io) => {
  const json = cli.options.json === true;
  const stateDir = resolveStateDir(cli, io);
  const settings = await resolveSettings(cli, io);
  const simDb = typeof cli.options['sim-db'] === 'string' ? resolve(cli.options['sim-db']) : undefined;
  const backend = await loadBackend({
    ...(typeof cli.options.backend === 'string' ? { kind: cli.options.backend as BackendKind } : {}),
    ...(simDb ? { simDb } : {}),
  });
  const successor = successorOf(cli);
  const lockTimeoutMs = cli.options['lock-timeout'] === undefined ? undefined : parseMs('lock-timeout', cli.options['lock-timeout'], 0);
  const reporter = json ? null : createReporter(io, { tty: process.stdout.isTTY === true });

  const { createInspectionFromCli } = await import('../inspection.js');
  const inspection = await createInspectionFromCli(cli, io);

  const runtime = runFirstRun({
    stateDir,
    settings,
    backend,
    relaunch: relaunchPlanFor(settings.restart.strategy),
    ...(successor ? { successor } : {}),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    ...(typeof cli.options['app-mode'] === 'string' ? { appMode: cli.options['app-mode'] as 'SLEEPING' } : {}),
    ...(inspection ? { inspect: inspection.inspect } : {}),
    onEvent: (event) => {
      reporter?.onEvent(event as never);
      inspection?.publish(event as never);
    },
    log: (line) => {
      if (!json) io.stderr(line);
    },
  });

  // SIGINT/SIGTERM: the user quitting. Once settled with --stay, they end the process gracefully.
  let stayResolve: (() => void) | null = null;
  const onSignal = () => {
    if (stayResolve) stayResolve();
    else runtime.quit();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: RuntimeResult;
  try {
    result = await runtime.result;
    if (cli.options.stay === true && (result.outcome === 'completed' || result.outcome === 'failed')) {
      if (!json) io.stdout(`[${process.pid}] settled ${result.phase}; staying up until SIGTERM/SIGINT (--stay)`);
      await new Promise<void>((resolveStay) => {
        stayResolve = resolveStay;
      });
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
