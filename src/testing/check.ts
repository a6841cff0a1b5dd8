/**
 * One call for an adopter's CI: every model of the first run for their settings, generated and
 * replayed with a crash at every step, and what broke — as data. Synchronous (`checkFirstRun`), or
 * asynchronous with progress (`checkFirstRunAsync`): the same run, the second pausing for the event
 * loop so a test runner's timeout, an abort and the progress output get through.
 */
import type { AnyStateMachine } from 'xstate';
import { orchestratorMachine } from '../../machines/orchestrator.machine.js';
import { permissionStepMachine } from '../../machines/permission-step.machine.js';
import { relaunchGateMachine } from '../../machines/relaunch-gate.machine.js';
import type { OrchestratorSettings } from '../../machines/types.js';
import { isMachine } from './inert.js';
import { generatePaths, type GeneratedPaths, type TestModel } from './model.js';
import { orchestratorModel } from './models/orchestrator.js';
import { permissionStepModels } from './models/permission-step.js';
import { relaunchGateModel } from './models/relaunch-gate.js';
import { drain, replayRun, resolveMaxFailures, type ReplayFailure, type ReplayOptions, type ReplayReport } from './replay.js';

/** The machines a check may be given instead of the product's. */
export interface CheckMachines {
  /** The root. Its children (`relaunchGate`, `permissionStep`) are the ones the child models check, unless given below. */
  orchestrator?: AnyStateMachine;
  /** The permission step: checked by its own models, and run as the orchestrator's child. */
  permissionStep?: AnyStateMachine;
  /** The relaunch gate: checked by its own models, and run as the orchestrator's child. */
  relaunchGate?: AnyStateMachine;
}

/** Options of {@link checkFirstRun}. */
export interface CheckFirstRunOptions extends ReplayOptions {
  /**
   * Machines to test instead of the product's (an adopter's variant, or a sabotaged one in a test of the
   * tests). Each machine runs everywhere it runs in the product: a gate given here is the gate's models'
   * machine *and* the orchestrator's child; a gate given as the orchestrator's child (`orchestrator:
   * orchestratorMachine.provide({ actors: { relaunchGate } })`) is also checked by the gate's models.
   * See {@link machinesUnderTest}.
   */
  machines?: CheckMachines;
  /** Model the other `advance_on_timeout` too. @default false */
  bothTimeoutModes?: boolean;
}

/** What one model gave. */
export interface ModelReport {
  model: string;
  /** Generated paths (the shortest path to every reachable state). */
  paths: number;
  /** Maximal paths among them (the ones replayed). */
  maximal: number;
  replays: number;
  /** Event types the machine accepts that the model never sends (see `TestModel.internal`). */
  unmodelled: string[];
  failures: ReplayFailure[];
  /** The end states of the generated paths (for coverage assertions). */
  endStates: { value: unknown; status?: string; output?: unknown }[];
}

/** What {@link checkFirstRun} returns. */
export interface FirstRunCheck {
  /** The models checked, in order (not those left unchecked once `maxFailures` was reached). */
  models: ModelReport[];
  /** Every model's failures, together: at most `maxFailures`. */
  failures: ReplayFailure[];
  paths: number;
  replays: number;
  /** The models not checked because the check had reached `maxFailures` before them (empty when none). */
  unchecked: string[];
}

/** Where {@link checkFirstRunAsync} is, told to `onProgress`. */
export interface CheckProgress {
  /** `model_started`: its paths are generated next; `replaying`: some replays ran (at most one event per `progressIntervalMs`); `model_done`. */
  kind: 'model_started' | 'replaying' | 'model_done';
  /** The model's name, e.g. `relaunchGate (ledger: latest)`. */
  model: string;
  /** The model's place (from 1) among `models`. */
  index: number;
  models: number;
  /** This model's replays run so far, and planned (0 until its paths are generated; fewer run when `maxFailures` stops the check). */
  replays: number;
  plannedReplays: number;
  /** Replays and failures of the whole check so far. */
  totalReplays: number;
  failures: number;
  /** Since the check started. */
  elapsedMs: number;
}

/** Options of {@link checkFirstRunAsync}. */
export interface CheckFirstRunAsyncOptions extends CheckFirstRunOptions {
  /** Told where the check is: when a model starts and ends, and while it replays. @default none */
  onProgress?: (progress: CheckProgress) => void;
  /** How often, at most, `onProgress` hears `replaying`. @default 1000 */
  progressIntervalMs?: number;
  /** Stops the check: the promise rejects with the signal's reason (e.g. a test runner's timeout signal). @default none */
  signal?: AbortSignal;
}

/** One model's report: its generated paths with the replays' report. */
function modelReport(model: TestModel, generated: GeneratedPaths, report: ReplayReport): ModelReport {
  return {
    model: model.name,
    paths: generated.paths.length,
    maximal: generated.maximal.length,
    replays: report.replays,
    unmodelled: generated.unmodelled,
    failures: report.failures,
    endStates: generated.paths.map((path) => {
      const state = path.state as { value: unknown; status?: string; output?: unknown };
      return { value: state.value, status: state.status, output: state.output };
    }),
  };
}

/**
 * Generate and replay one model (`maxFailures` counts this model's failures).
 * @throws {UsageError} for a `maxFailures` that is not a whole number from 1.
 */
export function checkModel(model: TestModel, options: ReplayOptions = {}): ModelReport {
  const generated = generatePaths(model);
  return modelReport(model, generated, drain(replayRun(model, generated, options)));
}

/**
 * The machines a check runs: those given, else the given orchestrator's own children, else the
 * product's — and the orchestrator with the given children provided, so that its replay runs the
 * children the child models check (a sabotaged gate is caught whichever way it is passed).
 */
export function machinesUnderTest(machines: CheckMachines = {}): Required<CheckMachines> {
  const root = machines.orchestrator ?? orchestratorMachine;
  const child = (name: 'relaunchGate' | 'permissionStep', product: AnyStateMachine): AnyStateMachine => {
    const logic = (root.implementations.actors as Record<string, unknown> | undefined)?.[name];
    return isMachine(logic) ? logic : product;
  };
  const relaunchGate = machines.relaunchGate ?? child('relaunchGate', relaunchGateMachine);
  const permissionStep = machines.permissionStep ?? child('permissionStep', permissionStepMachine);
  const given = { ...(machines.relaunchGate ? { relaunchGate } : {}), ...(machines.permissionStep ? { permissionStep } : {}) };
  const orchestrator = Object.keys(given).length > 0 ? (root.provide({ actors: given } as never) as AnyStateMachine) : root;
  return { orchestrator, permissionStep, relaunchGate };
}

/** The models of a check, in the order they run. */
function firstRunModels(settings: OrchestratorSettings, options: CheckFirstRunOptions): TestModel[] {
  const machines = machinesUnderTest(options.machines);
  return [
    orchestratorModel(settings, { machine: machines.orchestrator }),
    ...permissionStepModels(settings, { machine: machines.permissionStep, bothTimeoutModes: options.bothTimeoutModes ?? false }),
    ...(['latest', 'committed'] as const).map((ledger) => relaunchGateModel({ settings, ledger, machine: machines.relaunchGate })),
  ];
}

/** One step of a check: where it is (as progress, less the time), and the model's report when it is done. */
type CheckStep = Omit<CheckProgress, 'elapsedMs'> & { report?: ModelReport };

/** The whole check, one step at a time (the sync and the async forms drive it). `maxFailures` counts over every model. */
function* checkRun(settings: OrchestratorSettings, options: CheckFirstRunOptions): Generator<CheckStep, FirstRunCheck, void> {
  const maxFailures = resolveMaxFailures(options.maxFailures);
  const models = firstRunModels(settings, options);
  const reports: ModelReport[] = [];
  const unchecked: string[] = [];
  let failures = 0;
  let replays = 0;
  for (const [i, model] of models.entries()) {
    if (failures >= maxFailures) {
      unchecked.push(model.name);
      continue;
    }
    const place = { model: model.name, index: i + 1, models: models.length };
    yield { kind: 'model_started', ...place, replays: 0, plannedReplays: 0, totalReplays: replays, failures };
    const generated = generatePaths(model);
    const run = replayRun(model, generated, { ...options, maxFailures: maxFailures - failures });
    let next = run.next();
    for (; !next.done; next = run.next()) {
      const tick = next.value;
      yield { kind: 'replaying', ...place, replays: tick.replays, plannedReplays: tick.planned, totalReplays: replays + tick.replays, failures: failures + tick.failures };
    }
    const report = modelReport(model, generated, next.value);
    reports.push(report);
    failures += report.failures.length;
    replays += report.replays;
    yield { kind: 'model_done', ...place, replays: report.replays, plannedReplays: report.replays, totalReplays: replays, failures, report };
  }
  return {
    models: reports,
    failures: reports.flatMap((report) => report.failures),
    paths: reports.reduce((sum, report) => sum + report.paths, 0),
    replays,
    unchecked,
  };
}

/**
 * The orchestrator (with its children), every permission step of the order and the relaunch gate (both
 * ledger variants), for the adopter's settings. Synchronous: it blocks the thread until done (seconds to
 * a minute or two, depending on the order), so a test runner's timeout cannot fire meanwhile — give the
 * test a timeout that fits, or use {@link checkFirstRunAsync}. `maxFailures` counts over the whole
 * check: once reached, the models left are not checked (`unchecked`).
 *
 * @throws {UsageError} for a `maxFailures` that is not a whole number from 1.
 * @example
 * ```ts
 * const result = checkFirstRun(settingsFromConfig(myConfig));
 * expect(result.failures).toEqual([]);
 * ```
 */
export function checkFirstRun(settings: OrchestratorSettings, options: CheckFirstRunOptions = {}): FirstRunCheck {
  return drain(checkRun(settings, options));
}

/** How long the async check works before it lets the event loop run (a timer due meanwhile fires then). */
const PAUSE_EVERY_MS = 25;

/** Let the event loop run (timers, I/O, an abort) before going on. */
const pause = () => new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * {@link checkFirstRun}, asynchronous: the same models and the same result, with progress through
 * `onProgress`, pausing for the event loop every few tens of milliseconds — so a test runner's timeout
 * fires on time, `signal` can stop it, and progress is printed while it runs. (Generating one model's
 * paths is one synchronous stretch: about a second for a large order.)
 *
 * @throws {UsageError} for a bad `maxFailures` (the promise rejects); the signal's reason when aborted.
 * @example
 * ```ts
 * const result = await checkFirstRunAsync(settings, {
 *   onProgress: (p) => p.kind === 'model_done' && console.log(`${p.index}/${p.models} ${p.model}: ${p.replays} replays`),
 * });
 * expect(result.failures).toEqual([]);
 * ```
 */
export async function checkFirstRunAsync(settings: OrchestratorSettings, options: CheckFirstRunAsyncOptions = {}): Promise<FirstRunCheck> {
  const started = performance.now();
  const intervalMs = options.progressIntervalMs ?? 1000;
  let lastProgress = -Infinity;
  let lastPause = started;
  options.signal?.throwIfAborted();
  const run = checkRun(settings, options);
  let next = run.next();
  for (; !next.done; next = run.next()) {
    const { report: _report, ...step } = next.value;
    const now = performance.now();
    if (step.kind !== 'replaying' || now - lastProgress >= intervalMs) {
      if (step.kind === 'replaying') lastProgress = now;
      options.onProgress?.({ ...step, elapsedMs: Math.round(now - started) });
    }
    if (step.kind !== 'replaying' || now - lastPause >= PAUSE_EVERY_MS) {
      await pause();
      lastPause = performance.now();
      options.signal?.throwIfAborted();
    }
  }
  return next.value;
}
