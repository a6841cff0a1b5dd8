/**
 * The glue between `runFirstRun` and a {@link createDevRestarter} — what `first-run launch --dev` runs,
 * and what an embedding app can run the same way.
 *
 * Before `runFirstRun` ({@link prepareDevSession}): load the dev module — the app's own code, so a
 * syntax error there is "the new code fails to start", *before* the successor proves itself alive — and,
 * in a process started by a dev restart, read the state file written for its hand-off token.
 * Once the service started (the lock is held): restore (`dev.state_restored`), re-deliver the queued
 * events, run the dev module's setup, start watching.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { AppMode, Phase } from '../../machines/types.js';
import { TRAY_STATUSES } from '../../machines/types.js';
import { DevRestartError, describeValue } from '../errors.js';
import { openJournal, type Journal } from '../journal/index.js';
import type { FirstRunRuntime, RunFirstRunOptions, SuccessorInfo } from '../runtime/run-first-run.js';
import { validateOrchestratorSnapshot } from '../runtime/snapshot.js';
import { phaseOf, type FirstRunService } from '../service/create-first-run-service.js';
import { createDevRestarter, type DevRestarter, type DevRestarterEvent, type DevRestartPlan, type ShutdownHook } from './dev-restarter.js';
import { hasDevState, readDevState, retireDevState, setAsideDevState, type DevStateDocument } from './dev-state-file.js';

/** The input events a dev app may send to the root actor (EV-1); they are queued across a dev restart. */
export type DevInputEvent =
  | { type: 'app.mode_changed'; mode: AppMode }
  | { type: 'tray.quit_clicked' }
  | { type: 'restart.legacy_requested' };

/** What a dev module's default export receives. */
export interface DevApp {
  readonly pid: number;
  readonly stateDir: string;
  /** Whether this process was started by a dev restart (its state was restored). */
  readonly restored: boolean;
  /**
   * The app's own JSON state, kept across dev restarts: mutate it freely; it is saved at every dev
   * restart and handed back here in the next process.
   */
  readonly state: Record<string, unknown>;
  /** Register a shutdown hook (see {@link DevRestarter.onShutdown}). */
  onShutdown(hook: ShutdownHook, name?: string): () => void;
  /** Send an input event to the root actor; queued (and carried to the next process) once a shutdown began. */
  send(event: DevInputEvent): void;
  /** Append an event to the journal (`events.ndjson`). */
  record(type: string, payload?: Record<string, unknown>): void;
  /** The running first-run service. */
  readonly service: FirstRunService;
}

/**
 * A dev module (`launch --dev --dev-module FILE`): an ES module whose default export is called with the
 * {@link DevApp} once the service runs. It is imported before the successor proves itself alive.
 */
export type DevModuleSetup = (app: DevApp) => unknown;

/** Options of {@link prepareDevSession}. */
export interface DevSessionOptions {
  stateDir: string;
  /** Files or directories to watch. */
  watch: readonly string[];
  /** @default 10000 */
  shutdownTimeoutMs?: number;
  /** @default 15000 */
  handoffTimeoutMs?: number;
  /** @default 200 */
  debounceMs?: number;
  /** A dev module to import (path). @default none */
  module?: string;
  /** Set when this process was started by a dev restart (`--dev-restart` and the hand-off flags). */
  restart?: SuccessorInfo;
  /** How the successor is started. @default this process again */
  plan?: DevRestartPlan;
  /** Human-readable progress lines (`[dev] …`). @default nowhere */
  log?: (line: string) => void;
  /** Every dev event, as journaled. */
  onEvent?: (event: { type: string; ts: string; pid: number; [key: string]: unknown }) => void;
}

/** A prepared dev session. */
export interface DevSession {
  /** Spread into `runFirstRun`'s options. */
  readonly runtimeOptions: Pick<RunFirstRunOptions, 'devRestart' | 'snapshotOverride' | 'onStarted' | 'stay'>;
  /** Bind the runtime (call right after `runFirstRun`). */
  attach(runtime: FirstRunRuntime): void;
  /** The restarter, once the service started. */
  readonly restarter: DevRestarter | null;
  /** Resolves once a successor took over (this process then exits). */
  readonly whenHandedOff: Promise<{ newPid: number }>;
  /**
   * Stop watching; cancel a hand-off in flight; the shutdown hooks that have not run yet run first
   * (bounded by the shutdown timeout). Safe to call twice.
   */
  close(): Promise<void>;
}

function isInputEvent(event: unknown): event is DevInputEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { type, mode } = event as { type?: unknown; mode?: unknown };
  if (type === 'app.mode_changed') return typeof mode === 'string' && (TRAY_STATUSES as readonly string[]).includes(mode);
  return type === 'tray.quit_clicked' || type === 'restart.legacy_requested';
}

async function loadDevModule(file: string): Promise<DevModuleSetup> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    const detail = error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 6).join('\n') : String(error);
    throw new DevRestartError(`The dev module ${file} failed to load — the new code does not start:\n${detail}`, { cause: error });
  }
  if (typeof loaded.default !== 'function') {
    throw new DevRestartError(`Expected the dev module ${file} to export a default function (app) => …, got ${describeValue(loaded.default)}.`);
  }
  return loaded.default as DevModuleSetup;
}

/**
 * A stale dev-restart state file (one that no dev restart is waiting for) is never restored: it is moved
 * aside to `dev-restart-state.stale.json`, journaled (`dev.state_ignored`) and reported. Call it with the
 * lock held (a crashed dev session waiting for changes holds the lock and its file is not stale).
 * @returns the new path, or null when there was none.
 */
export function setAsideStaleDevState(stateDir: string, log?: (line: string) => void): string | null {
  if (!hasDevState(stateDir)) return null;
  let moved: string;
  try {
    moved = setAsideDevState(stateDir);
  } catch {
    return null;
  }
  const journal = openJournal({ stateDir });
  try {
    journal.append('dev.state_ignored', { file: moved, reason: 'not started by a dev restart' });
  } finally {
    journal.close();
  }
  log?.(`[dev] ignored a dev-restart state file left by an earlier session (this launch is not a dev restart); moved to ${moved}`);
  return moved;
}

/**
 * Prepare dev mode, before `runFirstRun`: import the dev module, read the state file of a dev restart.
 * @throws DevRestartError when the dev module does not load (journaled as `dev.start_failed`; in a dev
 *   restart this is the failure the old process reports, before any proof of life).
 */
export async function prepareDevSession(options: DevSessionOptions): Promise<DevSession> {
  const stateDir = resolve(options.stateDir);
  const log = options.log ?? (() => {});
  const journal: Journal = openJournal({ stateDir });
  const record = (type: string, payload: Record<string, unknown> = {}) => {
    try {
      journal.append(type, payload);
    } catch {
      // closed after the hand-off
    }
    options.onEvent?.({ ...payload, type, ts: new Date().toISOString(), pid: process.pid });
  };

  let setup: DevModuleSetup | null = null;
  let document: DevStateDocument | null = null;
  let discarded: string | null = null;
  try {
    if (options.module) setup = await loadDevModule(resolve(options.module));
    if (options.restart) {
      document = readDevState(stateDir, options.restart.token);
      if (document.snapshot !== null) {
        try {
          validateOrchestratorSnapshot(document.snapshot);
        } catch (error) {
          // The new machines cannot take the old snapshot: resume from the ledger instead (LG-3 applies there).
          discarded = (error as Error).message;
        }
      }
    }
  } catch (error) {
    record('dev.start_failed', { message: error instanceof Error ? error.message : String(error) });
    journal.close();
    throw error;
  }

  let runtime: FirstRunRuntime | null = null;
  let restarter: DevRestarter | null = null;
  let closed = false;
  let handedOffResolve: (value: { newPid: number }) => void = () => {};
  const whenHandedOff = new Promise<{ newPid: number }>((resolveHandedOff) => {
    handedOffResolve = resolveHandedOff;
  });
  const appState: Record<string, unknown> =
    document && typeof document.app === 'object' && document.app !== null && !Array.isArray(document.app)
      ? (document.app as Record<string, unknown>)
      : {};

  const deliverTo = (service: FirstRunService) => (event: unknown) => {
    if (!isInputEvent(event)) return;
    if (event.type === 'app.mode_changed') service.setAppMode(event.mode);
    else if (event.type === 'tray.quit_clicked') runtime?.quit();
    else service.requestLegacyRestart();
  };

  const onStarted = (service: FirstRunService) => {
    if (closed) return;
    let queued: unknown[] = [];
    if (options.restart && document) {
      // Re-read: the old process adds the events that came in during the hand-off before it releases the lock.
      let latest = document;
      try {
        latest = readDevState(stateDir, options.restart.token);
      } catch {
        // keep what was read before the proof
      }
      queued = latest.events;
      const restoredPhase = discarded === null && latest.snapshot !== null ? safePhase(latest.snapshot) : null;
      if (discarded !== null) record('dev.state_discarded', { reason: discarded });
      record('dev.state_restored', {
        phase: restoredPhase,
        phase_now: service.phase,
        restart_count: service.restartCount,
        saved_restart_count: latest.restartCount,
        events: queued.length,
        from_pid: latest.fromPid,
        source: restoredPhase === null ? 'ledger' : 'dev_state',
      });
      log(
        `[dev] state restored from pid ${latest.fromPid}: phase ${restoredPhase ?? `(ledger) ${service.phase}`}, restart_count ${service.restartCount}, ${queued.length} queued event(s)`,
      );
      retireDevState(stateDir);
    } else {
      setAsideStaleDevState(stateDir, log);
    }

    const rt = runtime;
    if (!rt) throw new DevRestartError('DevSession.attach(runtime) must be called right after runFirstRun().');
    restarter = createDevRestarter({
      stateDir,
      watch: options.watch,
      journal,
      ...(options.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: options.shutdownTimeoutMs } : {}),
      ...(options.handoffTimeoutMs !== undefined ? { handoffTimeoutMs: options.handoffTimeoutMs } : {}),
      ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}),
      ...(options.plan ? { plan: options.plan } : {}),
      saveState: async () => {
        const suspended = await rt.suspend();
        return { snapshot: suspended.snapshot, phase: suspended.phase, restartCount: suspended.restartCount, app: appState };
      },
      releaseLock: () => rt.close(),
      deliver: deliverTo(service),
      postpone: () => {
        // A first-run relaunch in flight owns the hand-off; a dev restart waits for it to end.
        const gate = service.actor.system.get('relaunchGate');
        const value = gate ? String(gate.getSnapshot().value) : 'idle';
        return value === 'committing' || value === 'executing' ? `a first-run relaunch is in flight (gate ${value})` : null;
      },
      onEvent: (event) => {
        options.onEvent?.(event);
        describe(event, log);
      },
    });
    void restarter.whenHandedOff.then((value) => {
      journal.close();
      handedOffResolve(value);
    });
    for (const event of queued) restarter.dispatch(event);

    if (setup) {
      const app: DevApp = {
        pid: process.pid,
        stateDir,
        restored: options.restart !== undefined,
        state: appState,
        onShutdown: (hook, name) => restarter!.onShutdown(hook, name),
        send: (event) => {
          if (!isInputEvent(event)) {
            throw new DevRestartError(
              `Expected an input event (app.mode_changed with a mode of ${TRAY_STATUSES.join('|')}, tray.quit_clicked, restart.legacy_requested), got ${describeValue(event)}.`,
            );
          }
          restarter!.dispatch(event);
        },
        record,
        service,
      };
      Promise.resolve()
        .then(() => setup!(app))
        .catch((error: unknown) => {
          // After the hand-off there is no old process to fall back to: report, keep watching.
          const message = error instanceof Error ? error.message : String(error);
          record('dev.module_failed', { message });
          log(`[dev] the dev module failed: ${message} — waiting for file changes`);
        });
    }
  };

  return {
    runtimeOptions: {
      ...(options.restart ? { devRestart: options.restart } : {}),
      ...(document && document.snapshot !== null && discarded === null ? { snapshotOverride: document.snapshot } : {}),
      onStarted,
      stay: true,
    },
    attach(bound) {
      runtime = bound;
    },
    get restarter() {
      return restarter;
    },
    whenHandedOff,
    async close() {
      if (closed) return;
      closed = true;
      await restarter?.close({ runHooks: true });
      journal.close();
    },
  };
}

function safePhase(snapshot: unknown): Phase | null {
  try {
    return phaseOf((snapshot as { value?: unknown }).value);
  } catch {
    return null;
  }
}

function describe(event: DevRestarterEvent, log: (line: string) => void): void {
  switch (event.type) {
    case 'dev.change_detected':
      log(`[dev] ${event.files.length} file(s) changed: ${event.files.slice(0, 3).join(', ')}${event.files.length > 3 ? ', …' : ''} — restarting`);
      break;
    case 'dev.shutdown_forced':
      log(`[dev] shutdown forced after ${event.timeout_ms} ms (still waiting for: ${event.waiting_for.join(', ')})`);
      break;
    case 'dev.shutdown_hook_failed':
      log(`[dev] shutdown hook "${event.hook}" failed: ${event.message}`);
      break;
    case 'dev.restart_deferred':
      log(`[dev] restart put off: ${event.reason}`);
      break;
    case 'dev.restarted':
      log(`[dev] restarted: pid ${event.old_pid} → ${event.new_pid} in ${event.restart_ms} ms`);
      break;
    case 'dev.restart_failed':
      log(
        `[dev] the new process failed to start (${event.reason}${event.exit_code !== null ? `, exit code ${event.exit_code}` : ''}${event.signal ? `, ${event.signal}` : ''}); the app stays stopped, its state is kept in ${event.state_file} — waiting for file changes`,
      );
      break;
    default:
      break;
  }
}
