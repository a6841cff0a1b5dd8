/**
 * first-run-orchestrator — the runtime entry: what a client process imports at every start. Start with
 * `runFirstRun` (lock, ledger, journal, relaunch hand-off: what a client process embeds), or
 * `createFirstRunService` for the machines alone.
 *
 * It loads only what a launch needs. Tooling lives behind subpath exports (package.json `exports`), so
 * an app never loads it by accident (test/package/lean-entry.test.ts keeps it that way):
 * - `first-run-orchestrator/machines` — the pure machines;
 * - `first-run-orchestrator/inspect` — the Stately inspector bridge and the offline viewer
 *   (`@statelyai/inspect` is an optional peer dependency, loaded only when inspection is asked for);
 * - `first-run-orchestrator/statecharts` — the statechart generator;
 * - `first-run-orchestrator/dev` — the dev-mode restarter;
 * - `first-run-orchestrator/testing` — the test models, for your own model-based tests.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export {
  PERMISSIONS,
  PHASES,
  STEP_OUTCOMES,
  TRAY_STATUSES,
  type AppMode,
  type OrchestratorSettings,
  type PermissionName,
  type PermissionStatus,
  type Phase,
  type RelaunchStrategy,
  type StepOutcome,
  type StepResult,
  type TrayStatus,
} from '../machines/types.js';
export {
  DEFAULT_PERMISSIONS,
  PERMISSION_CATALOGUE,
  PERMISSION_KINDS,
  permissionKind,
  settingsUrl,
  type AskStyle,
  type GrantVisibility,
  type PermissionKind,
} from '../machines/permissions.js';
export { TRAY_COLORS } from '../machines/tray.machine.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { loadConfig, parseConfig, DEFAULT_SETTINGS } from './config/index.js';
export type { PermissionBackend } from './backend/permission-backend.js';
export { loadBackend, type BackendKind, type LoadBackendOptions } from './backend/load-backend.js';
export { createMacBackend, type MacBackend, type MacBackendOptions, type MacActivationReport } from './backend/macos-backend.js';
export { createSimBackend, parseScenario, writeScenario, readSimState, DEMO_SCENARIO, catalogueScenario } from './backend/sim-backend.js';
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
