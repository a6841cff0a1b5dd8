/** Dev mode (SPEC DV-1): restart the whole process on a source change and carry the state across. */
export {
  createDevRestarter,
  currentProcessPlan,
  type DevRestarter,
  type DevRestarterEvent,
  type DevRestarterEventPayloads,
  type DevRestarterEventType,
  type DevRestarterOptions,
  type DevRestarterState,
  type DevRestartPlan,
  type ShutdownHook,
} from './dev-restarter.js';
export {
  prepareDevSession,
  setAsideStaleDevState,
  type DevApp,
  type DevInputEvent,
  type DevModuleSetup,
  type DevSession,
  type DevSessionOptions,
} from './dev-session.js';
export { DEV_STATE_FILE, DEV_STATE_RESTORED_FILE, DEV_STATE_STALE_FILE, readDevState, type DevSavedState, type DevStateDocument } from './dev-state-file.js';
export { createFileWatcher, type FileWatcher, type FileWatcherOptions } from './file-watcher.js';
