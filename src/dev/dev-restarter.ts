/**
 * `createDevRestarter` — dev mode (SPEC DV-1): on a source change, restart the whole process instead of
 * reloading modules in place, and carry the state across.
 *
 * One restart, in the old process:
 * 1. a change is seen (polling watcher) and debounced: a burst of changes is one restart;
 * 2. shutdown: inputs are queued from now on; `saveState()` stops the app's actors and returns the root
 *    snapshot; then every `onShutdown` hook runs; all of it bounded by `shutdownTimeoutMs`, after which
 *    the restart goes on without waiting (`dev.shutdown_forced`) — whatever still hangs dies with this
 *    process;
 * 3. the snapshot, the queued events and the app state go to the dev-restart state file (atomic, fsync'd);
 * 4. the successor is spawned (`--dev-restart` plus the hand-off flags) and proves itself alive with the
 *    one-time token (`handoff.ts`) — after it loaded the new code, so a syntax error fails *before* the
 *    proof; only then is the instance lock released (`releaseLock`) and `whenHandedOff` resolves: the
 *    caller exits. The successor waits for the lock, restores, re-delivers the events.
 * If the successor exits (or stays silent) before its proof, this process keeps the lock and the state
 * file, reports `dev.restart_failed`, and keeps watching with the app stopped ("crashed — waiting for
 * file changes"); the next change spawns again. Changes seen during a restart are kept for the next one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DevRestartError, describeValue } from '../errors.js';
import { openJournal, type Journal, type JournalSink } from '../journal/index.js';
import { awaitSuccessorProof, cancelHandoff, ensureHandoffDir, handoffDir } from '../handoff/index.js';
import { channelEnv, channelStdio, predecessorChannel, type PredecessorChannel } from '../handoff/handoff-channel.js';
import { successorArgs } from '../runtime/relauncher.js';
import { killChild, spawnOutcome, watchChildErrors } from '../relaunch/child-process.js';
import { devStatePath, writeDevState, type DevSavedState } from './dev-state-file.js';
import { createFileWatcher, type FileWatcher } from './file-watcher.js';

/** How the successor is started: `execPath [...execArgv, entry, ...args, <hand-off flags>, --dev-restart]`, no shell. */
export interface DevRestartPlan {
  execPath: string;
  execArgv: string[];
  entry: string;
  /** This process's arguments (earlier hand-off flags are replaced). */
  args: string[];
}

/** Where the restarter is in its cycle. */
export type DevRestarterState = 'watching' | 'restarting' | 'crashed' | 'handed_off' | 'closed';

/** Payload of each event the restarter publishes (and journals), by type. */
export interface DevRestarterEventPayloads {
  'dev.watching': { roots: string[]; files: number; changed_since_start: number };
  'dev.change_detected': { files: string[] };
  'dev.restart_deferred': { reason: string };
  'dev.shutdown_started': { files: string[]; reason: 'restart' | 'quit' };
  'dev.shutdown_forced': { timeout_ms: number; waiting_for: string[] };
  'dev.shutdown_hook_failed': { hook: string; message: string };
  'dev.state_saved': { file: string; phase: string | null; restart_count: number | null; events: number };
  'dev.successor_spawned': { child_pid: number | null };
  'dev.restarted': { old_pid: number; new_pid: number; restart_ms: number };
  'dev.restart_failed': { reason: string; exit_code: number | null; signal: string | null; state_file: string };
}
export type DevRestarterEventType = keyof DevRestarterEventPayloads;
/** An event as delivered to listeners and written to the journal. */
export type DevRestarterEvent<T extends DevRestarterEventType = DevRestarterEventType> = {
  [K in T]: { type: K; ts: string; pid: number } & DevRestarterEventPayloads[K];
}[T];

/** A shutdown hook: close a server, stop a worker. May be async; it is not awaited past the shutdown timeout. */
export type ShutdownHook = () => unknown;

/** Options of {@link createDevRestarter}. */
export interface DevRestarterOptions {
  /** The state dir: the dev-restart state file, the hand-off files and the journal. Never watched. */
  stateDir: string;
  /** Files or directories to watch, directories recursively. At least one; each must exist. */
  watch: readonly string[];
  /**
   * File or directory names skipped anywhere under `watch`.
   * @default ['node_modules', '.git']
   */
  ignore?: readonly string[];
  /** How often the watched trees are walked, in ms. @default 100 */
  pollIntervalMs?: number;
  /** Quiet period: a restart starts once no change was seen for this long, in ms. @default 200 */
  debounceMs?: number;
  /** Bound on the whole shutdown (`saveState` and the hooks), in ms; then it goes on without them. @default 10000 */
  shutdownTimeoutMs?: number;
  /** How long the successor has to prove itself alive, in ms. @default 15000 */
  handoffTimeoutMs?: number;
  /** How to start the successor. @default this process again: `process.execPath`, `process.execArgv`, `process.argv` */
  plan?: DevRestartPlan;
  /**
   * Stop the app's actors and return what the successor resumes from. The first step of every shutdown,
   * under its deadline; when it throws or does not finish in time the successor resumes from the ledger.
   */
  saveState: () => Omit<DevSavedState, 'events'> | Promise<Omit<DevSavedState, 'events'>>;
  /** Release the instance lock. Called once the successor proved itself alive, never before. */
  releaseLock: () => unknown;
  /** Hand an input event to the running app (see {@link DevRestarter.dispatch}). @default none: `dispatch` throws */
  deliver?: (event: unknown) => void;
  /** Return a reason to put a restart off for now (e.g. a first-run relaunch is in flight), or `null`. @default never */
  postpone?: () => string | null;
  /** Every event, as journaled. */
  onEvent?: (event: DevRestarterEvent) => void;
  /** Where events are journaled. @default the state dir's `events.ndjson` (opened here, closed by `close()`) */
  journal?: JournalSink;
}

/** A running dev restarter. */
export interface DevRestarter {
  readonly state: DevRestarterState;
  /**
   * Register a hook run on every dev restart, after the state was saved. Hooks run concurrently; the
   * shutdown waits for them up to `shutdownTimeoutMs`. Returns the function that unregisters it.
   */
  onShutdown(hook: ShutdownHook, name?: string): () => void;
  /**
   * Deliver an input event to the app now — or, once a shutdown began, queue it: queued events are
   * saved with the state and re-delivered, in order, by the successor.
   * @throws DevRestartError when no `deliver` option was given.
   */
  dispatch(event: unknown): void;
  /** Subscribe to one event type, or `'*'`. Returns the unsubscribe function. */
  on<T extends DevRestarterEventType>(type: T, listener: (event: DevRestarterEvent<T>) => void): () => void;
  on(type: '*', listener: (event: DevRestarterEvent) => void): () => void;
  /** Restart now, as if `files` had changed (debounced like a change). */
  restart(files?: string[]): void;
  /** Resolves with the successor's PID once it took over and the lock was released: the caller then exits. */
  readonly whenHandedOff: Promise<{ newPid: number }>;
  /**
   * Stop watching; a hand-off in flight is cancelled (its successor exits without running). With
   * `runHooks` (the app quits for good), the shutdown hooks that have not run yet run first, bounded by
   * `shutdownTimeoutMs` like a restart's. Safe to call twice.
   */
  close(options?: { runHooks?: boolean }): Promise<void>;
}

function assertMs(name: string, value: number | undefined, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 86_400_000) {
    throw new DevRestartError(`Expected \`${name}\` to be a whole number of milliseconds from ${min} to 86400000, got ${describeValue(value)}.`);
  }
}

/** This process, started again. */
export function currentProcessPlan(): DevRestartPlan {
  const entry = process.argv[1];
  if (!entry) throw new DevRestartError('Cannot restart this process: process.argv[1] (the entry script) is empty. Pass `plan`.');
  return { execPath: process.execPath, execArgv: [...process.execArgv], entry, args: process.argv.slice(2) };
}

/**
 * Watch `watch` and restart the whole process on a change (see the module comment for the protocol).
 * Starts watching at once.
 * @throws DevRestartError naming the option when `watch` is empty, a root does not exist, or a number is out of range.
 * @example
 * const restarter = createDevRestarter({
 *   stateDir, watch: ['src'],
 *   saveState: async () => ({ ...(await runtime.suspend()), app: null }),
 *   releaseLock: () => runtime.close(),
 * });
 * restarter.onShutdown(() => server.close(), 'http server');
 * await restarter.whenHandedOff; // then exit
 */
export function createDevRestarter(options: DevRestarterOptions): DevRestarter {
  if (!Array.isArray(options.watch) || options.watch.length === 0) {
    throw new DevRestartError(`Expected \`watch\` to name at least one file or directory, got ${describeValue(options.watch)}.`);
  }
  for (const root of options.watch) {
    if (typeof root !== 'string' || statSync(root, { throwIfNoEntry: false }) === undefined) {
      throw new DevRestartError(`Expected every \`watch\` entry to be an existing file or directory, got ${describeValue(root)}.`);
    }
  }
  assertMs('pollIntervalMs', options.pollIntervalMs, 10);
  assertMs('debounceMs', options.debounceMs, 0);
  assertMs('shutdownTimeoutMs', options.shutdownTimeoutMs, 0);
  assertMs('handoffTimeoutMs', options.handoffTimeoutMs, 100);
  const stateDir = resolve(options.stateDir);
  const debounceMs = options.debounceMs ?? 200;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const handoffTimeoutMs = options.handoffTimeoutMs ?? 15_000;
  const plan = options.plan ?? currentProcessPlan();

  let ownJournal: Journal | null = null;
  const journal: JournalSink = options.journal ?? (ownJournal = openJournal({ stateDir }));
  const listeners = new Map<string, Set<(event: DevRestarterEvent) => void>>();
  const emit = <T extends DevRestarterEventType>(type: T, payload: DevRestarterEventPayloads[T]) => {
    try {
      journal.append(type, payload as unknown as Record<string, unknown>);
    } catch {
      // A closed or full journal must not stop a restart; listeners still hear it.
    }
    const event = { ...payload, type, ts: new Date().toISOString(), pid: process.pid } as DevRestarterEvent;
    options.onEvent?.(event);
    for (const key of [type, '*']) for (const listener of listeners.get(key) ?? []) listener(event);
  };

  let state: DevRestarterState = 'watching';
  let appDown = false;
  const hooks = new Map<ShutdownHook, string>();
  const queue: unknown[] = [];
  let saved: Omit<DevSavedState, 'events'> | null = null;
  const pending = new Set<string>();
  let debounce: NodeJS.Timeout | null = null;
  let child: ChildProcess | null = null;
  let inFlightToken: string | null = null;
  let handedOffResolve: (value: { newPid: number }) => void = () => {};
  const whenHandedOff = new Promise<{ newPid: number }>((resolveHandedOff) => {
    handedOffResolve = resolveHandedOff;
  });

  const schedule = (delayMs = debounceMs) => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(check, delayMs);
  };
  const check = () => {
    debounce = null;
    if (pending.size === 0 || (state !== 'watching' && state !== 'crashed')) return;
    const reason = appDown ? null : (options.postpone?.() ?? null);
    if (reason) {
      emit('dev.restart_deferred', { reason });
      schedule(Math.max(debounceMs, 100));
      return;
    }
    const files = [...pending];
    pending.clear();
    void runRestart(files);
  };

  const stateDirPrefix = stateDir;
  const watcher: FileWatcher = createFileWatcher({
    roots: options.watch,
    ignoreNames: options.ignore ?? ['node_modules', '.git'],
    ignorePaths: [stateDirPrefix, handoffDir(stateDir)],
    ...(options.pollIntervalMs !== undefined ? { intervalMs: options.pollIntervalMs } : {}),
    onChange: (files) => {
      for (const file of files) pending.add(file);
      // During a restart the files wait: the next process sees them, or one more restart follows.
      if (state === 'watching' || state === 'crashed') schedule();
    },
  });
  emit('dev.watching', {
    roots: options.watch.map((root) => resolve(root)),
    files: watcher.initial.files,
    changed_since_start: watcher.initial.changedSinceStart.length,
  });
  // Changed after this process started: it may have loaded the old version.
  if (watcher.initial.changedSinceStart.length > 0) {
    for (const file of watcher.initial.changedSinceStart) pending.add(file);
    schedule();
  }

  async function shutdown(files: string[], withState = true): Promise<void> {
    emit('dev.shutdown_started', { files, reason: withState ? 'restart' : 'quit' });
    let timer: NodeJS.Timeout | null = null;
    const deadline = new Promise<'timeout'>((resolveDeadline) => {
      timer = setTimeout(() => resolveDeadline('timeout'), shutdownTimeoutMs);
    });
    const waitingFor = new Set<string>();
    const track = (name: string, run: () => unknown) => {
      waitingFor.add(name);
      return Promise.resolve()
        .then(run)
        .then(
          (value) => {
            waitingFor.delete(name);
            return value;
          },
          (error: unknown) => {
            waitingFor.delete(name);
            emit('dev.shutdown_hook_failed', { hook: name, message: error instanceof Error ? error.message : String(error) });
            return undefined;
          },
        );
    };
    let forced = false;
    if (withState) {
      // The root snapshot first: a hanging hook must not cost the state.
      const result = await Promise.race([track('saveState', options.saveState), deadline]);
      if (result !== 'timeout' && result) saved = result as Omit<DevSavedState, 'events'>;
      forced = result === 'timeout';
    }
    if (!forced && hooks.size > 0) {
      const all = Promise.all([...hooks].map(([hook, name]) => track(name, hook)));
      forced = (await Promise.race([all, deadline])) === 'timeout';
    }
    if (timer) clearTimeout(timer);
    if (forced) emit('dev.shutdown_forced', { timeout_ms: shutdownTimeoutMs, waiting_for: [...waitingFor] });
  }

  /** The app quits for good: only the hooks (the runtime persists the state itself). */
  const runHooks = () => shutdown([], false);

  function saveFile(token: string, files: string[]): string {
    const current = saved ?? { snapshot: null, app: null, phase: null, restartCount: null };
    return writeDevState(stateDir, {
      ...current,
      events: [...queue],
      token,
      fromPid: process.pid,
      savedAt: new Date().toISOString(),
      changes: files,
    });
  }

  type HandoffOutcome = { ok: true; newPid: number } | { ok: false; reason: string; exitCode: number | null; signal: string | null };

  let channel: PredecessorChannel | null = null;

  function giveUpOn(token: string): void {
    // The child first (as the relauncher does): once it is dead, no late successor can exist.
    channel?.cancelled();
    killChild(child); // only a live child of ours: a failed spawn has no PID, and kill() would signal PID 0
    cancelHandoff(stateDir, token); // a failure here leaves nothing behind: the child is gone
  }

  async function handOff(token: string): Promise<HandoffOutcome> {
    const args = [...plan.execArgv, plan.entry, ...successorArgs(plan.args, process.pid, token), '--dev-restart'];
    try {
      ensureHandoffDir(stateDir);
      // Not detached: the successor stays in this process group (a Ctrl-C during the hand-off reaches both).
      const started = watchChildErrors(spawn(plan.execPath, args, { stdio: channelStdio(), shell: false, env: channelEnv(process.env, token) }), () => {
        // A failed start is reported by spawnOutcome / awaitSuccessorProof below; a failed kill leaves a
        // child that the hand-off's own timeout and the proof's PID check still bound. Never uncaught.
      });
      child = started;
      const outcome = await spawnOutcome(started);
      if (!outcome.ok) throw outcome.error; // EMFILE, EAGAIN…: no process was started
      channel = predecessorChannel(started);
    } catch (error) {
      giveUpOn(token);
      return { ok: false, reason: `cannot start it: ${(error as Error).message}`, exitCode: null, signal: null };
    }
    emit('dev.successor_spawned', { child_pid: child.pid ?? null });
    const outcome = await awaitSuccessorProof({ stateDir, token, timeoutMs: handoffTimeoutMs, child, childIsSuccessor: true, channel });
    if (outcome.ok) return { ok: true, newPid: outcome.pid };
    giveUpOn(token);
    return outcome;
  }

  async function runRestart(files: string[]): Promise<void> {
    const started = Date.now();
    state = 'restarting';
    emit('dev.change_detected', { files });
    if (!appDown) {
      appDown = true;
      await shutdown(files);
    }
    if (isClosed()) return;
    const token = randomUUID();
    inFlightToken = token;
    let file: string;
    try {
      file = saveFile(token, files);
    } catch (error) {
      emit('dev.restart_failed', { reason: (error as Error).message, exit_code: null, signal: null, state_file: devStatePath(stateDir) });
      state = 'crashed';
      return;
    }
    emit('dev.state_saved', { file, phase: saved?.phase ?? null, restart_count: saved?.restartCount ?? null, events: queue.length });
    const outcome = await handOff(token);
    inFlightToken = null;
    if (isClosed()) return;
    if (!outcome.ok) {
      emit('dev.restart_failed', { reason: outcome.reason, exit_code: outcome.exitCode, signal: outcome.signal, state_file: file });
      state = 'crashed';
      if (pending.size > 0) schedule();
      return;
    }
    // Events that came in during the hand-off: the successor re-reads the file once it holds the lock.
    if (queue.length > 0) saveFile(token, files);
    state = 'handed_off';
    watcher.close();
    try {
      await options.releaseLock();
      channel?.released();
    } catch {
      // The lock is released on exit anyway; the successor then takes it over.
    }
    emit('dev.restarted', { old_pid: process.pid, new_pid: outcome.newPid, restart_ms: Date.now() - started });
    ownJournal?.close();
    handedOffResolve({ newPid: outcome.newPid });
  }

  const isClosed = () => state === 'closed';

  const restarter: DevRestarter = {
    get state() {
      return state;
    },
    onShutdown(hook, name) {
      if (typeof hook !== 'function') throw new DevRestartError(`Expected a shutdown hook to be a function, got ${describeValue(hook)}.`);
      hooks.set(hook, name ?? (hook.name || `hook ${hooks.size + 1}`));
      return () => hooks.delete(hook);
    },
    dispatch(event) {
      if (!options.deliver) throw new DevRestartError('dispatch() needs the `deliver` option (how an event reaches the running app).');
      if (state === 'watching' && !appDown) options.deliver(event);
      else queue.push(event);
    },
    on(type: string, listener: (event: never) => void) {
      const set = listeners.get(type) ?? new Set();
      set.add(listener as (event: DevRestarterEvent) => void);
      listeners.set(type, set);
      return () => set.delete(listener as (event: DevRestarterEvent) => void);
    },
    restart(files = ['(manual)']) {
      for (const file of files) pending.add(file);
      if (state === 'watching' || state === 'crashed') schedule();
    },
    whenHandedOff,
    async close(closeOptions) {
      if (state === 'closed') return;
      const wasHandedOff = state === 'handed_off';
      if (closeOptions?.runHooks && !appDown && state === 'watching') {
        appDown = true;
        state = 'restarting';
        await runHooks();
      }
      state = 'closed';
      watcher.close();
      if (debounce) clearTimeout(debounce);
      if (inFlightToken) giveUpOn(inFlightToken);
      if (!wasHandedOff) ownJournal?.close();
    },
  };
  return restarter;
}
