/**
 * The tray actor (TR-1..3): the only place that decides the tray's status and colour. Exactly three
 * statuses; during first-run a red lock badge is drawn on top (an overlay, not a fourth mode) and the
 * status rests at SLEEPING (the assistant does not listen while it onboards); afterwards the status
 * follows the app's mode again. Every change publishes `tray.status_updated`.
 */
import { assign, setup } from 'xstate';
import type { PublishParams } from './effects.js';
import type { AppMode, RuntimeBootedEvent, TrayStatus } from './types.js';
import { FIRST_RUN_OVERLAY, trayStatusPayload } from './tray-status.js';

export { FIRST_RUN_OVERLAY, TRAY_COLORS } from './tray-status.js';

export interface TrayContext {
  /** The app's current mode, remembered even while first-run hides it. */
  mode: AppMode;
  status: TrayStatus;
  overlay: typeof FIRST_RUN_OVERLAY | null;
}

export type TrayEvent =
  | { type: 'app.mode_changed'; mode: AppMode }
  | { type: 'permissions.first_run_started' }
  | { type: 'permissions.first_run_completed' }
  | { type: 'permissions.first_run_failed' }
  | RuntimeBootedEvent;

const publishStatus = {
  type: 'publish',
  params: ({ context }: { context: TrayContext }): PublishParams => ({
    type: 'tray.status_updated',
    payload: trayStatusPayload(context),
  }),
} as const;

export const trayMachine = setup({
  types: {
    context: {} as TrayContext,
    events: {} as TrayEvent,
    input: {} as { mode?: AppMode },
  },
  actions: {
    /** Publish an event of the contract (EV-2). Provided by src/. */
    publish: (_, _params: PublishParams) => {},
  },
}).createMachine({
  id: 'tray',
  description: 'Tray icon: three statuses, a lock badge during first-run, the app mode afterwards.',
  context: ({ input }) => ({ mode: input.mode ?? 'SLEEPING', status: input.mode ?? 'SLEEPING', overlay: null }),
  initial: 'following',
  states: {
    following: {
      entry: [assign({ status: ({ context }) => context.mode, overlay: null }), publishStatus],
      on: {
        'app.mode_changed': {
          actions: [assign({ mode: ({ event }) => event.mode, status: ({ event }) => event.mode }), publishStatus],
        },
        'permissions.first_run_started': 'firstRun',
        // A new process draws its icon again.
        'runtime.booted': { actions: publishStatus },
      },
    },
    firstRun: {
      entry: [assign({ status: 'SLEEPING', overlay: FIRST_RUN_OVERLAY }), publishStatus],
      on: {
        'app.mode_changed': { actions: assign({ mode: ({ event }) => event.mode }) },
        'permissions.first_run_completed': 'following',
        'permissions.first_run_failed': 'following',
        'runtime.booted': { actions: publishStatus },
      },
    },
  },
});
