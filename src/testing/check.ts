/**
 * One call for an adopter's CI: every model of the first run for their settings, generated and
 * replayed with a crash at every step, and what broke — as data.
 */
import type { AnyStateMachine } from 'xstate';
import type { OrchestratorSettings } from '../../machines/types.js';
import { generatePaths, type TestModel } from './model.js';
import { orchestratorModel } from './models/orchestrator.js';
import { permissionStepModels } from './models/permission-step.js';
import { relaunchGateModel } from './models/relaunch-gate.js';
import { replayPaths, type ReplayFailure, type ReplayOptions } from './replay.js';

/** Options of {@link checkFirstRun}. */
export interface CheckFirstRunOptions extends ReplayOptions {
  /** Machines to test instead of the product's (an adopter's variant, or a sabotaged one in a test of the tests). */
  machines?: { orchestrator?: AnyStateMachine; permissionStep?: AnyStateMachine; relaunchGate?: AnyStateMachine };
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
  models: ModelReport[];
  /** Every model's failures, together. */
  failures: ReplayFailure[];
  paths: number;
  replays: number;
}

/** Generate and replay one model. */
export function checkModel(model: TestModel, options: ReplayOptions = {}): ModelReport {
  const generated = generatePaths(model);
  const report = replayPaths(model, generated, options);
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
 * The orchestrator (with its children), every permission step of the order and the relaunch gate (both
 * ledger variants), for the adopter's settings.
 *
 * @example
 * ```ts
 * const result = checkFirstRun(settingsFromConfig(myConfig));
 * expect(result.failures).toEqual([]);
 * ```
 */
export function checkFirstRun(settings: OrchestratorSettings, options: CheckFirstRunOptions = {}): FirstRunCheck {
  const machines = options.machines ?? {};
  const models: TestModel[] = [
    orchestratorModel(settings, machines.orchestrator ? { machine: machines.orchestrator } : {}),
    ...permissionStepModels(settings, { ...(machines.permissionStep ? { machine: machines.permissionStep } : {}), bothTimeoutModes: options.bothTimeoutModes ?? false }),
    ...(['latest', 'committed'] as const).map((ledger) =>
      relaunchGateModel({ settings, ledger, ...(machines.relaunchGate ? { machine: machines.relaunchGate } : {}) }),
    ),
  ];
  const reports = models.map((model) => checkModel(model, options));
  return {
    models: reports,
    failures: reports.flatMap((report) => report.failures),
    paths: reports.reduce((sum, report) => sum + report.paths, 0),
    replays: reports.reduce((sum, report) => sum + report.replays, 0),
  };
}
