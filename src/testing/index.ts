/**
 * `first-run-orchestrator/testing`: model-based tests of the first run, generated from the machines
 * with `xstate/graph`, for an adopter's own configuration (docs/testing.md).
 *
 * - {@link provideInert}: every effect of a machine (children included) inert and reported;
 * - models — {@link orchestratorModel}, {@link permissionStepModels}, {@link relaunchGateModel} — the
 *   world around each machine, parameterised by the adopter's settings ({@link settingsFromConfig});
 * - {@link generatePaths}: the shortest path to every reachable state;
 * - {@link replayPaths}: each path replayed against a real actor with a crash and restore at every step,
 *   the invariants checked, failures returned as data;
 * - {@link checkFirstRun}: all of it in one call; {@link checkFirstRunAsync}: the same, with progress.
 *
 * @packageDocumentation
 */
export { inertOrchestrator, inertPermissionStep, inertRelaunchGate, provideInert, PARENT_ACTIONS, type EffectCall, type InertOptions } from './inert.js';
export {
  acceptedEvents,
  generatePaths,
  leafOf,
  maximalPaths,
  modelEvents,
  topOf,
  type GeneratedPaths,
  type InvariantViolation,
  type ModelSnapshot,
  type ReplayWatcher,
  type TestModel,
} from './model.js';
export { replayPath, replayPaths, type ReplayFailure, type ReplayOptions, type ReplayReport } from './replay.js';
export { settingsFromConfig } from './settings.js';
export { orchestratorEvents, orchestratorModel, type OrchestratorModelOptions } from './models/orchestrator.js';
export { PERMISSION_STEP_EVENTS, permissionStepInputs, permissionStepModels, permissionsOf, type PermissionStepModelOptions } from './models/permission-step.js';
export { RELAUNCH_GATE_EVENTS, relaunchGateInput, relaunchGateModel, type RelaunchGateModelOptions } from './models/relaunch-gate.js';
export { RELAUNCH_GATE_INPUTS, relaunchGateEvents, relaunchGateShortestPaths, type GateModelEvent } from './relaunch-gate-model.js';
export {
  checkFirstRun,
  checkFirstRunAsync,
  checkModel,
  machinesUnderTest,
  type CheckFirstRunAsyncOptions,
  type CheckFirstRunOptions,
  type CheckMachines,
  type CheckProgress,
  type FirstRunCheck,
  type ModelReport,
} from './check.js';
