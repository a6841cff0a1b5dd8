/**
 * Replays generated paths against real actors (the model's machine, effects inert) and reports the
 * invariants they break — as data, never by throwing, so a test asserts `failures` is empty (or, for a
 * sabotaged machine, that it is not).
 *
 * One replay of a path: start the actor; send each step's event (a `runtime.booted` step is a new
 * process: persist → JSON → stop → restore → boot); with `crashAt = k`, "kill -9" before step k (the
 * same, with a fresh boot id) and go on with the rest of the path, each event where the restored
 * state accepts it; at the end restore once more and
 * let the model drive the actor to rest. The watcher checks the invariants after every step and every
 * restore. Without a crash the replay is also exact: the real actor must be where the graph said.
 */
import { createActor, type AnyActorRef, type AnyEventObject, type AnyStateMachine } from 'xstate';
import type { StatePath } from 'xstate/graph';
import { UsageError } from '../errors.js';
import { provideInert, type EffectCall } from './inert.js';
import { acceptedEvents, modelEvents, type GeneratedPaths, type InvariantViolation, type ModelSnapshot, type ReplayWatcher, type TestModel } from './model.js';

/** One broken invariant in one replay. */
export interface ReplayFailure extends InvariantViolation {
  model: string;
  /** The path's events, by type. */
  path: string[];
  /** Before which step the crash was injected; `null` for the replay without an injected crash. */
  crashAt: number | null;
  /** The step after which it was seen (`path.length` for the final restore and settling). */
  step: number;
}

/** What {@link replayPaths} returns. */
export interface ReplayReport {
  model: string;
  /** Paths replayed (maximal paths, and extended ones when asked). */
  paths: number;
  /** Replays run (each path once without a crash, and once per injected crash). */
  replays: number;
  failures: ReplayFailure[];
}

/** Options of {@link replayPaths}. */
export interface ReplayOptions {
  /** Inject a crash before every step of every path (`every-step`) or never (`none`). @default 'every-step' */
  crashes?: 'every-step' | 'none';
  /** Also replay every path extended by every event the world can send at its end (every transition taken). @default true */
  extend?: boolean;
  /**
   * Stop after this many failures: of the model for `replayPaths` and `checkModel`, of the whole check
   * (every model together) for `checkFirstRun`. A whole number from 1.
   * @default 20
   */
  maxFailures?: number;
}

/** Boot numbers of injected crashes start here, so they never equal a boot the path itself makes. */
const CRASH_BOOT_BASE = 1000;

/** One inert copy of a model's machine, reused by its replays (`provide` rebuilds the whole machine); effects go to the replay running now. */
const inertLogic = new WeakMap<TestModel, { logic: AnyStateMachine; sink: (call: EffectCall) => void }>();

function inertLogicOf(model: TestModel): { logic: AnyStateMachine; sink: (call: EffectCall) => void } {
  let entry = inertLogic.get(model);
  if (!entry) {
    const created: { logic: AnyStateMachine | null; sink: (call: EffectCall) => void } = { logic: null, sink: () => {} };
    created.logic = provideInert(model.machine, { record: (call) => created.sink(call), detachParent: model.standalone });
    entry = created as { logic: AnyStateMachine; sink: (call: EffectCall) => void };
    inertLogic.set(model, entry);
  }
  return entry;
}

class Replay {
  boot = 0;
  actor!: AnyActorRef;
  readonly violations: (InvariantViolation & { step: number })[] = [];
  step = -1;
  private readonly watcher: ReplayWatcher;
  private readonly logic: AnyStateMachine;
  private crashes = 0;

  constructor(private readonly model: TestModel) {
    this.watcher = model.watch();
    const inert = inertLogicOf(model);
    inert.sink = (call) => this.watcher.onEffect(call, this.boot);
    this.logic = inert.logic;
    this.start(undefined);
  }

  get failed(): boolean {
    return this.violations.length > 0;
  }

  private start(snapshot: unknown): void {
    this.actor = createActor(this.logic, { input: this.model.input, ...(snapshot ? { snapshot: snapshot as never } : {}) });
    this.actor.subscribe({ error: (error) => this.add([{ invariant: 'no_actor_error', message: `the actor failed: ${String(error)}` }]) });
    this.actor.start();
    this.check();
  }

  private add(found: InvariantViolation[]): void {
    for (const violation of found) this.violations.push({ ...violation, step: this.step });
  }

  check(): void {
    this.add(this.watcher.check(this.actor, this.boot));
  }

  send(event: AnyEventObject): void {
    if (event.type === 'runtime.booted') {
      this.restore(event);
      return;
    }
    this.watcher.beforeSend?.(event, this.actor, this.boot);
    this.actor.send(event);
    this.check();
  }

  /** kill -9 and a new process: persist → JSON → restore → boot (the path's boot event, or a fresh one). */
  restore(bootEvent?: AnyEventObject): void {
    const latest = JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot())) as unknown;
    // A boot the path makes follows the graph (which restores the latest); a crash restores what the world made durable.
    const persisted = !bootEvent && this.watcher.persisted ? this.watcher.persisted(latest) : latest;
    this.actor.stop();
    this.boot += 1;
    this.start(JSON.parse(JSON.stringify(persisted)));
    const event = bootEvent ?? this.model.bootEvent(CRASH_BOOT_BASE + ++this.crashes, this.actor.getSnapshot() as ModelSnapshot);
    // A finished actor (a step that ended) hears nothing more; the host does not boot it.
    if (this.actor.getSnapshot().status === 'active') {
      this.watcher.beforeSend?.(event, this.actor, this.boot);
      this.actor.send(event);
    }
    this.add(this.watcher.afterRestore?.(persisted, this.actor, this.boot) ?? []);
    this.check();
  }

  settle(): void {
    this.model.settle?.(this.actor, (event) => this.send(event));
  }
}

function describePath(path: StatePath<any, any>): string[] {
  return path.steps.map((step) => step.event.type as string);
}

/**
 * Replays one path, with an injected crash before step `crashAt` (or none), and returns what broke.
 * `exact` (the default without a crash) also requires the real actor to follow the graph's states.
 */
export function replayPath(model: TestModel, path: StatePath<any, any>, crashAt: number | null, exact = crashAt === null): ReplayFailure[] {
  const run = new Replay(model);
  path.steps.forEach((step, index) => {
    if (run.failed) return;
    run.step = index;
    if (index === crashAt) run.restore();
    const event = step.event as AnyEventObject;
    // After an injected crash the rest of the path is sent where the restored state accepts it (a result
    // of an actor the dead process was running never arrives in the new one).
    if (crashAt !== null && index >= crashAt && event.type !== 'runtime.booted' && !acceptedEvents(run.actor.getSnapshot() as ModelSnapshot).includes(event.type)) return;
    run.send(event);
    if (exact && !run.failed && JSON.stringify(run.actor.getSnapshot().value) !== JSON.stringify(step.state.value)) {
      run.violations.push({
        invariant: 'replay_follows_graph',
        message: `after ${String(step.event.type)} the actor is in ${JSON.stringify(run.actor.getSnapshot().value)}, the graph says ${JSON.stringify(step.state.value)}`,
        step: index,
      });
    }
  });
  if (!run.failed) {
    run.step = path.steps.length;
    run.restore();
    run.settle();
  }
  run.actor.stop();
  const first = run.violations[0];
  return first ? [{ ...first, model: model.name, path: describePath(path), crashAt }] : [];
}

/** One replay to run: a path, where a crash is injected (`null`: none), and whether it must follow the graph exactly. */
interface ReplayJob {
  path: StatePath<any, any>;
  crashAt: number | null;
  exact?: boolean;
}

/** The replays {@link replayPaths} runs, in order, and the number of paths they replay. */
function replayJobs(model: TestModel, generated: GeneratedPaths, options: ReplayOptions): { jobs: ReplayJob[]; paths: number } {
  const jobs: ReplayJob[] = [];
  let paths = 0;
  for (const path of generated.maximal) {
    paths++;
    jobs.push({ path, crashAt: null });
    if (options.crashes !== 'none') for (let crashAt = 0; crashAt < path.steps.length; crashAt++) jobs.push({ path, crashAt });
  }
  if (options.extend !== false) {
    for (const path of generated.paths) {
      const state = path.state as unknown as ModelSnapshot;
      for (const event of modelEvents(model, state, model.bootsOf?.(state) ?? 0)) {
        paths++;
        // The last step's state is unknown here: check the invariants only.
        jobs.push({ path: { ...path, steps: [...path.steps, { event, state: path.state }] } as StatePath<any, any>, crashAt: null, exact: false });
      }
    }
  }
  return { jobs, paths };
}

/**
 * `maxFailures` as given, checked: a whole number from 1.
 * @throws {UsageError} naming the option, what it takes and what was given.
 */
export function resolveMaxFailures(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_FAILURES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new UsageError(`Expected \`maxFailures\` to be a whole number from 1, got \`${String(value)}\` (${typeof value}).`);
  }
  return value;
}

/** The default of `maxFailures`. */
export const DEFAULT_MAX_FAILURES = 20;

/** Where a replay run is: yielded after every replay by {@link replayRun}. */
export interface ReplayTick {
  /** Replays run so far, and how many the run plans (fewer run when `maxFailures` stops it). */
  replays: number;
  planned: number;
  /** Failures found so far. */
  failures: number;
}

/**
 * The replays of {@link replayPaths}, one step at a time: yields after each replay, returns the report.
 * Driven to the end synchronously by `replayPaths`, and with pauses for the event loop by the async check.
 * @internal
 */
export function* replayRun(model: TestModel, generated: GeneratedPaths, options: ReplayOptions = {}): Generator<ReplayTick, ReplayReport, void> {
  const maxFailures = resolveMaxFailures(options.maxFailures);
  const { jobs, paths } = replayJobs(model, generated, options);
  const failures: ReplayFailure[] = [];
  let replays = 0;
  for (const job of jobs) {
    if (failures.length >= maxFailures) break;
    failures.push(...replayPath(model, job.path, job.crashAt, job.exact));
    replays++;
    yield { replays, planned: jobs.length, failures: failures.length };
  }
  return { model: model.name, paths, replays, failures: failures.slice(0, maxFailures) };
}

/** Run a generator to its end, ignoring what it yields; its return value. */
export function drain<T>(run: Generator<unknown, T, void>): T {
  for (;;) {
    const next = run.next();
    if (next.done) return next.value;
  }
}

/**
 * Replays the generated paths: every maximal path without a crash and with a crash before every step
 * (so a crash is injected in every reachable state), and (unless `extend: false`) every path extended
 * by every event the world can send at its end. Failures come back as data. Synchronous: it blocks the
 * thread until done (the async form is `checkFirstRunAsync`).
 *
 * @throws {UsageError} for a `maxFailures` that is not a whole number from 1.
 * @example
 * ```ts
 * const model = relaunchGateModel({ settings });
 * const report = replayPaths(model, generatePaths(model));
 * expect(report.failures).toEqual([]);
 * ```
 */
export function replayPaths(model: TestModel, generated: GeneratedPaths, options: ReplayOptions = {}): ReplayReport {
  return drain(replayRun(model, generated, options));
}
