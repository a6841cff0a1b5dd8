/**
 * first-run-orchestrator — the library. Start with `runFirstRun` (lock, ledger, journal, relaunch
 * hand-off: what a client process embeds), or `createFirstRunService` for the machines alone.
 * The pure machines are in `first-run-orchestrator/machines`.
 */
export * from './errors.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { loadConfig, parseConfig, DEFAULT_SETTINGS } from './config/index.js';
export type { PermissionBackend } from './backend/permission-backend.js';
export { loadBackend, type BackendKind, type LoadBackendOptions } from './backend/load-backend.js';
export { createSimBackend, parseScenario, writeScenario, readSimState, DEMO_SCENARIO } from './backend/sim-backend.js';
export {
  createFirstRunService,
  phaseOf,
  type FirstRunService,
  type FirstRunServiceOptions,
  type PersistSnapshot,
  type Relauncher,
  type RelaunchRequest,
  type SettledOutcome,
  type SettledResult,
} from './service/create-first-run-service.js';
export type { FirstRunEvent, FirstRunEventPayloads, FirstRunEventType } from './service/events.js';
export * from './runtime/index.js';
export * from './lock/index.js';
export { openLedgerStore, readLedgerSummary, resetLedger, type LedgerStore } from './ledger/index.js';
export { openJournal, readJournal, type Journal } from './journal/index.js';
export { defaultStateDir, isMacOS } from './platform.js';
export * from './inspect/index.js';
export * from './dev/index.js';
