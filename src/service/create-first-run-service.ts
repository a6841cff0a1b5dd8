/**
 * `createFirstRunService` — the library's front door: binds the pure machines to real effects (a
 * permission backend, a clock, a ledger hook, a relauncher), runs the root actor, and publishes the
 * event contract. It does no file or process I/O itself: the CLI runtime (`src/runtime/`) passes the
 * ledger store and the relauncher in.
 */
import { randomUUID } from 'node:crypto';
import { createActor, fromCallback, fromPromise, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { orchestratorMachine, type OrchestratorContext } from '../../machines/orchestrator.machine.js';
import { permissionStepMachine } from '../../machines/permission-step.machine.js';
import { quitIntentMachine } from '../../machines/quit-intent.machine.js';
import { relaunchGateMachine, selectRestartCount, type GateResult } from '../../machines/relaunch-gate.machine.js';
import { trayMachine } from '../../machines/tray.machine.js';
import type { PublishParams, StatusReading, StatusesReading } from '../../machines/effects.js';
import type { TimeboxInput } from '../../machines/permission-step.machine.js';
import type { AppMode, OrchestratorSettings, PermissionName, Phase } from '../../machines/types.js';
import { PHASES } from '../../machines/types.js';
import { readEveryStatus, type PermissionBackend } from '../backend/permission-backend.js';
import { systemClock, type Clock } from '../clock.js';
import { ServiceError } from '../errors.js';
import type { CommittedGate, GiveUpAction } from '../protocol/decisions.js';
import { createServicePersistence } from './service-persistence.js';
export { commitKey } from './service-persistence.js';
import type { FirstRunEvent, FirstRunEventType } from './events.js';

/** What the relaunch gate asks the host to do once the 0 → 1 commit is durable (RS-7). */
export interface RelaunchRequest {
  requestId: string;
  restartCount: number;
}

/** Starts the successor and proves it alive (RS-7, RS-8). The CLI runtime provides the real one. */
export interface Relauncher {
  /**
   * Start the successor and resolve with its pid once it proved itself alive (the token handshake);
   * reject when it did not within the hand-off timeout. Called at most once per process.
   */
  relaunch(request: RelaunchRequest): Promise<{ newPid: number }>;
  /**
   * Give up a relaunch (it failed or timed out, or the user quit during the hand-off): stop a successor
   * that has not taken over yet. The service calls it only after the give-up is committed to the ledger
   * (`giveUpPlan`, src/protocol/decisions.ts), once per step of the plan that is the relauncher's
   * (`kill-child`, then `mark-cancelled`); without `action`, every such step in order. `relaunch` itself
   * never gives up: it rejects, and the service gives up in this order.
   */
  abort?(requestId: string, action?: Exclude<GiveUpAction, 'record'>): void;
  /**
   * Optional: the restart is decided and about to be committed (the gate is `armed`, `deferred` or
   * `committing` for this process's own request): a relauncher may start the successor *held* now, so
   * that it boots meanwhile — it must run nothing before {@link relaunch} is called for the same request.
   */
  prepare?(request: RelaunchRequest): void;
  /** Optional: the prepared restart will not happen (cancelled, rejected, the service stopped). */
  abandon?(): void;
}

/** Persists the root snapshot durably (the ledger). Resolves when the bytes are on disk. */
export type PersistSnapshot = (
  snapshot: unknown,
  summary: { phase: Phase; restart_count: number },
) => Promise<{ generation: number }>;

export interface FirstRunServiceOptions {
  /** Resolved settings (`loadConfig(...).settings`). */
  settings: OrchestratorSettings;
  /** Where statuses come from: `createSimBackend(...)` or `createMacBackend()`. */
  backend: PermissionBackend;
  /** @default the system clock */
  clock?: Clock;
  /** This process's boot id. @default a random UUID */
  bootId?: string;
  /** @default process.pid */
  pid?: number;
  /** A persisted snapshot to resume from (the ledger's). @default a fresh start */
  snapshot?: unknown;
  /**
   * What the ledger on disk holds of the relaunch gate now (RS-3 reads it back after the 0 → 1 commit,
   * before any successor starts). @default the snapshot `persist` last acknowledged
   */
  readCommitted?: () => CommittedGate | null;
  /**
   * The ledger hook. Called after every change (coalesced) and, awaited, by the relaunch gate before
   * any successor starts. @default none — the state lives in memory only
   */
  persist?: PersistSnapshot;
  /** @default none — a restart request then ends `restart_unverified` and the run verifies in place */
  relauncher?: Relauncher;
  /** The app's mode at start, for the tray. @default 'SLEEPING' */
  appMode?: AppMode;
  /** An XState inspection observer (e.g. `@statelyai/inspect`'s `inspector.inspect`, or the offline viewer's). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Where the `[PERMISSION_RESTART] …` log lines go. @default nowhere */
  log?: (line: string) => void;
}

/** How a run settled in this process. */
export type SettledOutcome = 'completed' | 'failed' | 'handed_off' | 'quit';

export interface SettledResult {
  outcome: SettledOutcome;
  phase: Phase;
  restartCount: number;
  warnings: string[];
}

export interface FirstRunService {
  /** Start (or resume) the run. Throws `ServiceError` when called twice. */
  start(): void;
  /** Stop every actor and wait for the last snapshot to be persisted. Safe to call twice. */
  stop(): Promise<void>;
  /** Subscribe to one event type, or `'*'` for all. Returns the unsubscribe function. */
  on<T extends FirstRunEventType>(type: T, listener: (event: FirstRunEvent<T>) => void): () => void;
  on(type: '*', listener: (event: FirstRunEvent) => void): () => void;
  /** The user clicked Quit in the tray (`tray.quit_clicked`, RS-4). */
  quit(): void;
  /** The app's mode changed (`app.mode_changed`); the tray follows it outside first-run. */
  setAppMode(mode: AppMode): void;
  /**
   * Restart safety (RS-10, seed 004 "checks for active sessions, updates in progress"): say whether the
   * app is busy. A restart that comes due while busy waits until `setBusy(false)` (journaled
   * `restart.deferred`), at most `restart.max_defer_s`; then this process gives it up (`restart.rejected
   * {reason: 'busy_timeout'}`, the budget unspent) and the next launch decides again. A quit still wins.
   * Per process: a new process starts idle. Sends `app.busy_changed`.
   */
  setBusy(busy: boolean): void;
  /** A restart request from the legacy path; rejected and journaled (RS-5). */
  requestLegacyRestart(): void;
  /** The current phase. */
  readonly phase: Phase;
  /** `restart_count` as the relaunch gate holds it. */
  readonly restartCount: number;
  /** How the last restart request ended (for `first-run status`). */
  readonly gateResult: GateResult;
  /** The root context (plain JSON). */
  readonly context: OrchestratorContext;
  /** The persisted snapshot (the ledger's content). */
  getPersistedSnapshot(): unknown;
  /** Resolves when the run settled in this process: completed, failed, handed off, or quit. */
  whenSettled(): Promise<SettledResult>;
  /** The root actor, for inspection. */
  readonly actor: Actor<typeof orchestratorMachine>;
  readonly bootId: string;
}

/** The phase of a root snapshot value (`{ RESTART_REQUESTED: 'waiting' }` → `RESTART_REQUESTED`). */
export function phaseOf(value: unknown): Phase {
  const key = typeof value === 'string' ? value : Object.keys(value as object)[0];
  if (!key || !(PHASES as readonly string[]).includes(key)) {
    throw new ServiceError(`Unknown orchestrator state ${JSON.stringify(value)}`);
  }
  return key as Phase;
}

/** Node's timers fire at once above this; no configured wait comes near it (CONFIG_LIMITS: at most 1 hour). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A wait in ms made safe for a timer: not a number or negative → 0, never above `max` (issue 10.10). */
export function boundedWait(ms: number, max = MAX_TIMER_MS): number {
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(ms, max, MAX_TIMER_MS);
}

function timerActor(clock: Clock, eventType: string) {
  return fromCallback<{ type: string }, { ms: number }>(({ sendBack, input }) => {
    const handle = clock.setTimeout(() => sendBack({ type: eventType }), boundedWait(input.ms));
    return () => clock.clearTimeout(handle);
  });
}


/**
 * Create the first-run service.
 * @example
 * const { settings } = await loadConfig({ file: 'config.json' });
 * const service = createFirstRunService({ settings, backend: createSimBackend({ file: 'tcc.json' }) });
 * service.on('tray.status_updated', (e) => tray.setImage(iconFor(e.status, e.overlay)));
 * service.start();
 * const result = await service.whenSettled();
 */
export function createFirstRunService(options: FirstRunServiceOptions): FirstRunService {
  const clock = options.clock ?? systemClock;
  const bootId = options.bootId ?? randomUUID();
  const pid = options.pid ?? process.pid;
  const backend = options.backend;
  const log = options.log ?? (() => {});
  const listeners = new Map<string, Set<(event: FirstRunEvent) => void>>();
  let started = false;
  let stopped = false;
  // setBusy() before start(): applied right after `runtime.booted` (which resets the gate's "busy").
  let busyBeforeStart: boolean | null = null;
  let relaunchUsed = false;

  function emit(params: PublishParams): void {
    const ts = new Date(clock.now()).toISOString();
    // Payload keys never overwrite the envelope.
    const event = Object.assign({ ts, pid, type: params.type }, params.payload ?? {}, { ts, pid, type: params.type });
    if (params.type === 'restart.requested') log('[PERMISSION_RESTART] Restart requested');
    for (const key of [params.type, '*']) {
      for (const listener of listeners.get(key) ?? []) {
        try {
          listener(event as FirstRunEvent);
        } catch (error) {
          // A host listener's bug must not break the state machine; it is reported, not swallowed.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }
  const publish = (_: unknown, params: PublishParams) => emit(params);

  const readStatus = fromPromise<StatusReading, { permission: PermissionName }>(async ({ input }) => {
    try {
      return { status: await backend.getStatus(input.permission), at: clock.now() };
    } catch (error) {
      return { status: null, at: clock.now(), error: error instanceof Error ? error.message : String(error) };
    }
  });
  const readStatuses = fromPromise<StatusesReading, { permissions: PermissionName[] }>(({ input }) =>
    readEveryStatus(backend, input.permissions, () => clock.now()),
  );
  const fireAndForget = (what: 'activate' | 'openSettings', permission: PermissionName) => {
    backend[what](permission).catch((error: unknown) =>
      emit({
        type: 'permissions.v2.activation_failed',
        payload: { permission, message: `${what}: ${error instanceof Error ? error.message : String(error)}` },
      }),
    );
  };

  let actor: Actor<typeof orchestratorMachine>;

  // Persistence: every snapshot change anywhere in the system schedules one coalesced commit; a snapshot
  // that restores like the last committed one (same commit key) is not committed again.
  const persistence = createServicePersistence({
    persist: options.persist,
    readCommitted: options.readCommitted,
    relauncher: options.relauncher,
    current: () => ({ snapshot: actor.getPersistedSnapshot(), phase: phaseOf(actor.getSnapshot().value) }),
    stopped: () => stopped,
    onWriteFailed: (error) => emit({ type: 'ledger.write_failed', payload: { message: error instanceof Error ? error.message : String(error) } }),
  });
  const { persistNow } = persistence;

  const gate = relaunchGateMachine.provide({
    actors: {
      waitDelay: timerActor(clock, 'gate.delay_elapsed'),
      commitLedger: fromPromise(({ input }) => persistence.commitForRelaunch(input)),
    },
    actions: {
      publish,
      executeRelaunch: ({ self }, params) => {
        if (relaunchUsed) {
          self.send({ type: 'relaunch.failed', message: 'a relaunch was already executed by this process' });
          return;
        }
        relaunchUsed = true;
        if (!options.relauncher) {
          queueMicrotask(() => self.send({ type: 'relaunch.failed', message: 'no relauncher configured' }));
          return;
        }
        options.relauncher.relaunch(params).then(
          ({ newPid }) => self.send({ type: 'relaunch.succeeded', newPid }),
          (error: unknown) => {
            self.send({ type: 'relaunch.failed', message: error instanceof Error ? error.message : String(error) });
            void persistence.giveUpRelaunch(params.requestId);
          },
        );
      },
      abortRelaunch: (_, params) => void persistence.giveUpRelaunch(params.requestId),
    },
  });
  const step = permissionStepMachine.provide({
    actors: {
      readStatus,
      waitInterval: timerActor(clock, 'step.tick'),
      runTimebox: fromCallback<{ type: string }, TimeboxInput>(({ sendBack, input }) => {
        // `ms: null`: the timebox ended with advance_on_timeout=false; the step waits for the user (FR-3).
        if (input.ms === null) return () => {};
        const handle = clock.setTimeout(() => sendBack({ type: 'step.timebox_expired' }), boundedWait(input.ms, input.maxMs));
        return () => clock.clearTimeout(handle);
      }),
    },
    actions: {
      publish,
      activatePermission: (_, { permission }) => fireAndForget('activate', permission),
      openSettings: (_, { permission }) => fireAndForget('openSettings', permission),
    },
  });
  const machine = orchestratorMachine.provide({
    actors: {
      readStatuses,
      permissionStep: step,
      relaunchGate: gate,
      tray: trayMachine.provide({ actions: { publish } }),
      quitIntent: quitIntentMachine.provide({ actions: { publish } }),
    },
    actions: { publish },
  });

  const userInspect = options.inspect;
  actor = createActor(machine, {
    // On a restore XState ignores `input` and uses the stored context as is.
    input: { settings: options.settings, bootId, appMode: options.appMode ?? 'SLEEPING' },
    ...(options.snapshot !== undefined ? { snapshot: options.snapshot as never } : {}),
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot') persistence.schedule();
      if (typeof userInspect === 'function') userInspect(event);
      else userInspect?.next?.(event);
    },
  });
  if (options.snapshot !== undefined && actor.getSnapshot().status === 'error') {
    throw new ServiceError(`The snapshot cannot be restored: ${String(actor.getSnapshot().error)}`);
  }

  /**
   * Tell the relauncher, when it can prepare (`Relauncher.prepare`), the moment this process's own
   * restart request is armed, and when that request ends without being executed (`abandon`).
   */
  let prepared = false;
  const watchGateForPrepare = () => {
    const relauncher = options.relauncher;
    if (!relauncher?.prepare) return;
    const onGate = (snapshot: { value: unknown; context: { request?: { id: string; armedBy?: string } | null; restartCount: number } }) => {
      const value = String(snapshot.value);
      const request = snapshot.context.request;
      if (!prepared && ['armed', 'deferred', 'committing'].includes(value) && request && request.armedBy === bootId) {
        prepared = true;
        relauncher.prepare!({ requestId: request.id, restartCount: snapshot.context.restartCount });
      } else if (prepared && ['idle', 'checking'].includes(value)) {
        prepared = false;
        relauncher.abandon?.();
      }
    };
    // With an `error` observer: a child observer without one turns the child's error into an uncaught
    // exception; the root's observer publishes it (`service.error`).
    actor.system.get('relaunchGate')?.subscribe({ next: onGate, error: () => {} });
  };

  let settledResolve: ((result: SettledResult) => void) | null = null;
  const settled = new Promise<SettledResult>((resolve) => {
    settledResolve = resolve;
  });
  let quitRequested = false;
  const settle = (outcome: SettledOutcome) => {
    if (!settledResolve) return;
    const resolve = settledResolve;
    settledResolve = null;
    resolve({
      outcome,
      phase: phaseOf(actor.getSnapshot().value),
      restartCount: selectRestartCount(actor.getPersistedSnapshot()) ?? 0,
      warnings: actor.getSnapshot().context.warnings,
    });
  };
  const gateState = () => {
    const gateRef = actor.system.get('relaunchGate');
    return gateRef ? String(gateRef.getSnapshot().value) : 'idle';
  };
  let booted = false;
  const checkSettled = () => {
    // A restored snapshot may sit in a settled-looking state until `runtime.booted` moves it on.
    if (!booted) return;
    const snapshot = actor.getSnapshot();
    if (snapshot.matches('COMPLETED')) settle('completed');
    else if (snapshot.matches('FAILED')) settle('failed');
    else if (snapshot.matches({ RESTART_REQUESTED: 'handedOff' })) settle('handed_off');
    else if (quitRequested && !['committing', 'executing', 'checking'].includes(gateState())) settle('quit');
  };

  const service: FirstRunService = {
    start() {
      if (started) throw new ServiceError('The first-run service was already started; create a new one per run.');
      started = true;
      actor.subscribe({
        next: () => checkSettled(),
        error: (error) => emit({ type: 'service.error', payload: { message: String(error) } }),
      });
      actor.start();
      watchGateForPrepare();
      actor.send({ type: 'runtime.booted', bootId, pid, at: clock.now(), settings: options.settings });
      if (busyBeforeStart !== null) actor.send({ type: 'app.busy_changed', busy: busyBeforeStart });
      booted = true;
      checkSettled();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await persistence.giveUpDone(); // a give-up under way ends (its commit, then the child and the marker) before the lock goes
      // The last state is persisted while the actor is still active (a stopped actor's snapshot says
      // `status: 'stopped'` and is not restorable); a failure is published, the ledger keeps its last
      // good generation.
      if (started) {
        await persistNow().catch((error: unknown) =>
          emit({ type: 'ledger.write_failed', payload: { message: error instanceof Error ? error.message : String(error) } }),
        );
      }
      actor.stop();
      if (prepared) options.relauncher?.abandon?.();
      await backend.close?.();
    },
    on(type: string, listener: (event: never) => void) {
      const set = listeners.get(type) ?? new Set();
      set.add(listener as (event: FirstRunEvent) => void);
      listeners.set(type, set);
      return () => set.delete(listener as (event: FirstRunEvent) => void);
    },
    quit() {
      if (!started || stopped) throw new ServiceError('quit() needs a started service.');
      quitRequested = true;
      actor.send({ type: 'tray.quit_clicked' });
      checkSettled();
      // The gate may be mid-commit: settle once it is back to rest.
      actor.system.get('relaunchGate')?.subscribe({ next: () => checkSettled(), error: () => {} });
    },
    setAppMode(mode) {
      actor.send({ type: 'app.mode_changed', mode });
    },
    setBusy(busy) {
      if (typeof busy !== 'boolean') throw new ServiceError(`Expected \`busy\` to be true or false, got ${JSON.stringify(busy)}.`);
      if (!started) busyBeforeStart = busy;
      else if (!stopped) actor.send({ type: 'app.busy_changed', busy });
    },
    requestLegacyRestart() {
      actor.send({ type: 'restart.legacy_requested' });
    },
    get phase() {
      return phaseOf(actor.getSnapshot().value);
    },
    get restartCount() {
      return selectRestartCount(actor.getPersistedSnapshot()) ?? 0;
    },
    get gateResult() {
      const gateRef = actor.system.get('relaunchGate');
      return (gateRef?.getSnapshot().context.last as GateResult | undefined) ?? { kind: 'none' };
    },
    get context() {
      return actor.getSnapshot().context;
    },
    getPersistedSnapshot: () => actor.getPersistedSnapshot(),
    whenSettled: () => settled,
    actor,
    bootId,
  };
  return service;
}

