import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { runStartDir } from '../fs/state-dir.js';
import { isAbsolute, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PermissionName, PermissionStatus } from '../../machines/types.js';
import { BackendError, BackendUnavailableError, describeValue } from '../errors.js';
import { currentPlatform, isMacOS, type Platform } from '../platform.js';
import {
  MAC_ACTIVATION_WORKER_SOURCE,
  type MacActivationCall,
  type MacActivationRequest,
  type MacActivationWorkerMessage,
} from './macos-activation-worker.js';
import type { PermissionBackend } from './permission-backend.js';
import { PERMISSION_CATALOGUE, PERMISSION_KINDS, permissionKind, settingsUrl } from '../../machines/permissions.js';

/** The package this backend adapts; an `optionalDependency`, present only where it built (macOS). */
export const MAC_PERMISSIONS_PACKAGE = 'node-mac-permissions';

/** How to get a working run without a Mac, quoted in every "unavailable" message. */
const SIM_HINT = 'use the simulated backend instead: `first-run launch --backend sim --sim-db FILE`';

type Catalogue = typeof PERMISSION_CATALOGUE;

/** Map every kind of the catalogue through `pick`. */
function byKind<T>(pick: (name: PermissionName) => T): { [K in PermissionName]: T } {
  return Object.fromEntries(PERMISSION_KINDS.map((name) => [name, pick(name)])) as { [K in PermissionName]: T };
}

/**
 * `node-mac-permissions`' `getAuthStatus` type for each of our permissions (config names → package
 * names), from the catalogue (machines/permissions.ts). Photos is read at the `read-write` level.
 */
export const MAC_AUTH_TYPES = Object.freeze(byKind((name) => PERMISSION_CATALOGUE[name].macAuthType)) as {
  readonly [K in PermissionName]: Catalogue[K]['macAuthType'];
};

/** A `getAuthStatus` type this backend asks for. */
export type MacAuthType = Catalogue[PermissionName]['macAuthType'];

/**
 * Every string `node-mac-permissions@2.5.0`'s `index.d.ts` declares `getAuthStatus` can return, and ours.
 * The native code can also return `'limited'` (photos only, never asked here): like any other string it is
 * refused by {@link normalizeMacAuthStatus} with a {@link BackendError} rather than guessed at.
 */
export const MAC_AUTH_STATUSES = {
  authorized: 'granted',
  denied: 'denied',
  restricted: 'restricted',
  'not determined': 'not_determined',
} as const satisfies Record<string, PermissionStatus>;

/** A status string `getAuthStatus` returns for the permissions we ask about. */
export type MacAuthStatus = keyof typeof MAC_AUTH_STATUSES;

/**
 * The statuses Electron's `systemPreferences.getMediaAccessStatus(mediaType)` documents, and ours.
 * `'unknown'` (Electron could not tell) reads as `not_determined`: the step then asks, which is harmless
 * when the answer is already known (TCC shows a prompt at most once) and never claims a grant it cannot see.
 */
export const ELECTRON_MEDIA_STATUSES = {
  'not-determined': 'not_determined',
  granted: 'granted',
  denied: 'denied',
  restricted: 'restricted',
  unknown: 'not_determined',
} as const satisfies Record<string, PermissionStatus>;

/** A status string Electron's `systemPreferences.getMediaAccessStatus` returns. */
export type ElectronMediaStatus = keyof typeof ELECTRON_MEDIA_STATUSES;

/** One activation: which package function, with which arguments. */
export interface MacActivation {
  /** The package function. */
  call: MacActivationCall;
  /** Its arguments, passed verbatim. */
  args: ReadonlyArray<string | boolean>;
}

/**
 * The call that asks for each permission, from the catalogue (MACOS-NOTES, docs/first-run-flow.md):
 * - microphone, camera: `askFor…Access()` — a promise that never settles if the prompt is ignored;
 * - input_monitoring: `askForInputMonitoringAccess('listen')` — may block its JS thread until answered;
 * - screen_capture: `askForScreenCaptureAccess(false)` — sync; `false` because opening System Settings is
 *   the machine's decision (`openSettings` on `denied`), not a side effect of asking;
 * - accessibility, full_disk_access: sync; no prompt exists, they open System Settings;
 * - calendar `('full')`, photos `('read-write')`, location `('always')`: the access level whose grant
 *   `getAuthStatus` reads as `authorized`;
 * - bluetooth: `null` — 2.5.0 has no call that asks; `activate` opens its System Settings pane.
 */
export const MAC_ACTIVATIONS = Object.freeze(byKind((name) => PERMISSION_CATALOGUE[name].macAsk)) as {
  readonly [K in PermissionName]: Catalogue[K]['macAsk'];
};

/** The System Settings privacy pane of each permission (its catalogue entry's `settingsPane`). */
export const MAC_SETTINGS_URLS = Object.freeze(byKind((name) => settingsUrl(PERMISSION_CATALOGUE[name].settingsPane))) as {
  readonly [K in PermissionName]: string;
};

/** The program that opens a Settings deep link. Absolute, so `PATH` cannot substitute another. */
export const MAC_OPEN_COMMAND = '/usr/bin/open';

/**
 * The part of `node-mac-permissions` this backend uses — the "native layer" a test can fake. Property
 * signatures (not methods) so that assigning the real package's types to it is checked strictly.
 */
export interface MacPermissionsModule {
  getAuthStatus: (authType: MacAuthType) => string;
  askForMicrophoneAccess: () => PromiseLike<unknown>;
  askForInputMonitoringAccess: (accessType: 'listen') => PromiseLike<unknown>;
  askForScreenCaptureAccess: (openPreferences: boolean) => unknown;
  askForAccessibilityAccess: () => unknown;
  // The calls of the other kinds: optional, so a module without one still serves the four of seed 004;
  // asking for a kind whose call is missing fails with a clear error (`activate`).
  askForCameraAccess?: () => PromiseLike<unknown>;
  askForFullDiskAccess?: () => unknown;
  askForContactsAccess?: () => PromiseLike<unknown>;
  askForCalendarAccess?: (accessType: 'full') => PromiseLike<unknown>;
  askForRemindersAccess?: () => PromiseLike<unknown>;
  askForPhotosAccess?: (accessType: 'read-write') => PromiseLike<unknown>;
  askForLocationAccess?: (accessType: 'always') => unknown;
  askForSpeechRecognitionAccess?: () => PromiseLike<unknown>;
  /** Exported by 2.5.0's index.js, though its index.d.ts does not declare it. */
  askForMusicLibraryAccess?: () => PromiseLike<unknown>;
}

const REQUIRED_FUNCTIONS = [
  'getAuthStatus',
  'askForMicrophoneAccess',
  'askForInputMonitoringAccess',
  'askForScreenCaptureAccess',
  'askForAccessibilityAccess',
] as const satisfies ReadonlyArray<keyof MacPermissionsModule>;

/** The child-process handle {@link SettingsSpawner} returns; Node's `ChildProcess` fits. */
export interface SpawnedProcess {
  once(event: 'spawn', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  unref(): void;
}

/** Starts a program with an argv array (no shell). `child_process.spawn` fits. */
export type SettingsSpawner = (command: string, args: readonly string[], options: SpawnOptions) => SpawnedProcess;

/** Remembers whether the Screen Capture dialog was already asked for (FR-4: at most once per launch). */
export interface ScreenCaptureGuard {
  /** `true` the first time (the caller may ask), `false` ever after. */
  claim(): boolean;
  /** Give the claim back: the request never reached the native call. */
  release(): void;
}

/** Create a fresh {@link ScreenCaptureGuard}. The backend's default is one shared by the whole process. */
export function createScreenCaptureGuard(): ScreenCaptureGuard {
  let claimed = false;
  return {
    claim() {
      if (claimed) return false;
      claimed = true;
      return true;
    },
    release() {
      claimed = false;
    },
  };
}

/** Process-wide: two backends in one process still show the Screen Capture dialog at most once. */
const processScreenCaptureGuard = createScreenCaptureGuard();

/** What became of one activation, for logs and the journal. The outcome is still decided by polling. */
export interface MacActivationReport {
  /** The permission asked for. */
  permission: PermissionName;
  /** The package function that asks for it. */
  call: MacActivationCall;
  /**
   * `handed_off`: the worker is making the call; `returned` / `settled`: the call returned or its promise
   * resolved (`value` is what it gave — not an answer to trust, e.g. input monitoring always says
   * `denied`); `failed`: it threw or rejected; `skipped`: Screen Capture was already asked this launch.
   */
  event: 'handed_off' | 'returned' | 'settled' | 'failed' | 'skipped';
  /** For `returned` / `settled`: what the call gave, as a string (`null` for `undefined`). */
  value?: string | null;
  /** For `failed`: the error message. */
  error?: string;
}

/** Options of {@link createMacBackend}. */
export interface MacBackendOptions {
  /**
   * The native layer to read statuses from, instead of loading `modulePath` on this thread. For tests
   * (a fake) and embedders who load the package themselves. Activations still run in a worker, which
   * loads `modulePath`.
   * @default the module loaded from `modulePath`
   */
  module?: MacPermissionsModule;
  /**
   * What to load: a specifier resolved as the host's main script would resolve it ({@link moduleSearchBases}),
   * or an absolute path (an app whose main script cannot be found — an ES module main in a packaged
   * Electron app — passes the package's directory under `process.resourcesPath`; a test points it at an
   * extracted copy of the package whose native binding is faked). Resolved once; the activation worker
   * loads the same resolved file.
   * @default 'node-mac-permissions'
   */
  modulePath?: string;
  /**
   * The platform to assume. Off macOS the backend refuses to exist.
   * @default currentPlatform()
   */
  platform?: Platform;
  /**
   * Starts `/usr/bin/open` for {@link PermissionBackend.openSettings}.
   * @default child_process.spawn
   */
  spawn?: SettingsSpawner;
  /**
   * The Screen Capture once-per-launch guard.
   * @default one guard shared by every backend in this process
   */
  screenCaptureGuard?: ScreenCaptureGuard;
  /**
   * How long `activate()` waits for the worker to start and take the request before it rejects. This
   * only bounds worker start-up and module loading; the call itself is never waited for.
   * @default 10_000
   */
  handoffTimeoutMs?: number;
  /**
   * How long `close()` waits for each worker to terminate. A worker stuck in a native call cannot be
   * interrupted; it is unreferenced, so it does not keep the process alive, and is abandoned.
   * @default 1_000
   */
  closeTimeoutMs?: number;
  /** Told what became of every activation (fire and forget makes this the only way to see failures). */
  onActivationReport?: (report: MacActivationReport) => void;
}

/** The `macos` backend, with the resolved module path its workers load. */
export interface MacBackend extends PermissionBackend {
  readonly name: 'macos';
  /** The file activation workers `require` (`null` when `module` was injected without `modulePath`). */
  readonly modulePath: string | null;
}

/**
 * Normalise a `node-mac-permissions` `getAuthStatus` string to ours.
 * @param value What `getAuthStatus` returned.
 * @param permission For the error message.
 * @throws BackendError for any string not in {@link MAC_AUTH_STATUSES} (e.g. `'limited'`), naming it.
 * @example normalizeMacAuthStatus('not determined') // 'not_determined'
 */
export function normalizeMacAuthStatus(value: unknown, permission?: PermissionName): PermissionStatus {
  if (typeof value === 'string' && Object.hasOwn(MAC_AUTH_STATUSES, value)) {
    return MAC_AUTH_STATUSES[value as MacAuthStatus];
  }
  // A kind's own extra strings (Photos' `limited`: a grant of part of the library).
  const extra: Readonly<Record<string, PermissionStatus>> = (permission && permissionKind(permission).extraMacStatuses) || {};
  if (typeof value === 'string' && Object.hasOwn(extra, value)) return extra[value]!;
  const expected = [...Object.keys(MAC_AUTH_STATUSES), ...Object.keys(extra)];
  throw new BackendError(
    `${MAC_PERMISSIONS_PACKAGE} getAuthStatus(${permission === undefined ? '' : `'${MAC_AUTH_TYPES[permission]}'`}) returned ${describeValue(value)}; expected one of ${expected.map((s) => `'${s}'`).join(', ')}. The package may be a version this backend does not know (it is written against 2.5.0).`,
  );
}

/**
 * Normalise a status from Electron's `systemPreferences.getMediaAccessStatus(mediaType)` to ours, for
 * embedders who read statuses through Electron (see {@link ELECTRON_MEDIA_STATUSES} for `'unknown'`).
 * @param value What Electron returned.
 * @param mediaType For the error message (`'microphone'`, `'screen'`, …).
 * @throws BackendError for a string Electron does not document, naming it.
 * @example normalizeElectronMediaStatus(systemPreferences.getMediaAccessStatus('microphone'))
 */
export function normalizeElectronMediaStatus(value: unknown, mediaType?: string): PermissionStatus {
  if (typeof value === 'string' && Object.hasOwn(ELECTRON_MEDIA_STATUSES, value)) {
    return ELECTRON_MEDIA_STATUSES[value as ElectronMediaStatus];
  }
  throw new BackendError(
    `Electron systemPreferences.getMediaAccessStatus(${mediaType === undefined ? '' : `'${mediaType}'`}) returned ${describeValue(value)}; expected one of ${Object.keys(ELECTRON_MEDIA_STATUSES).map((s) => `'${s}'`).join(', ')}.`,
  );
}

const REBUILD_HINT =
  '`npm rebuild node-mac-permissions` (it is built with node-gyp and needs the Xcode command line tools); in an Electron app rebuild it against Electron\'s headers: `npx @electron/rebuild -f -w node-mac-permissions` (formerly `electron-rebuild`)';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isModuleNotFound(error: unknown, request: string): boolean {
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return false;
  // Only the package itself missing counts; a missing dependency *inside* it is a broken install.
  return error.message.includes(`'${request}'`);
}

interface Loaded {
  module: MacPermissionsModule;
  resolvedPath: string;
}

/** This package's name, to find a copy of the optional dependency npm nested under our own install. */
const OWN_PACKAGE = 'first-run-orchestrator';

/** What the host process says about where it was started from (`process.*`), for {@link moduleSearchBases}. */
export interface HostLocation {
  /** `require.main.filename` of a CommonJS main (`process.mainModule`), bundled or not. */
  mainFilename?: string | undefined;
  /** `process.argv[1]`: the main script of `node main.mjs` (Electron passes the app dir or nothing). */
  argv1?: string | undefined;
  /** The working directory; `undefined` when it is gone. */
  cwd?: string | undefined;
}

function currentHostLocation(): HostLocation {
  // The run's starting directory, not this process's: a relaunched successor starts in `/` (HE-1), and
  // must find the module where its predecessor did. `undefined` when it is gone: the other bases remain.
  const cwd = runStartDir();
  // `process.mainModule` is deprecated in favour of `require.main`, which an ES module has no way to reach.
  return { mainFilename: process.mainModule?.filename, argv1: process.argv[1], cwd };
}

/**
 * The files a bare specifier (`node-mac-permissions`) is resolved from, in order — never this module's own
 * URL: a host's bundler empties `import.meta` (esbuild's CommonJS output) or freezes it at build time
 * (webpack), and a bundled copy of this code has no directory of its own (HE-4). Each base is where a
 * `require()` in the host's main script would look: its main script (`require.main`, else an absolute
 * `argv[1]`), then the working directory. The package is external to any bundle (a native module is), so
 * it is in the app's `node_modules` next to that script.
 */
export function moduleSearchBases(host: HostLocation = currentHostLocation()): string[] {
  const bases: string[] = [];
  if (host.mainFilename && isAbsolute(host.mainFilename)) bases.push(host.mainFilename);
  if (host.argv1 && isAbsolute(host.argv1)) bases.push(host.argv1);
  // A file name inside the directory (createRequire needs a file; it does not have to exist).
  if (host.cwd) bases.push(join(host.cwd, 'noop.js'));
  return [...new Set(bases)];
}

/**
 * `module.createRequire`, reached through `process.getBuiltinModule`: webpack replaces a call of an
 * imported `createRequire` whose argument it cannot evaluate at build time with `undefined` (HE-4).
 */
function createRequire(base: string): NodeJS.Require {
  return process.getBuiltinModule('node:module').createRequire(base);
}

/**
 * Resolve `specifier` from each base (our own install, found from that base, first: a copy nested under it
 * because the app pins another version); the first that finds it wins.
 * @throws the resolution error of the last base tried (MODULE_NOT_FOUND when none has the package).
 */
function resolveFromHost(specifier: string, bases: readonly string[]): string {
  let lastError: unknown = Object.assign(new Error(`Cannot find module '${specifier}' (no main script and no working directory to resolve it from)`), {
    code: 'MODULE_NOT_FOUND',
  });
  for (const base of bases) {
    const require = createRequire(base);
    let ownInstall: string | null = null;
    try {
      ownInstall = require.resolve(`${OWN_PACKAGE}/package.json`);
    } catch {
      // a bundled host has no installed copy of this package: only the base itself
    }
    for (const from of ownInstall ? [createRequire(ownInstall), require] : [require]) {
      try {
        return from.resolve(specifier);
      } catch (error) {
        if (!isModuleNotFound(error, specifier)) throw error;
        lastError = error;
      }
    }
  }
  throw lastError;
}

function resolveModulePath(specifier: string): string {
  const bases = moduleSearchBases();
  try {
    return resolveFromHost(specifier, bases);
  } catch (error) {
    if (isModuleNotFound(error, specifier)) {
      throw new BackendUnavailableError(
        `The macOS backend needs the optional dependency ${MAC_PERMISSIONS_PACKAGE}, which is not installed (${specifier} cannot be resolved from ${bases.join(', ') || 'anywhere: no main script, no working directory'}): npm skips it when its native build fails. Rebuild it with ${REBUILD_HINT}, or pass its path as \`modulePath\`, or ${SIM_HINT}.`,
        { cause: error },
      );
    }
    throw new BackendUnavailableError(
      `The macOS backend cannot resolve ${specifier}: ${errorMessage(error)}. Reinstall ${MAC_PERMISSIONS_PACKAGE} or ${SIM_HINT}.`,
      { cause: error },
    );
  }
}

function assertModuleShape(candidate: unknown, where: string): asserts candidate is MacPermissionsModule {
  const missing = REQUIRED_FUNCTIONS.filter(
    (name) =>
      candidate === null ||
      (typeof candidate !== 'object' && typeof candidate !== 'function') ||
      typeof (candidate as Record<string, unknown>)[name] !== 'function',
  );
  if (missing.length > 0) {
    throw new BackendUnavailableError(
      `${where} does not export ${missing.map((n) => `\`${n}\``).join(', ')} as function${missing.length === 1 ? '' : 's'}; the macOS backend is written against ${MAC_PERMISSIONS_PACKAGE}@2.5.0. Install that version, or ${SIM_HINT}.`,
    );
  }
}

function loadModule(specifier: string): Loaded {
  const resolvedPath = resolveModulePath(specifier);
  let loaded: unknown;
  try {
    loaded = createRequire(resolvedPath)(resolvedPath);
  } catch (error) {
    // Typically `bindings` "Could not locate the bindings file" (the node-gyp build failed or never ran)
    // or ERR_DLOPEN_FAILED / NODE_MODULE_VERSION (built for another Node or Electron).
    throw new BackendUnavailableError(
      `${MAC_PERMISSIONS_PACKAGE} is installed (${resolvedPath}) but failed to load, so its native build is missing or was built for another Node/Electron version: ${errorMessage(error)}. Rebuild it with ${REBUILD_HINT}, or ${SIM_HINT}.`,
      { cause: error },
    );
  }
  assertModuleShape(loaded, resolvedPath);
  return { module: loaded, resolvedPath };
}

/**
 * Asking for a kind beyond seed 004's four needs its call in the loaded module (those are not required
 * at load time, so an older package still serves the four).
 * @throws BackendUnavailableError naming the missing function and the version the backend is written against.
 */
function assertCallAvailable(native: MacPermissionsModule, permission: PermissionName, activation: MacActivation): void {
  if (typeof (native as unknown as Record<string, unknown>)[activation.call] === 'function') return;
  throw new BackendUnavailableError(
    `${MAC_PERMISSIONS_PACKAGE} does not export \`${activation.call}\`, which asks for ${permission}; the macOS backend is written against ${MAC_PERMISSIONS_PACKAGE}@2.5.0. Install that version, or ${SIM_HINT}.`,
  );
}

function assertPositiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds above 0, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Create the `macos` backend over `node-mac-permissions`: statuses are read on this thread (quick, no
 * prompt); every activation runs in its own short-lived worker thread and is fire and forget, so a call
 * that blocks its thread or never settles cannot hold up the orchestrator; Settings panes open through
 * `/usr/bin/open` with an argv array.
 *
 * The package is loaded here, not at import time, so importing this module is safe on any OS.
 * @throws BackendUnavailableError off macOS (naming the `sim` backend), or when the package is missing, fails
 *   to load (saying how to rebuild it), or lacks a function this backend calls.
 * @throws TypeError for an invalid option, naming it.
 * @example
 * const backend = createMacBackend();
 * if ((await backend.getStatus('microphone')) === 'not_determined') await backend.activate('microphone');
 */
export function createMacBackend(options: MacBackendOptions = {}): MacBackend {
  const platform = options.platform ?? currentPlatform();
  if (!isMacOS(platform)) {
    throw new BackendUnavailableError(
      `The macOS backend needs macOS (TCC and ${MAC_PERMISSIONS_PACKAGE} exist only there); this platform is ${platform}. To run the first-run flow here, ${SIM_HINT}.`,
    );
  }
  const handoffTimeoutMs = assertPositiveMs('handoffTimeoutMs', options.handoffTimeoutMs, 10_000);
  const closeTimeoutMs = assertPositiveMs('closeTimeoutMs', options.closeTimeoutMs, 1_000);
  const spawn: SettingsSpawner = options.spawn ?? nodeSpawn;
  const guard = options.screenCaptureGuard ?? processScreenCaptureGuard;
  const report = options.onActivationReport ?? (() => {});

  let native: MacPermissionsModule;
  let workerModulePath: string | null;
  if (options.module !== undefined) {
    assertModuleShape(options.module, 'The injected `module`');
    native = options.module;
    workerModulePath = options.modulePath === undefined ? null : resolveModulePath(options.modulePath);
  } else {
    const loaded = loadModule(options.modulePath ?? MAC_PERMISSIONS_PACKAGE);
    native = loaded.module;
    workerModulePath = loaded.resolvedPath;
  }

  const workers = new Set<Worker>();
  let closed = false;

  function assertOpen(what: string): void {
    if (closed) throw new BackendError(`The macOS backend was closed; cannot ${what}.`);
  }

  function startActivation(permission: PermissionName, activation: MacActivation, modulePath: string): Promise<void> {
    const request: MacActivationRequest = { modulePath, call: activation.call, args: activation.args };
    const base = { permission, call: activation.call } as const;
    return new Promise<void>((resolve, reject) => {
      let handedOff = false;
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      let worker: Worker;
      try {
        // execArgv: [] — the call needs no loaders or inspector flags from the host process.
        worker = new Worker(MAC_ACTIVATION_WORKER_SOURCE, { eval: true, workerData: request, execArgv: [] });
      } catch (error) {
        if (activation.call === 'askForScreenCaptureAccess') guard.release();
        reject(new BackendError(`Could not start a worker thread to ask for ${permission}: ${errorMessage(error)}`, { cause: error }));
        return;
      }
      workers.add(worker);
      const timer = setTimeout(() => {
        settle(
          new BackendError(
            `The worker asking for ${permission} did not take the request within ${handoffTimeoutMs} ms (loading ${modulePath}); it was stopped. The step's timebox and polling go on.`,
          ),
        );
        void worker.terminate().catch(() => {});
      }, handoffTimeoutMs);

      worker.on('message', (message: MacActivationWorkerMessage) => {
        switch (message.type) {
          case 'calling':
            handedOff = true;
            // From here the worker may hang for good: it must not keep the process alive.
            worker.unref();
            report({ ...base, event: 'handed_off' });
            settle();
            return;
          case 'returned':
          case 'settled':
            report({ ...base, event: message.type, value: message.value });
            return;
          case 'failed':
            report({ ...base, event: 'failed', error: message.message });
            if (message.stage === 'load') {
              // The native call was never made: the Screen Capture dialog was not shown.
              if (activation.call === 'askForScreenCaptureAccess') guard.release();
              settle(
                new BackendError(`The worker asking for ${permission} could not load ${modulePath}: ${message.message}`),
              );
            }
            return;
        }
      });
      worker.on('error', (error) => {
        report({ ...base, event: 'failed', error: errorMessage(error) });
        if (!handedOff) settle(new BackendError(`The worker asking for ${permission} failed: ${errorMessage(error)}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        workers.delete(worker);
        if (!handedOff) settle(new BackendError(`The worker asking for ${permission} exited (code ${code}) before taking the request.`));
      });
    });
  }

  const backend: MacBackend = {
    name: 'macos',
    modulePath: workerModulePath,

    async getStatus(permission) {
      assertOpen(`read ${permission}`);
      const authType = MAC_AUTH_TYPES[permission];
      let raw: unknown;
      try {
        raw = native.getAuthStatus(authType);
      } catch (error) {
        throw new BackendError(`${MAC_PERMISSIONS_PACKAGE} getAuthStatus('${authType}') threw: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      return normalizeMacAuthStatus(raw, permission);
    },

    async activate(permission) {
      assertOpen(`ask for ${permission}`);
      const activation: MacActivation | null = MAC_ACTIVATIONS[permission];
      // No call asks for it (Bluetooth in 2.5.0): its System Settings pane is the only way.
      if (activation === null) return backend.openSettings(permission);
      assertCallAvailable(native, permission, activation);
      // Resolved before the guard is claimed: a failure here must not use up the Screen Capture dialog.
      const modulePath = workerModulePath ?? (workerModulePath = resolveModulePath(MAC_PERMISSIONS_PACKAGE));
      if (permission === 'screen_capture' && !guard.claim()) {
        report({ permission, call: activation.call, event: 'skipped' });
        return;
      }
      await startActivation(permission, activation, modulePath);
    },

    async openSettings(permission) {
      assertOpen(`open System Settings for ${permission}`);
      const url = MAC_SETTINGS_URLS[permission];
      await new Promise<void>((resolve, reject) => {
        let child: SpawnedProcess;
        try {
          child = spawn(MAC_OPEN_COMMAND, [url], { detached: true, stdio: 'ignore' });
        } catch (error) {
          reject(new BackendError(`Could not run ${MAC_OPEN_COMMAND} ${url}: ${errorMessage(error)}`, { cause: error }));
          return;
        }
        // Kept for the child's life: an 'error' event without a listener would be an uncaught exception.
        child.on('error', (error) => {
          reject(new BackendError(`Could not run ${MAC_OPEN_COMMAND} ${url}: ${errorMessage(error)}`, { cause: error }));
        });
        child.once('spawn', () => {
          child.unref();
          resolve();
        });
      });
    },

    async close() {
      closed = true;
      const pending = [...workers];
      workers.clear();
      await Promise.all(
        pending.map((worker) => {
          worker.unref();
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, closeTimeoutMs);
            timer.unref();
          });
          return Promise.race([worker.terminate().then(() => undefined, () => undefined), timeout]).finally(() =>
            clearTimeout(timer),
          );
        }),
      );
    },
  };
  return backend;
}
