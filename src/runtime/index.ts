/** The process runtime: lock + ledger + journal + service + relaunch hand-off. */
export {
  runFirstRun,
  type FirstRunRuntime,
  type RunFirstRunOptions,
  type RuntimeEvent,
  type RuntimeResult,
  type SuccessorInfo,
} from './run-first-run.js';
export { createProcessRelauncher, parseSuccessorFlags, readSuccessorInfo, successorArgs, assertStrategyAvailable, type RelaunchPlan } from './relauncher.js';
export { validateOrchestratorSnapshot, safeModeSnapshot } from './snapshot.js';
export { writeAliveProof, readAliveProof, cancelHandoff, isHandoffCancelled } from './handoff.js';
