/**
 * A plain Node process embedding the first-run orchestrator: `electron-main.ts` without Electron (no
 * tray, no dialogs), the smallest complete host. The project's CI installs the packed tarball into a
 * fresh project, compiles this file there and runs it through one real relaunch to COMPLETED;
 * docs/embedding.md quotes it.
 *
 *     node node-main.js --state-dir DIR [--sim-db FILE] [--config FILE]
 *
 * It prints one JSON line per process with the run's result. The successor (started by the relaunch
 * with the same arguments plus `--successor-of PID --handoff-token TOKEN`) inherits this process's
 * stdout and stderr, so its line lands in the same place.
 */
// #region node-imports
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEMO_SCENARIO,
  FirstRunError,
  LockAcquisitionError,
  createSimBackend,
  defaultStateDir,
  isMacOS,
  loadBackend,
  loadConfig,
  readSuccessorInfo,
  runFirstRun,
  writeScenario,
  type PermissionBackend,
  type RelaunchPlan,
  type RuntimeResult,
} from 'first-run-orchestrator';
// #endregion node-imports

// #region node-main
async function main(): Promise<RuntimeResult> {
  // `strict: false`: the successor also gets `--successor-of`/`--handoff-token`, read below.
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { 'state-dir': { type: 'string' }, 'sim-db': { type: 'string' }, config: { type: 'string' } },
    strict: false,
  });
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : defaultStateDir(process.env, homedir());
  // Only `integrations.permissions_v2` is read; no file (or a missing one) means the defaults.
  const { settings: configured } = await loadConfig(typeof values.config === 'string' ? { file: values.config } : {});

  // Re-spawn this same script with the same arguments (the runtime adds the successor flags).
  const plan: RelaunchPlan = {
    strategy: 'node',
    execPath: process.execPath,
    execArgv: process.execArgv,
    entry: path.resolve(process.argv[1] ?? 'node-main.js'),
    args: process.argv.slice(2),
  };
  const settings = { ...configured, restart: { ...configured.restart, strategy: plan.strategy } };

  let backend: PermissionBackend;
  if (typeof values['sim-db'] === 'string') {
    backend = createSimBackend({ file: values['sim-db'] }); // the simulated TCC (docs/sim-backend.md)
  } else if (isMacOS()) {
    backend = await loadBackend({ kind: 'macos' }); // the real TCC (node-mac-permissions)
  } else {
    const file = path.join(stateDir, 'sim-tcc.json');
    if (!existsSync(file)) await writeScenario(file, DEMO_SCENARIO); // kept across the relaunch
    backend = createSimBackend({ file });
  }

  const runtime = runFirstRun({
    stateDir,
    settings,
    backend,
    relaunch: plan,
    successor: readSuccessorInfo(process.argv), // undefined unless a relaunch started this process
    log: (line) => console.error(line),
  });
  process.once('SIGINT', () => runtime.quit()); // the user's quit: a pending restart is cancelled
  process.once('SIGTERM', () => runtime.quit());
  try {
    return await runtime.result;
  } finally {
    await runtime.close();
    await backend.close?.();
  }
}

main().then(
  (result) => {
    // completed | failed: run the app; handed_off: the successor runs it; quit | cancelled_successor: exit.
    console.log(JSON.stringify({ pid: process.pid, outcome: result.outcome, phase: result.phase, restart_count: result.restartCount }));
  },
  (error: unknown) => {
    if (error instanceof LockAcquisitionError) process.exitCode = 3; // another instance holds the state dir
    else process.exitCode = 1;
    console.error(error instanceof FirstRunError ? `${error.message} (${error.code})` : error);
  },
);
// #endregion node-main
