/**
 * The user's quit intent (RS-4): `tray.quit_clicked` sets USER_QUIT_INTENT for this process and tells
 * the orchestrator, which tells the relaunch gate (a restart not yet executed is cancelled). The intent
 * belongs to the process the user quit: a new launch starts without it.
 */
import { sendParent, setup } from 'xstate';
import type { PublishParams } from './effects.js';
import type { RuntimeBootedEvent } from './types.js';

export type QuitIntentEvent =
  | { type: 'tray.quit_clicked' }
  | RuntimeBootedEvent;

export const quitIntentMachine = setup({
  types: { events: {} as QuitIntentEvent },
  actions: {
    /** Publish an event of the contract (EV-2). Provided by src/. */
    publish: (_, _params: PublishParams) => {},
    /** Tell the orchestrator (the parent). A named action so the machine can be traversed on its own. */
    notifyParent: sendParent((_, event: { type: 'user.quit' }) => event),
  },
}).createMachine({
  id: 'quitIntent',
  description: 'USER_QUIT_INTENT: set by tray.quit_clicked, cleared by a new launch.',
  initial: 'none',
  states: {
    none: {
      on: { 'tray.quit_clicked': 'quitRequested' },
    },
    quitRequested: {
      entry: [
        { type: 'publish', params: { type: 'app.quit_intent', payload: { user_quit_intent: true } } },
        { type: 'notifyParent', params: { type: 'user.quit' } },
      ],
      on: { 'runtime.booted': 'none' },
    },
  },
});
