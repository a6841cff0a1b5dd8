/**
 * `runFirstRun` — the whole client-process behaviour of SPEC §4 `launch`, as a library call: the
 * instance lock, the ledger (restore, recover, safe mode), the journal, the service, the relaunch
 * hand-off, graceful quit. The CLI's `launch` is a thin shell over it; an embedding app calls it the
 * same way.
 *
 * Order of a launch:
 * 0. check the state dir (a directory of ours, not writable by others: `prepareStateDir`);
 * 1. successor only: prove alive, then WAIT for the lock, as long as the hand-off allows (the old
 *    process releases it only after seeing the proof): `src/handoff/handoff-protocol.ts`;
 * 2. take the instance lock (or exit 3 / throw `LockAcquisitionError` naming the holder); a plain launch
 *    yields it to a successor that is waiting for it;
 * 3. load the ledger — only the lock holder reads it, so it sees the predecessor's last generation;
 * 4. start the service (restored or fresh) and send `runtime.booted`;
 * 5. settle: COMPLETED / FAILED / quit → persist, release, done; handed off → persist, release, exit so
 *    the successor (waiting for the lock) takes over.
 */
import { randomUUID } from 'node:crypto';
import type { InspectionEvent, Observer } from 'xstate';
import type { PublishParams } from '../../machines/effects.js';
import type { AppMode, OrchestratorSettings, Phase } from '../../machines/types.js';
import { FirstRunError, LedgerError, RelaunchError, type JournalError, type LockCompromisedError } from '../errors.js';
import { pinStateDir, prepareStateDir, tightenedPayload } from '../fs/state-dir.js';
import { tokenForRequest } from '../handoff/index.js';
import { openLedgerStore, peekLedger, type LedgerLoadResult, type LedgerStore } from '../ledger/index.js';
import type { ReadLedgerFile } from '../ledger/ledger-files.js';
import type { InstanceLockHandle } from '../lock/index.js';
import type { FirstRunService, SettledResult } from '../service/create-first-run-service.js';
import type { FirstRunEvent, FirstRunEventType } from '../service/events.js';
import { recoveryKeepsBudget, successorOwnsLedger } from '../protocol/decisions.js';
import { committedGate, gateLastKind, gateLedgerView } from '../protocol/gate-view.js';
import { takeLockAsLaunch, takeLockAsSuccessor, type LaunchLock, type SuccessorInfo } from './launch-lock.js';
import { createLegacyFlags } from './legacy-flags.js';
import { assertStrategyAvailable, createProcessRelauncher, mayRelaunch, pinRelaunchPlan, type ProcessRelauncher, type RelaunchPlan } from './relauncher.js';
import { createRuntimeRecorder } from './runtime-recorder.js';
import { orchestratorDurableProjection } from './durable-projection.js';
import { validateSnapshotShape } from './snapshot-shape.js';
import { noteMachinesLoading, noteWarmSettled } from './machines-loaded.js';
import { warmLaunchEvents, warmLedgerView, type WarmLedgerView } from './warm-start.js';
import { readEveryStatus, type PermissionBackend } from '../backend/permission-backend.js';

/** Set when this process was started by a relaunch (defined beside the lock step that uses it). */
export type { SuccessorInfo } from './launch-lock.js';

export interface RunFirstRunOptions {
  /** The state dir: ledger, journal, lock, flags. Created 0700 when missing. */
  stateDir: string;
  settings: OrchestratorSettings;
  backend: PermissionBackend;
  /** How to start this app again (its strategy must match `settings.restart.strategy`). */
  relaunch: RelaunchPlan;
  /** Present when this process is a relaunched successor. */
  successor?: SuccessorInfo | undefined;
  /**
   * A successor started *held* (`Relauncher.prepare`; the CLI passes `holdForGo`): called right before
   * the successor's first line in the journal, it blocks until the predecessor says `go` (`true`) or
   * gives up (`false`: this process was never a successor, and ends with `cancelled_successor` having
   * written nothing). Ignored without `successor`.
   */
  holdForGo?: () => boolean;
  /**
   * Wait up to this long for the lock instead of failing at once. Ignored by a successor, whose wait is
   * derived from the hand-off (`successorWaitMs(handoff_timeout_s)`), never from an inherited flag.
   * @default 0
   */
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
  /**
   * Called once the service started (the lock is held; a restored snapshot got `runtime.booted`). Not
   * called by a warm launch that settles without the machines (`src/runtime/warm-start.ts`): no service
   * starts there. Passing it makes every launch run the machines.
   */
  onStarted?: (service: FirstRunService) => void;
  /** Called once the instance lock is ours, before the ledger is read — on every path that gets the lock. */
  onLocked?: () => void;
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
  /**
   * Rejects when the process must end at once — the instance lock was lost (`LockCompromisedError`) or
   * the journal cannot be written (`JournalError`) — also after `result` resolved, while a `stay` run
   * keeps going. Never resolves.
   */
  readonly failure: Promise<never>;
  /** Subscribe to every journaled event (contract and runtime), from before the lock is taken. */
  on(listener: (event: RuntimeEvent) => void): () => void;
  /** Subscribe to one contract event type, typed (e.g. `tray.status_updated`). */
  on<T extends FirstRunEventType>(type: T, listener: (event: FirstRunEvent<T>) => void): () => void;
  /** The user quits (SIGINT/SIGTERM, the tray's Quit). */
  quit(): void;
  /**
   * Restart safety (RS-10): the app is busy (a session, an update in progress) or idle again. A restart
   * that comes due while busy waits for idle (`restart.deferred`), at most `restart.max_defer_s`. Said
   * before the service started, it applies as it starts. See {@link FirstRunService.setBusy}.
   */
  setBusy(busy: boolean): void;
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
 * The modules that load `xstate` and build the machines, imported only once the lock is ours: a
 * relaunched successor proves alive and takes the lock before paying for them (the hand-off's critical
 * path, docs/performance.md), and a launch that exits 3 never loads them.
 */
async function loadMachineModules() {
  noteMachinesLoading();
  const [service, snapshot] = await Promise.all([import('../service/create-first-run-service.js'), import('./snapshot.js')]);
  return { createFirstRunService: service.createFirstRunService, ...snapshot };
}
type MachineModules = Awaited<ReturnType<typeof loadMachineModules>>;
type OpenedLedger = { store: LedgerStore; loaded: LedgerLoadResult };

const cancelledResult: RuntimeResult = { outcome: 'cancelled_successor', phase: null, restartCount: 0, warnings: [], ledger: null };

/** One process's run: the steps of the module comment, each a small method. */
class FirstRunProcess {
  readonly options: RunFirstRunOptions;
  readonly recorder: ReturnType<typeof createRuntimeRecorder>;
  lock: InstanceLockHandle | null = null;
  store: LedgerStore | null = null;
  service: FirstRunService | null = null;
  relauncher: ProcessRelauncher | null = null;
  quitRequested = false;
  busy: boolean | null = null;
  closed = false;
  suspending = false;
  /** The error that ended the run at once (see `fatal`), once there is one. */
  fatalError: Error | null = null;
  /** HE-6: the error of the service's last commit when it failed (the ledger lacks the state it ran to); `null` once one succeeds. */
  unsaved: unknown = null;
  private stopped: Promise<void> | null = null;
  private rejectFatal: (error: Error) => void = () => {};
  /** Rejects when the run must end at once: the lock was lost, or the journal cannot be written. */
  readonly fatal = new Promise<never>((_, reject) => {
    this.rejectFatal = reject;
  });
  resolveSuspended: () => void = () => {};
  readonly suspended = new Promise<'suspended'>((resolve) => {
    this.resolveSuspended = () => resolve('suspended');
  });

  constructor(options: RunFirstRunOptions) {
    // HE-3: every path pinned now (absolute); a host's later chdir changes nothing. Throws StateDirError.
    this.options = { ...options, stateDir: pinStateDir(options.stateDir), relaunch: pinRelaunchPlan(options.relaunch) };
    options = this.options;
    const prepared = prepareStateDir(options.stateDir); // throws StateDirError (exit 2) before anything is written
    this.recorder = createRuntimeRecorder({
      stateDir: options.stateDir,
      role: options.successor ? 'successor' : 'first',
      onFatal: (error) => this.failFatally(error, 'runtime.journal_failed'),
    });
    this.fatal.catch(() => {}); // observed through the race in run()
    if (options.onEvent) this.recorder.listen(options.onEvent as (event: unknown) => void);
    if (prepared.tightenedFrom !== null) this.record('state_dir.tightened', tightenedPayload(prepared));
  }

  record = (type: string, payload: Record<string, unknown> = {}) => this.recorder.record(type, payload);

  /** Stop at once (never write on): the service stops, `result` rejects with `error`. */
  failFatally(error: JournalError | LockCompromisedError, type: string): void {
    this.fatalError ??= error;
    this.recorder.deliver({ type, ts: new Date().toISOString(), pid: process.pid, code: error.code, message: error.message });
    this.rejectFatal(error);
    void this.service?.stop().catch(() => {});
  }

  stopServiceAndStore(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.service) await this.service.stop();
      if (this.store) await this.store.close();
    })();
    return this.stopped;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.stopServiceAndStore();
    } finally {
      if (this.lock) {
        // Journaled before the release, so the journal shows any successor's acquisition after it.
        this.record('instance.lock_releasing', {});
        const released = await this.lock.release();
        this.record('instance.lock_released', { reason: released.reason });
        this.relauncher?.notifyReleased();
      }
      this.recorder.close();
    }
  }

  checkPlan(): void {
    const { settings, relaunch } = this.options;
    assertStrategyAvailable(settings.restart.strategy);
    if (relaunch.strategy !== settings.restart.strategy) {
      throw new RelaunchError(
        `The relaunch plan is for strategy "${relaunch.strategy}" but restart.strategy is "${settings.restart.strategy}"; build the plan for the configured strategy.`,
      );
    }
  }

  takeLock(): Promise<LaunchLock> {
    const { options } = this;
    const ctx = { stateDir: options.stateDir, handoffTimeoutMs: options.settings.restart.handoffTimeoutMs, record: this.record };
    // A dev restart uses the same hand-off, journaled under its own names (it is never a first-run restart).
    if (options.successor) {
      if (options.holdForGo && !options.holdForGo()) return Promise.resolve({ kind: 'cancelled', quietly: true });
      return takeLockAsSuccessor(ctx, options.successor, 'restart');
    }
    if (options.devRestart) return takeLockAsSuccessor(ctx, options.devRestart, 'dev');
    return takeLockAsLaunch(ctx, options.lockTimeoutMs ?? 0);
  }

  watchLock(lock: InstanceLockHandle): void {
    lock.onCompromised((error) => {
      this.record('instance.lock_compromised', { message: error.message });
      // Never write on after losing the lock: stop at once; the ledger keeps its last good generation.
      this.failFatally(error, 'runtime.stopped');
    });
  }

  /** LG-5: the cache flags follow committed generations (src/runtime/legacy-flags.ts). */
  legacyFlags(lock: InstanceLockHandle): ReturnType<typeof createLegacyFlags> {
    const flags = createLegacyFlags({
      stateDir: this.options.stateDir,
      successor: this.options.successor !== undefined,
      assertWriter: () => lock.assertHeld(),
      onChange: (change) => this.record('ledger.flags_written', { ...change }),
      onError: (flag, error) => this.record('ledger.flags_failed', { flag, message: error.message }),
    });
    flags.started();
    return flags;
  }

  /**
   * Open and load the ledger, its snapshot checked by the machines — or, for a snapshot the warm launch
   * answers for (`runWarmOrMachines`), by its shape only (`checkedByMachines` completes that check before
   * the machines restore it).
   */
  openLedger(lock: InstanceLockHandle, modules: MachineModules | null, peeked?: ReadLedgerFile): OpenedLedger {
    const store = openLedgerStore({
      stateDir: this.options.stateDir,
      validateSnapshot: modules ? modules.validateOrchestratorSnapshot : validateSnapshotShape,
      durableProjection: orchestratorDurableProjection,
      journal: { append: (type, payload) => this.record(type, payload ?? {}) },
      assertWriter: () => lock.assertHeld(),
    });
    this.store = store;
    return { store, loaded: store.load(peeked ? { main: peeked } : {}) };
  }

  /**
   * A successor runs only on the restart it was started for (step 5 of `handoff-protocol.ts`): the
   * ledger shows `restart_count` 1 and either the gate's request whose id gives our token, or
   * `restart.executed` naming our PID. Anything else — no ledger or `restart_count` 0 (a `reset` ran
   * while the predecessor was dead or before we proved), another launch's request or restart — and it
   * does not run (so it never restarts): the user's next launch does what that ledger says.
   */
  ledgerIsNotOurs(loaded: LedgerLoadResult): boolean {
    const successor = this.options.successor;
    if (!successor || loaded.kind === 'safe_mode') return false;
    const view = gateLedgerView(loaded.snapshot);
    if (successorOwnsLedger(view, { token: successor.token, pid: process.pid })) return false;
    this.record('restart.successor_ledger_mismatch', { ledger: loaded.kind, restart_count: view.restartCount, gate_last: gateLastKind(loaded.snapshot) });
    return true;
  }

  /** What the service starts from: a dev override, the safe mode, the ledger, or nothing (a fresh run). */
  chooseSnapshot(loaded: LedgerLoadResult, bootId: string, modules: MachineModules): unknown {
    const { options } = this;
    if (options.snapshotOverride !== undefined) return options.snapshotOverride;
    if (loaded.kind === 'safe_mode') return modules.safeModeSnapshot(options.settings, bootId);
    const snapshot = loaded.snapshot ?? undefined;
    if (snapshot === undefined || recoveryKeepsBudget(loaded.kind, gateLedgerView(snapshot).restartCount)) return snapshot;
    this.record('ledger.budget_spent_on_recovery', { generation: loaded.snapshotGeneration });
    return modules.withBudgetSpent(snapshot, 'recovered from the backup: the lost ledger may have spent the restart');
  }

  startService(store: LedgerStore, lock: InstanceLockHandle, loaded: LedgerLoadResult, snapshot: unknown, bootId: string, modules: MachineModules): FirstRunService {
    const { options } = this;
    const flags = this.legacyFlags(lock);
    // The flags of the generation already durable: a flag lost since (a power loss: flags are not
    // fsynced) is written again even when every commit of this launch is skipped.
    if (loaded.snapshot && loaded.summary && loaded.snapshotGeneration !== null) flags.committed(loaded.snapshot, loaded.summary as { phase: Phase; restart_count: number }, loaded.snapshotGeneration);
    this.relauncher = createProcessRelauncher({
      stateDir: options.stateDir,
      plan: options.relaunch,
      handoffTimeoutMs: options.settings.restart.handoffTimeoutMs,
      onEvent: this.record,
      beforeExecve: () => lock.releaseSync(),
      warmUp: loaded.kind !== 'safe_mode' && mayRelaunch(loaded.summary),
    });
    const service = modules.createFirstRunService({
      settings: options.settings,
      backend: options.backend,
      bootId,
      snapshot,
      persist: async (persisted, summary) => {
        const committed = await store.commit(persisted, summary).catch((error: unknown) => {
          this.unsaved = error;
          throw error;
        });
        this.unsaved = null;
        // A skipped commit wrote nothing: the generation on disk may hold another phase (LG-5).
        if (!committed.skipped) flags.committed(persisted, summary, committed.generation);
        return committed;
      },
      readCommitted: () => {
        const onDisk = peekLedger(options.stateDir);
        return onDisk.kind === 'ok' ? committedGate(onDisk.envelope.snapshot) : null;
      },
      relauncher: this.relauncher,
      ...(options.appMode ? { appMode: options.appMode } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    service.on('*', (event) => this.onServiceEvent(event));
    this.service = service;
    return service;
  }

  onServiceEvent(event: FirstRunEvent): void {
    const { ts: _ts, pid: _pid, type, ...payload } = event as FirstRunEvent & Record<string, unknown>;
    this.recorder.append(type, payload);
    this.recorder.deliver(event as never);
  }

  async run(): Promise<RuntimeResult> {
    this.checkPlan();
    const taken = await this.takeLock();
    if (taken.kind === 'cancelled' && taken.quietly) return cancelledResult; // never a successor: no trace
    if (taken.kind === 'cancelled') {
      const handoff = this.options.successor ?? this.options.devRestart;
      this.record(`${this.options.successor ? 'restart' : 'dev'}.successor_cancelled`, { predecessor_pid: handoff?.predecessorPid ?? null });
      return cancelledResult;
    }
    const lock = taken.lock;
    this.lock = lock;
    this.record('instance.lock_acquired', { waited_ms: taken.waitedMs, token: lock.owner.token.slice(0, 8) });
    this.watchLock(lock);
    this.options.onLocked?.();
    if (this.mayStartWarm()) return this.runWarmOrMachines(lock);
    const machines = await loadMachineModules();
    const opened = this.recordLoaded(this.openLedger(lock, machines));
    if (this.ledgerIsNotOurs(opened.loaded)) return cancelledResult;
    return this.runMachines(opened, lock, machines);
  }

  recordLoaded(opened: OpenedLedger): OpenedLedger {
    const { loaded } = opened;
    this.record('ledger.loaded', { kind: loaded.kind, generation: loaded.generation, problems: loaded.problems.length });
    return opened;
  }

  /**
   * A launch that may end warm looks at the ledger before it loads the machines (docs/performance.md):
   * `peekLedger` reads and checks the file without changing anything. A snapshot the warm launch can
   * answer for is loaded on that read, checked by its shape (`validateSnapshotShape`), and may settle
   * without the machines (`startWarm`); anything else is loaded by the machines' own check, as always — so
   * no store ever quarantines or falls back on a check weaker than the machines'.
   */
  async runWarmOrMachines(lock: InstanceLockHandle): Promise<RuntimeResult> {
    const peeked = peekLedger(this.options.stateDir);
    const view = peeked.kind === 'ok' ? warmLedgerView(peeked.envelope.snapshot, this.options.settings) : null;
    if (!view) {
      const machines = await loadMachineModules();
      return this.runMachines(this.recordLoaded(this.openLedger(lock, machines)), lock, machines);
    }
    const opened = this.recordLoaded(this.openLedger(lock, null, peeked));
    const warm = opened.loaded.snapshot === (peeked.kind === 'ok' ? peeked.envelope.snapshot : null) ? await this.startWarm(opened, lock, view) : null;
    if (warm) return warm;
    const machines = await loadMachineModules();
    return this.runMachines(this.checkedByMachines(opened, lock, machines), lock, machines);
  }

  /**
   * The warm launch declined (a permission changed, a quit…): the machines run on the snapshot loaded
   * for it, which passed the shape check only — so their own check first. A snapshot the warm launch can
   * answer for passes it (`test/runtime/warm-start.test.ts` checks each one it answers for); were one
   * refused, the ledger is loaded again by the machines' check, which quarantines it and falls back as any
   * load does (nothing was changed before: the file was valid).
   */
  checkedByMachines(opened: OpenedLedger, lock: InstanceLockHandle, machines: MachineModules): OpenedLedger {
    if (opened.loaded.snapshot === null) return opened;
    try {
      machines.validateOrchestratorSnapshot(opened.loaded.snapshot);
      return opened;
    } catch {
      return this.recordLoaded(this.openLedger(lock, machines));
    }
  }

  /** Nothing asks for a live service or for more than a launch: a warm ledger may settle without the machines. */
  mayStartWarm(): boolean {
    const o = this.options;
    const asksForService = o.stay === true || o.inspect !== undefined || o.onStarted !== undefined || o.snapshotOverride !== undefined;
    const notAPlainLaunch = o.successor !== undefined || o.devRestart !== undefined;
    return !asksForService && !notAPlainLaunch && !this.quitRequested && this.busy === null && !this.suspending;
  }

  /**
   * The warm launch (`src/runtime/warm-start.ts`): when the restored ledger is one whose outcome is fixed
   * and every permission still reads granted, publish what the machines would and settle, writing
   * nothing but the journal. `null`: run the machines.
   */
  async startWarm(opened: OpenedLedger, lock: InstanceLockHandle, view: WarmLedgerView): Promise<RuntimeResult | null> {
    const { settings, backend } = this.options;
    let settled = false;
    try {
      // A lost lock (or a failed journal) ends the run at once, as it does the machines' run.
      const reading = await Promise.race([readEveryStatus(backend, settings.order, Date.now), this.fatal]);
      const events = warmLaunchEvents(view, settings, reading);
      // A quit or "busy" said meanwhile, or anything but all granted as recorded: the machines decide.
      if (!events || this.quitRequested || this.busy !== null || this.suspending) return null;
      settled = await this.settleWarm(opened, lock, events);
      if (!settled) return null;
      if (this.fatalError) throw this.fatalError; // the journal failed on these lines
      return { outcome: 'completed', phase: 'COMPLETED', restartCount: view.restartCount, warnings: [], ledger: opened.loaded.kind };
    } catch (error) {
      settled = true;
      throw error;
    } finally {
      // The run ends here (settled, or failed): the backend is done, as `service.stop()` leaves it.
      if (settled) await backend.close?.();
    }
  }

  /** What the machines' warm run leaves: the skipped commit's checks, the flags, the events. `false`: let the machines run. */
  async settleWarm({ store, loaded }: OpenedLedger, lock: InstanceLockHandle, events: PublishParams[]): Promise<boolean> {
    try {
      await store.keepAsIs(); // what the machines' skipped commit would do
    } catch {
      return false; // the machines meet the same and report it as they do (`ledger.write_failed`)
    }
    this.legacyFlags(lock).committed(loaded.snapshot, loaded.summary as { phase: Phase; restart_count: number }, loaded.snapshotGeneration as number);
    this.recorder.recordAll(events);
    noteWarmSettled();
    return true;
  }

  /** Restore (or start) the machines and run until the run settles here. */
  async runMachines({ store, loaded }: OpenedLedger, lock: InstanceLockHandle, modules: MachineModules): Promise<RuntimeResult> {
    const bootId = randomUUID();
    const service = this.startService(store, lock, loaded, this.chooseSnapshot(loaded, bootId, modules), bootId, modules);
    if (this.suspending) return { outcome: 'suspended', phase: null, restartCount: 0, warnings: [], ledger: loaded.kind };
    if (this.busy !== null) service.setBusy(this.busy);
    service.start();
    if (this.quitRequested) service.quit();
    this.options.onStarted?.(service);
    const settled = await Promise.race([service.whenSettled(), this.suspended, this.fatal]);
    await store.flush();
    if (settled === 'suspended') {
      return { outcome: 'suspended', phase: service.phase, restartCount: service.restartCount, warnings: [], ledger: loaded.kind };
    }
    return { ...settled, ledger: loaded.kind };
  }

  /** After `run()`: close unless the run stays up (`stay`) or was suspended (dev mode). */
  async afterRun(outcome: RuntimeResult): Promise<RuntimeResult> {
    const staying = this.options.stay === true && (outcome.outcome === 'completed' || outcome.outcome === 'failed');
    // Suspended (a dev restart): the service is stopped, the lock stays ours until close().
    if (outcome.outcome === 'suspended' && !this.closed) await this.stopServiceAndStore();
    else if (!staying) await this.close();
    if (this.unsaved !== null) throw this.unsavedError(outcome);
    return outcome;
  }

  /**
   * HE-6: the run ended but its last commit — the state it ended in — could not be written: never a quiet
   * success. The ledger keeps its last good generation (`ledger.write_failed` is journaled and delivered).
   */
  unsavedError(outcome: RuntimeResult): LedgerError {
    const cause = this.unsaved;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const file = this.store?.paths.ledger ?? this.options.stateDir;
    return new LedgerError(
      file,
      `The first run ended (${outcome.outcome}, phase ${outcome.phase ?? 'none'}) but its state could not be saved to ${file}: ${reason}. The ledger keeps its last good generation (${this.store?.generation ?? 0}), so the next launch runs from there; fix the cause and launch again.`,
      { cause },
    );
  }

  /** After a failed `run()`: close, but never let a failure to close hide the error that ended the run. */
  async afterFailure(error: unknown): Promise<never> {
    try {
      await this.close();
    } catch (closeError) {
      this.recorder.deliver({ type: 'runtime.close_failed', ts: new Date().toISOString(), pid: process.pid, message: String(closeError) });
    }
    throw error;
  }

  suspend(): Promise<SuspendedState> {
    return (async (): Promise<SuspendedState> => {
      this.suspending = true;
      const live = this.service && !this.closed && this.stopped === null ? this.service : null;
      // Taken while the actor is active: a stopped actor's snapshot is not restorable.
      const state: SuspendedState = live
        ? { snapshot: live.getPersistedSnapshot(), phase: live.phase, restartCount: live.restartCount }
        : { snapshot: null, phase: null, restartCount: null };
      this.resolveSuspended();
      await this.stopServiceAndStore();
      return state;
    })();
  }

  setBusy(value: boolean): void {
    this.busy = value;
    if (this.service && !this.closed) this.service.setBusy(value);
  }

  quit(): void {
    this.quitRequested = true;
    if (!this.service || this.closed) return;
    try {
      this.service.quit();
    } catch (error) {
      if (!(error instanceof FirstRunError)) throw error;
    }
  }
}

/**
 * Run the first run in this process.
 * @throws StateDirError at once when the state dir is not usable (a file, someone else's, …).
 * @throws LockAcquisitionError (from `result`) when another live process holds the lock, or a relaunched
 *   successor is waiting for it.
 * @throws LockCompromisedError / JournalError (from `result`) when the lock is lost or the journal cannot
 *   be written mid-run: the run stops at once, the ledger keeps its last committed generation.
 * @throws LedgerError (from `result`, HE-6) when the run ended but the state it ended in could not be
 *   committed: never a quiet success. The lock is released first; the ledger keeps its last good generation.
 */
export function runFirstRun(options: RunFirstRunOptions): FirstRunRuntime {
  const proc = new FirstRunProcess(options);
  const result = proc.run().then(
    (outcome) => proc.afterRun(outcome),
    (error: unknown) => proc.afterFailure(error),
  );
  let suspendedState: Promise<SuspendedState> | null = null;
  return {
    result,
    failure: proc.fatal,
    get service() {
      return proc.service;
    },
    on(typeOrListener: string | ((event: RuntimeEvent) => void), listener?: (event: never) => void) {
      const wrapped =
        typeof typeOrListener === 'function'
          ? typeOrListener
          : (event: RuntimeEvent) => {
              if (event.type === typeOrListener) (listener as (event: RuntimeEvent) => void)(event);
            };
      return proc.recorder.listen(wrapped as (event: unknown) => void);
    },
    quit: () => proc.quit(),
    setBusy: (busy) => proc.setBusy(busy),
    close: () => proc.close(),
    suspend() {
      suspendedState ??= proc.suspend();
      return suspendedState;
    },
  };
}
