/**
 * The pure machines of first-run-orchestrator. No I/O: every effect is a named action or actor that
 * `src/` provides. `machines` maps each machine's id to it (used by the statechart generator and the
 * model-based tests).
 */
import { orchestratorMachine } from './orchestrator.machine.js';
import { permissionStepMachine } from './permission-step.machine.js';
import { quitIntentMachine } from './quit-intent.machine.js';
import { relaunchGateMachine } from './relaunch-gate.machine.js';
import { trayMachine } from './tray.machine.js';

export * from './types.js';
export * from './permissions.js';
export * from './effects.js';
export * from './orchestrator.machine.js';
export * from './permission-step.machine.js';
export * from './quit-intent.machine.js';
export * from './relaunch-gate.machine.js';
export * from './tray.machine.js';

/** Every machine, by id. */
export const machines = {
  orchestrator: orchestratorMachine,
  permissionStep: permissionStepMachine,
  relaunchGate: relaunchGateMachine,
  quitIntent: quitIntentMachine,
  tray: trayMachine,
} as const;
