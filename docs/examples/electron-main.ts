/**
 * An Electron main process (macOS tray app, a voice assistant) embedding the first-run orchestrator.
 * Quoted region by region in docs/embedding.md. The project's CI installs the packed package and
 * Electron 33's own type declarations into a fresh project and compiles this file there, strictly, under
 * `module: node16`/`nodenext` (as ESM and as CommonJS) and `moduleResolution: bundler`.
 *
 * What it shows: the first run is awaited before the voice/audio chains start; the tray icon is drawn
 * from `tray.status_updated`; Quit in the tray menu is the user's quit (`tray.quit_clicked`); the relaunch
 * strategy follows the packaging (`bundle` = `open -n -a <App.app>` when packaged, `node` under
 * `electron .`); the state lives in `~/Library/Application Support/<App>/first-run/`; the macOS backend is
 * used on a Mac, the simulated one in development and CI; everything shuts down cleanly on `before-quit`.
 */
// #region imports
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { app, autoUpdater, dialog, Menu, nativeImage, Tray } from 'electron';
import {
  BackendUnavailableError,
  createMacBackend,
  createSimBackend,
  DEMO_SCENARIO,
  FirstRunError,
  isMacOS,
  loadConfig,
  LockAcquisitionError,
  readSuccessorInfo,
  runFirstRun,
  TRAY_COLORS,
  writeScenario,
  type AppMode,
  type FirstRunEventPayloads,
  type FirstRunRuntime,
  type PermissionBackend,
  type RelaunchPlan,
  type TrayStatus,
} from 'first-run-orchestrator';
// #endregion imports

// #region state-dir
/**
 * `~/Library/Application Support/<App>/first-run/` (Electron's `userData` is
 * `~/Library/Application Support/<productName>`). A sub-directory, because the orchestrator makes its
 * state dir 0700 and owns everything in it: ledger, journal, lock, flags.
 */
function firstRunStateDir(): string {
  return path.join(app.getPath('userData'), 'first-run');
}
// #endregion state-dir

// #region backend
/**
 * The real TCC on a Mac (`node-mac-permissions`); the simulated TCC in development and CI — but never
 * silently in a packaged app, where a missing native module is a build bug to surface, not to hide.
 */
async function createBackend(stateDir: string): Promise<PermissionBackend> {
  const wantSim = process.env.FIRST_RUN_BACKEND === 'sim' || !isMacOS();
  if (!wantSim) {
    try {
      return createMacBackend({
        onActivationReport: (report) => console.log(`[first-run] ${report.permission}: ${report.call} ${report.event}`),
      });
    } catch (error) {
      if (app.isPackaged || !(error instanceof BackendUnavailableError)) throw error;
      console.warn(`[first-run] ${error.message}\n[first-run] Falling back to the simulated TCC backend (dev only).`);
    }
  }
  const file = process.env.FIRST_RUN_SIM_DB ?? path.join(stateDir, 'sim-tcc.json');
  if (!existsSync(file)) await writeScenario(file, DEMO_SCENARIO); // see docs/sim-backend.md
  return createSimBackend({ file });
}
// #endregion backend

// #region relaunch-plan
/**
 * How to start this app again, per packaging:
 * - packaged: `bundle` — `/usr/bin/open -n -a /Applications/Nexy.app --args …`, so LaunchServices starts
 *   the successor as the app itself (TCC attributes grants to the bundle's signature, not to us);
 * - `electron .` in development: `node` — the same Electron binary, app path and arguments.
 * The runtime appends `--successor-of <pid> --handoff-token <token>` to the arguments.
 */
function relaunchPlan(): RelaunchPlan {
  if (app.isPackaged) {
    // process.execPath is /Applications/Nexy.app/Contents/MacOS/Nexy
    const appPath = path.resolve(process.execPath, '..', '..', '..');
    return { strategy: 'bundle', appPath, args: process.argv.slice(1) };
  }
  return {
    strategy: 'node',
    execPath: process.execPath, // …/node_modules/electron/dist/Electron.app/Contents/MacOS/Electron
    execArgv: process.execArgv,
    entry: app.getAppPath(), // what `electron .` was given, as an absolute path
    args: process.argv.slice(2),
  };
}
// #endregion relaunch-plan

// #region tray
type TrayUpdate = FirstRunEventPayloads['tray.status_updated'];

/** One PNG per status, with and without the red lock badge: `assets/tray/listening-lock.png`, … */
function trayIcon(status: TrayStatus, overlay: string | null) {
  const file = `${status.toLowerCase()}${overlay === 'lock' ? '-lock' : ''}.png`;
  return nativeImage.createFromPath(path.join(app.getAppPath(), 'assets', 'tray', file));
}

function drawTray(tray: Tray, update: TrayUpdate): void {
  tray.setImage(trayIcon(update.status, update.overlay));
  tray.setToolTip(update.overlay === 'lock' ? `${app.getName()} — setting up permissions` : `${app.getName()} — ${update.status.toLowerCase()}`);
}
// #endregion tray

// #region voice
/** Stand-in for the app's voice/audio chains (wake word, microphone capture, STT…), which need the grants. */
interface VoiceChains {
  stop(): Promise<void>;
}
function startVoiceChains(onModeChange: (mode: AppMode) => void): VoiceChains {
  onModeChange('LISTENING');
  return { stop: async () => onModeChange('SLEEPING') };
}
// #endregion voice

async function main(): Promise<void> {
  await app.whenReady();
  // #region start
  const stateDir = firstRunStateDir();
  // The app's own config file; only `integrations.permissions_v2` is read. Missing = the defaults.
  // `packaged`: a shipped app refuses the development-only NEXY_DEV_FORCE_PERMISSIONS (ERR_CONFIG).
  const { settings: configured } = await loadConfig({ file: path.join(app.getAppPath(), 'config.json'), packaged: app.isPackaged });
  const plan = relaunchPlan();
  // The plan decides the strategy; keep the settings (journaled, checked by the runtime) in step with it.
  const settings = { ...configured, restart: { ...configured.restart, strategy: plan.strategy } };

  const tray = new Tray(trayIcon('SLEEPING', 'lock'));
  let lastTray = null as TrayUpdate | null; // (`as`: it is assigned in a callback)

  const runtime: FirstRunRuntime = runFirstRun({
    stateDir,
    settings,
    backend: await createBackend(stateDir),
    relaunch: plan,
    successor: readSuccessorInfo(process.argv), // set when this process is the relaunched successor
    appMode: 'SLEEPING',
    log: (line) => console.log(line), // `[PERMISSION_RESTART] Restart requested`
    onEvent: (event) => {
      // Every contract event (and the runtime's own), already journaled to events.ndjson.
      if (event.type === 'tray.status_updated') drawTray(tray, (lastTray = event as TrayUpdate));
    },
  });
  // #endregion start

  // #region busy
  // Restart safety: while the app is busy — a voice session, an update download — a restart that
  // comes due waits for idle (`restart.deferred`, at most `restart.max_defer_s`). A quit still cancels a
  // deferred restart at once, so the shutdown bound below needs no room for `max_defer_s`.
  // (One call per event: Electron types `autoUpdater.on` with an overload per event, not a union.)
  autoUpdater.on('checking-for-update', () => runtime.setBusy(true));
  autoUpdater.on('update-not-available', () => runtime.setBusy(false));
  autoUpdater.on('update-downloaded', () => runtime.setBusy(false));
  autoUpdater.on('error', () => runtime.setBusy(false));
  // #endregion busy

  // #region quit
  let voice: VoiceChains | null = null;
  let shuttingDown: Promise<void> | null = null;
  /** Idempotent: the tray's Quit, Cmd-Q, the Dock, logout all end here. */
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      runtime.quit(); // = tray.quit_clicked: USER_QUIT_INTENT, a pending restart is cancelled
      await voice?.stop();
      // Let a hand-off in flight finish or be cancelled (bounded by handoff_timeout_s), then persist + unlock.
      const bound = settings.restart.handoffTimeoutMs + settings.restart.delayMs + 5_000;
      await Promise.race([runtime.result.catch(() => {}), new Promise((resolve) => setTimeout(resolve, bound))]);
      await runtime.close();
      tray.destroy();
    })());

  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: `Quit ${app.getName()}`, click: () => app.quit() }, // before-quit → shutdown()
    ]),
  );
  let shutDown = false;
  app.on('before-quit', (event) => {
    if (shutDown) return;
    event.preventDefault(); // finish the shutdown first, then quit for real
    void shutdown().finally(() => {
      shutDown = true;
      app.quit();
    });
  });
  app.on('window-all-closed', () => {
    // A tray app keeps running without windows.
  });
  // #endregion quit

  // #region await
  // The voice/audio chains need the grants: start them only once the first run has settled.
  const result = await runtime.result;
  switch (result.outcome) {
    case 'handed_off': // the successor proved itself alive and now holds the lock: leave at once
    case 'cancelled_successor': // we were a successor that came too late; the predecessor kept running
      app.exit(0);
      return;
    case 'quit': // the user quit during first-run: no restart, no voice
      app.quit();
      return;
    case 'completed':
    case 'failed': // a hard permission is still missing: run what can run, the tray says the rest
      if (result.warnings.length > 0) console.warn(`[first-run] ${result.outcome} with warnings: ${result.warnings.join(', ')}`);
      break;
  }
  // #endregion await

  // #region app-mode
  // The runtime stopped the service when the run settled, so from here on the app draws its own mode,
  // with the same three statuses and colours the tray actor uses.
  const followMode = (mode: AppMode) => {
    drawTray(tray, { status: mode, color: TRAY_COLORS[mode], overlay: null, overlay_color: null });
  };
  if (lastTray?.overlay) followMode(lastTray.status);
  voice = startVoiceChains(followMode);
  // #endregion app-mode
}

// #region errors
main().catch((error: unknown) => {
  if (error instanceof LockAcquisitionError) {
    // Another instance of the app holds the state dir (the single-instance lock): this launch is the duplicate.
    console.error(error.message);
    app.exit(3);
    return;
  }
  // ConfigError lists every bad key; BackendUnavailableError says how to rebuild node-mac-permissions.
  const message = error instanceof FirstRunError ? `${error.message}\n(${error.code})` : String(error);
  dialog.showErrorBox(`${app.getName()} cannot start`, message);
  app.exit(1);
});
// #endregion errors
