/** The process runtime: lock + ledger + journal + service + relaunch hand-off. */
export {
  runFirstRun,
  type FirstRunRuntime,
  type RunFirstRunOptions,
  type RuntimeEvent,
  type RuntimeResult,
  type SuccessorInfo,
} from './run-first-run.js';
export { createProcessRelauncher, type ProcessRelauncher, parseSuccessorFlags, readSuccessorInfo, successorArgs, assertStrategyAvailable, type RelaunchPlan } from './relauncher.js';
export { validateOrchestratorSnapshot, safeModeSnapshot } from './snapshot.js';
export { resetFirstRun, type ResetFirstRunOptions, type ResetFirstRunResult } from './reset-first-run.js';
export * from '../handoff/index.js';
export { prepareStateDir, type PreparedStateDir } from '../fs/state-dir.js';
