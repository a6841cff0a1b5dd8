/**
 * `runFirstRun` — the whole client-process behaviour of SPEC §4 `launch`, as a library call: the
 * instance lock, the ledger (restore, recover, safe mode), the journal, the service, the relaunch
 * hand-off, graceful quit. The CLI's `launch` is a thin shell over it; an embedding app calls it the
 * same way.
 *
 * Order of a launch:
 * 1. successor only: prove alive (hand-off file), then WAIT for the lock (the old process releases it
 *    only after seeing the proof);
 * 2. take the instance lock (or exit 3 / throw `LockAcquisitionError` naming the holder);
 * 3. load the ledger — only the lock holder reads it, so it sees the predecessor's last generation;
 * 4. start the service (restored or fresh) and send `runtime.booted`;
 * 5. settle: COMPLETED / FAILED / quit → persist, release, done; handed off → persist, release, exit so
 *    the successor (waiting for the lock) takes over.
 */
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { InspectionEvent, Observer } from 'xstate';
import type { AppMode, OrchestratorSettings, Phase } from '../../machines/types.js';
import type { PermissionBackend } from '../backend/permission-backend.js';
import { FirstRunError, LockAcquisitionError, RelaunchError } from '../errors.js';
import { openJournal, type Journal } from '../journal/index.js';
import { openLedgerStore, type LedgerLoadResult, type LedgerStore } from '../ledger/index.js';
import { acquireInstanceLock, type InstanceLockHandle } from '../lock/index.js';
import {
  createFirstRunService,
  type FirstRunService,
  type SettledResult,
} from '../service/create-first-run-service.js';
import type { FirstRunEvent, FirstRunEventType } from '../service/events.js';
import { createFaultHook } from './fault-injection.js';
import { clearHandoff, findPendingSuccessor, isHandoffCancelled, writeAliveProof } from './handoff.js';
import { assertStrategyAvailable, createProcessRelauncher, type RelaunchPlan } from './relauncher.js';
import { safeModeSnapshot, validateOrchestratorSnapshot } from './snapshot.js';
import { orchestratorDurableProjection } from './durable-projection.js';

/** Set when this process was started by a relaunch. */
export interface SuccessorInfo {
  /** PID of the process that started us. */
  predecessorPid: number;
  /** The one-time token of the hand-off. */
  token: string;
}

export interface RunFirstRunOptions {
  /** The state dir: ledger, journal, lock, flags. Created 0700 when missing. */
  stateDir: string;
  settings: OrchestratorSettings;
  backend: PermissionBackend;
  /** How to start this app again (its strategy must match `settings.restart.strategy`). */
  relaunch: RelaunchPlan;
  /** Present when this process is a relaunched successor. */
  successor?: SuccessorInfo;
  /** Wait up to this long for the lock instead of failing at once. @default 0 (a successor waits handoff + 30 s) */
  lockTimeoutMs?: number;
  appMode?: AppMode;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Every contract and runtime event, as journaled. */
  onEvent?: (event: RuntimeEvent) => void;
  /** `[PERMISSION_RESTART] …` log lines. */
  log?: (line: string) => void;
  /** A dev restart's saved state to resume from instead of the ledger (never touches restart_count). */
  snapshotOverride?: unknown;
  /**
   * Keep the lock and the service (the tray actor, app-mode input) running after COMPLETED/FAILED,
   * like an app that goes on (`launch --stay`); they end with `close()`. A hand-off or a quit still ends
   * the run. @default false
   */
  stay?: boolean;
  /**
   * Dev mode (DV-1): this process was started by a dev restart. The same hand-off as a relaunch — prove
   * alive, then wait for the lock — but journaled as `dev.successor_*`, never `restart.*`, and it is not a
   * first-run successor (no `restart_completed.flag`). @default undefined
   */
  devRestart?: SuccessorInfo;
  /** Called once the service started (the lock is held; a restored snapshot got `runtime.booted`). */
  onStarted?: (service: FirstRunService) => void;
}

/** What {@link FirstRunRuntime.suspend} hands back: the root snapshot taken while the actor was active. */
export interface SuspendedState {
  /** The persisted root snapshot (restorable), or null when the service was not running. */
  snapshot: unknown;
  phase: Phase | null;
  restartCount: number | null;
}

/** An event of the runtime: a contract event, or a runtime one (`instance.*`, `ledger.*`, `restart.handoff_*`). */
export type RuntimeEvent = FirstRunEvent | { type: string; ts: string; pid: number; [key: string]: unknown };

export type RuntimeOutcome = SettledResult['outcome'] | 'cancelled_successor' | 'suspended';

export interface RuntimeResult {
  outcome: RuntimeOutcome;
  phase: Phase | null;
  restartCount: number;
  warnings: string[];
  /** How the ledger was found at start. */
  ledger: LedgerLoadResult['kind'] | null;
}

export interface FirstRunRuntime {
  /** Resolves when this process is done with the first run (settled, handed off, or quit). */
  readonly result: Promise<RuntimeResult>;
  /** The service, once started (after the lock). */
  readonly service: FirstRunService | null;
  /** Subscribe to every journaled event (contract and runtime), from before the lock is taken. */
  on(listener: (event: RuntimeEvent) => void): () => void;
  /** Subscribe to one contract event type, typed (e.g. `tray.status_updated`). */
  on<T extends FirstRunEventType>(type: T, listener: (event: FirstRunEvent<T>) => void): () => void;
  /** The user quits (SIGINT/SIGTERM, the tray's Quit). */
  quit(): void;
  /** Stop everything, persist, release the lock. Safe to call twice. */
  close(): Promise<void>;
  /**
   * Dev mode (DV-1): stop the service — which persists the ledger — but keep the instance lock until
   * `close()`, and hand back the root snapshot taken just before the actor stopped. `result` resolves
   * with outcome `suspended` when the run had not settled yet.
   */
  suspend(): Promise<SuspendedState>;
}

/**
 * Run the first run in this process.
 * @throws LockAcquisitionError (from `result`) when another live process holds the lock.
 */
export function runFirstRun(options: RunFirstRunOptions): FirstRunRuntime {
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const journal: Journal = openJournal({ stateDir: options.stateDir });
  const listeners = new Set<(event: RuntimeEvent) => void>();
  if (options.onEvent) listeners.add(options.onEvent);
  const onEvent = (event: RuntimeEvent) => {
    for (const listener of listeners) listener(event);
  };
  let journalOpen = true;
  const afterJournalLine = createFaultHook(options.successor ? 'successor' : 'first');
  const append = (type: string, payload: Record<string, unknown>) => {
    if (!journalOpen) return;
    journal.append(type, payload);
    afterJournalLine();
  };
  const record = (type: string, payload: Record<string, unknown> = {}) => {
    append(type, payload);
    onEvent({ type, ts: new Date().toISOString(), pid: process.pid, ...payload });
  };
  const recordingJournal = { append: (type: string, payload?: Record<string, unknown>) => record(type, payload ?? {}) };

  let lock: InstanceLockHandle | null = null;
  let store: LedgerStore | null = null;
  let service: FirstRunService | null = null;
  let quitRequested = false;
  let closed = false;
  // Dev mode: `suspend()` stops the service but keeps the lock (released by `close()` after the hand-off).
  let suspending = false;
  let suspendedState: Promise<SuspendedState> | null = null;
  let resolveSuspended: () => void = () => {};
  const suspended = new Promise<'suspended'>((resolve) => {
    resolveSuspended = () => resolve('suspended');
  });
  let stopped: Promise<void> | null = null;
  const stopServiceAndStore = () => {
    stopped ??= (async () => {
      if (service) await service.stop();
      if (store) await store.close();
    })();
    return stopped;
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await stopServiceAndStore();
    } finally {
      if (lock) {
        const released = await lock.release();
        record('instance.lock_released', { reason: released.reason });
      }
      journalOpen = false;
      journal.close();
    }
  };

  const run = async (): Promise<RuntimeResult> => {
    assertStrategyAvailable(options.settings.restart.strategy);
    if (options.relaunch.strategy !== options.settings.restart.strategy) {
      throw new RelaunchError(
        `The relaunch plan is for strategy "${options.relaunch.strategy}" but restart.strategy is "${options.settings.restart.strategy}"; build the plan for the configured strategy.`,
      );
    }
    const handoffMs = options.settings.restart.handoffTimeoutMs;
    // A dev restart uses the same hand-off, journaled under its own names (it is never a first-run restart).
    const handoff = options.successor ?? options.devRestart;
    const handoffKind = options.successor ? 'restart' : 'dev';
    if (handoff) {
      writeAliveProof(options.stateDir, handoff.token);
      record(`${handoffKind}.successor_started`, { predecessor_pid: handoff.predecessorPid });
    }
    const started = Date.now();
    // A successor waits: the predecessor holds the lock until it has seen our proof.
    const lockTimeoutMs = options.lockTimeoutMs ?? (handoff ? handoffMs + 30_000 : 0);
    const successorToken = handoff?.token;
    lock = await acquireInstanceLock({ stateDir: options.stateDir, timeoutMs: lockTimeoutMs }).catch((error: unknown) => {
      // A late successor whose predecessor gave up (and kept running) must not run at all.
      if (successorToken && isHandoffCancelled(options.stateDir, successorToken)) return null;
      record('instance.lock_conflict', { message: error instanceof Error ? error.message : String(error) });
      throw error;
    });
    if (lock === null || (successorToken && isHandoffCancelled(options.stateDir, successorToken))) {
      record(`${handoffKind}.successor_cancelled`, { predecessor_pid: handoff?.predecessorPid ?? null });
      return { outcome: 'cancelled_successor', phase: null, restartCount: 0, warnings: [], ledger: null };
    }
    if (!handoff) {
      const pending = findPendingSuccessor(options.stateDir);
      if (pending) {
        // We slipped into the hand-off gap: the lock belongs to the successor that is waiting for it.
        const yielded = lock;
        lock = null;
        await yielded.release();
        record('instance.lock_yielded', { successor_pid: pending.pid });
        throw new LockAcquisitionError(
          yielded.lockPath,
          { pid: pending.pid, host: yielded.owner.host, startedAt: 'unknown' },
          `Another instance is taking over ${options.stateDir}: the relaunched successor (pid ${pending.pid}) is waiting for the instance lock ${yielded.lockPath}. This launch exits; use the running app.`,
        );
      }
    }
    record('instance.lock_acquired', { waited_ms: Date.now() - started, token: lock.owner.token.slice(0, 8) });
    if (successorToken) clearHandoff(options.stateDir, successorToken);
    lock.onCompromised((error) => {
      record('instance.lock_compromised', { message: error.message });
      // Never write on after losing the lock: stop at once; the ledger keeps its last good generation.
      void service?.stop();
    });

    const heldLock = lock;
    store = openLedgerStore({
      stateDir: options.stateDir,
      validateSnapshot: validateOrchestratorSnapshot,
      durableProjection: orchestratorDurableProjection,
      journal: recordingJournal,
      assertWriter: () => heldLock.assertHeld(),
    });
    const loaded = store.load();
    record('ledger.loaded', { kind: loaded.kind, generation: loaded.generation, problems: loaded.problems.length });
    const bootId = randomUUID();
    let snapshot: unknown;
    if (options.snapshotOverride !== undefined) snapshot = options.snapshotOverride;
    else if (loaded.kind === 'safe_mode') snapshot = safeModeSnapshot(options.settings, bootId);
    else snapshot = loaded.snapshot ?? undefined;

    const ledgerStore = store;
    const relauncher = createProcessRelauncher({
      stateDir: options.stateDir,
      plan: options.relaunch,
      handoffTimeoutMs: handoffMs,
      onEvent: record,
      beforeExecve: () => heldLock.releaseSync(),
    });
    service = createFirstRunService({
      settings: options.settings,
      backend: options.backend,
      bootId,
      snapshot,
      persist: (persisted, summary) => ledgerStore.commit(persisted, summary),
      relauncher,
      ...(options.appMode ? { appMode: options.appMode } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    service.on('*', (event) => {
      const { ts: _ts, pid: _pid, type, ...payload } = event as FirstRunEvent & Record<string, unknown>;
      append(type, payload);
      onEvent(event);
      if (type === 'permissions.first_run_completed') void ledgerStore.writeFlags({ firstRunCompleted: true });
      if (type === 'permissions.v2.phase' && payload.phase === 'POST_RESTART_VERIFY' && options.successor) {
        void ledgerStore.writeFlags({ restartCompleted: true });
      }
    });
    if (suspending) return { outcome: 'suspended', phase: null, restartCount: 0, warnings: [], ledger: loaded.kind };
    service.start();
    if (quitRequested) service.quit();
    options.onStarted?.(service);
    const settled = await Promise.race([service.whenSettled(), suspended]);
    await ledgerStore.flush();
    if (settled === 'suspended') {
      return { outcome: 'suspended', phase: service.phase, restartCount: service.restartCount, warnings: [], ledger: loaded.kind };
    }
    return { ...settled, ledger: loaded.kind };
  };

  const result = run().then(
    async (outcome) => {
      const staying = options.stay === true && (outcome.outcome === 'completed' || outcome.outcome === 'failed');
      // Suspended (a dev restart): the service is stopped, the lock stays ours until close().
      if (outcome.outcome === 'suspended' && !closed) await stopServiceAndStore();
      else if (!staying) await close();
      return outcome;
    },
    async (error: unknown) => {
      await close();
      throw error;
    },
  );
  return {
    result,
    get service() {
      return service;
    },
    on(typeOrListener: string | ((event: RuntimeEvent) => void), listener?: (event: never) => void) {
      const wrapped =
        typeof typeOrListener === 'function'
          ? typeOrListener
          : (event: RuntimeEvent) => {
              if (event.type === typeOrListener) (listener as (event: RuntimeEvent) => void)(event);
            };
      listeners.add(wrapped);
      return () => listeners.delete(wrapped);
    },
    quit() {
      quitRequested = true;
      if (service && !closed) {
        try {
          service.quit();
        } catch (error) {
          if (!(error instanceof FirstRunError)) throw error;
        }
      }
    },
    close,
    suspend() {
      suspendedState ??= (async (): Promise<SuspendedState> => {
        suspending = true;
        const live = service && !closed && stopped === null ? service : null;
        // Taken while the actor is active: a stopped actor's snapshot is not restorable.
        const state: SuspendedState = live
          ? { snapshot: live.getPersistedSnapshot(), phase: live.phase, restartCount: live.restartCount }
          : { snapshot: null, phase: null, restartCount: null };
        resolveSuspended();
        await stopServiceAndStore();
        return state;
      })();
      return suspendedState;
    },
  };
}
