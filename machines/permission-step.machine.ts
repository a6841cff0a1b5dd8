/**
 * One permission step of the pipeline (FR-3, FR-4, FR-6): read the status, confirm a grant, prompt
 * once, open System Settings, poll — all inside a timebox whose deadline lives in context, so a
 * snapshot restored in another process keeps the same deadline (XState does not persist `after`
 * timers, and re-runs invoked actors on restore: the timebox is an invoked callback actor that is
 * re-armed from `deadlineAt`).
 *
 * Activations and Settings are entry *actions*, not invoked actors: a restore never repeats them, and
 * a request that never settles or blocks its thread (MACOS-NOTES) cannot hold up the step — the
 * timebox and the status polls decide the outcome.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { callbackPlaceholder, promisePlaceholder, type PublishParams, type StatusReading } from './effects.js';
import type { PermissionName, PermissionStatus, RuntimeBootedEvent, StepOutcome, StepResult, StepSettings } from './types.js';

/** Permissions whose TCC status never reads `not_determined` (MACOS-NOTES): a first `denied` may mean "never asked". */
export const NEVER_NOT_DETERMINED: readonly PermissionName[] = ['accessibility', 'screen_capture'];

export interface PermissionStepInput {
  permission: PermissionName;
  settings: StepSettings;
  advanceOnTimeout: boolean;
  confirmRetries: number;
  confirmIntervalMs: number;
  /** Whether a request was already made for it, in this or an earlier launch (remembered in the ledger). */
  requestedBefore: boolean;
  /** Screen Capture only: its dialog was already shown in this process (the per-process guard). */
  promptBlocked: boolean;
  /** The status the precheck read, so `permissions.changed` can be published on the first read. */
  knownStatus: PermissionStatus | null;
}

export interface PermissionStepContext extends PermissionStepInput {
  status: PermissionStatus | null;
  /** Epoch ms at which the timebox ends; set by the first read and kept across restores. */
  deadlineAt: number | null;
  confirmationsLeft: number;
  /** A request (prompt or Settings) was made in this step. */
  requestedNow: boolean;
  /** The system prompt was fired in this step (at most once per step). */
  promptedNow: boolean;
  /** The status read right after the prompt fired, to tell "the user answered" from "no answer yet". */
  statusAtPrompt: PermissionStatus | null;
  /** With `advanceOnTimeout=false` the timebox ended but the step keeps polling. */
  timeboxExpired: boolean;
  outcome: StepOutcome | null;
}

export type PermissionStepEvent =
  | { type: 'step.timebox_expired' }
  | { type: 'step.tick' }
  | RuntimeBootedEvent;

function timeoutOutcome(context: PermissionStepContext): StepOutcome {
  if (context.settings.assumeGrantedOnTimeout) return 'assumed_granted';
  if (context.settings.needsRestart && (context.requestedNow || context.requestedBefore)) return 'pending_restart';
  if (context.status === 'denied') return 'denied';
  return 'timed_out';
}

export const permissionStepMachine = setup({
  types: {
    context: {} as PermissionStepContext,
    events: {} as PermissionStepEvent,
    input: {} as PermissionStepInput,
    output: {} as StepResult,
  },
  actors: {
    /** Read the permission's status now (never prompts). */
    readStatus: promisePlaceholder<StatusReading, { permission: PermissionName }>('readStatus'),
    /** Send `step.timebox_expired` at `deadlineAt` (epoch ms); re-armed from the same deadline on restore. */
    runTimebox: callbackPlaceholder<{ deadlineAt: number }>('runTimebox'),
    /** Send `step.tick` after `ms`. */
    waitInterval: callbackPlaceholder<{ ms: number }>('waitInterval'),
  },
  actions: {
    /** Publish an event of the contract (EV-2). Provided by src/. */
    publish: (_, _params: PublishParams) => {},
    /** Tell the orchestrator (the parent). A named action so the step can be traversed on its own. */
    notifyParent: sendParent((_, event: { type: 'step.prompted'; permission: PermissionName }) => event),
    /** Fire the system prompt. Fire and forget. Provided by src/. */
    activatePermission: (_, _params: { permission: PermissionName }) => {},
    /** Open the System Settings pane. Fire and forget. Provided by src/. */
    openSettings: (_, _params: { permission: PermissionName }) => {},
    /** Record a status read; publish `permissions.status_checked`, and `permissions.changed` when it moved. */
    recordReading: enqueueActions(({ context, event, enqueue }) => {
      const reading = (event as unknown as { output: StatusReading }).output;
      const from = context.status ?? context.knownStatus;
      const publish = (params: PublishParams) => enqueue({ type: 'publish', params } as never);
      enqueue.assign({
        status: reading.status ?? context.status,
        deadlineAt: context.deadlineAt ?? reading.at + context.settings.timeoutMs,
      });
      if (reading.status === null) {
        publish({
          type: 'permissions.v2.read_failed',
          payload: { permission: context.permission, message: reading.error ?? 'unknown error' },
        });
        return;
      }
      publish({ type: 'permissions.status_checked', payload: { permission: context.permission, status: reading.status } });
      if (from !== null && from !== reading.status) {
        publish({ type: 'permissions.changed', payload: { permission: context.permission, from, to: reading.status } });
      }
    }),
    /** A failed read is journaled; the step goes on polling (the timebox still bounds it). */
    recordReadFailure: enqueueActions(({ context, event, enqueue }) => {
      const error = (event as unknown as { error: unknown }).error;
      enqueue({
        type: 'publish',
        params: {
          type: 'permissions.v2.read_failed',
          payload: { permission: context.permission, message: error instanceof Error ? error.message : String(error) },
        },
      } as never);
    }),
  },
  guards: {
    /** No status could be read yet (a failed read): keep polling inside the timebox. */
    isUnknown: ({ context }) => context.status === null,
    isGranted: ({ context }) => context.status === 'granted',
    isRestricted: ({ context }) => context.status === 'restricted',
    isNotDetermined: ({ context }) => context.status === 'not_determined',
    /** `denied` from a permission that never reads `not_determined` and was never asked: ask now. */
    isUnaskedNeverNotDetermined: ({ context }) =>
      context.status === 'denied' &&
      NEVER_NOT_DETERMINED.includes(context.permission) &&
      !context.requestedBefore &&
      !context.requestedNow,
    /** The prompt may fire: not yet in this step, and not blocked by the per-process Screen Capture guard. */
    canPrompt: ({ context }) => !context.promptedNow && !context.promptBlocked,
    hasConfirmationsLeft: ({ context }) => context.confirmationsLeft > 0,
    /**
     * After a prompt the status moved to `denied`: the user said no. Not for Accessibility and Screen
     * Capture, whose `denied` also means "not yet" or "only after a restart" — they poll to the timebox.
     */
    isDeclinedAfterPrompt: ({ context }) =>
      context.promptedNow &&
      context.status === 'denied' &&
      context.statusAtPrompt !== 'denied' &&
      !NEVER_NOT_DETERMINED.includes(context.permission),
    isAdvanceOnTimeout: ({ context }) => context.advanceOnTimeout,
  },
}).createMachine({
  id: 'permissionStep',
  description: 'One permission of the pipeline, in its timebox: confirm, prompt once, open Settings, poll.',
  context: ({ input }) => ({
    ...input,
    status: null,
    deadlineAt: null,
    confirmationsLeft: input.confirmRetries,
    requestedNow: false,
    promptedNow: false,
    statusAtPrompt: null,
    timeboxExpired: false,
    outcome: null,
  }),
  initial: 'reading',
  states: {
    reading: {
      entry: {
        type: 'publish',
        params: ({ context }) => ({
          type: 'permissions.v2.step_started',
          payload: { permission: context.permission, timeout_ms: context.settings.timeoutMs },
        }),
      },
      invoke: {
        id: 'readStatus',
        src: 'readStatus',
        input: ({ context }) => ({ permission: context.permission }),
        onDone: { target: 'running', actions: 'recordReading' },
        // The adapter never rejects (a failed read is `status: null`); should it throw anyway, the timebox
        // has no deadline and ends at once: every wait stays bounded.
        onError: { target: 'running', actions: 'recordReadFailure' },
      },
    },
    running: {
      invoke: {
        id: 'timebox',
        src: 'runTimebox',
        input: ({ context }) => ({ deadlineAt: context.deadlineAt ?? 0 }),
      },
      on: {
        // Restored in a new process: a prompt or a trip to Settings made by the dead process may never have
        // reached TCC. Route again from the status, allowed to ask once more (TCC ignores a repeat), inside
        // the same timebox.
        'runtime.booted': {
          target: '.routing',
          actions: assign({ promptedNow: false, requestedNow: false, statusAtPrompt: null }),
        },
        'step.timebox_expired': [
          {
            guard: 'isAdvanceOnTimeout',
            target: 'finished',
            actions: [
              assign({ outcome: ({ context }) => timeoutOutcome(context), timeboxExpired: true }),
              {
                type: 'publish',
                params: ({ context }) => ({
                  type: 'permissions.v2.step_timeout',
                  payload: { permission: context.permission, outcome: timeoutOutcome(context) },
                }),
              },
            ],
          },
          {
            // advance_on_timeout=false: the step keeps waiting until granted, denied or a quit (FR-3).
            actions: [
              assign({ timeboxExpired: true }),
              {
                type: 'publish',
                params: ({ context }) => ({
                  type: 'permissions.v2.step_timeout',
                  payload: { permission: context.permission, outcome: null, keeps_waiting: true },
                }),
              },
            ],
          },
        ],
      },
      initial: 'routing',
      states: {
        routing: {
          always: [
            { guard: 'isUnknown', target: 'pollWait' },
            { guard: 'isRestricted', target: '#permissionStep.finished', actions: assign({ outcome: 'restricted' }) },
            { guard: 'isGranted', target: 'confirming' },
            { guard: 'isNotDetermined', target: 'prompting' },
            { guard: 'isUnaskedNeverNotDetermined', target: 'prompting' },
            { target: 'openingSettings' },
          ],
        },
        confirming: {
          always: [
            { guard: 'hasConfirmationsLeft', target: 'confirmWait' },
            { target: '#permissionStep.finished', actions: assign({ outcome: 'granted' }) },
          ],
        },
        confirmWait: {
          invoke: {
            id: 'wait',
            src: 'waitInterval',
            input: ({ context }) => ({ ms: context.confirmIntervalMs }),
          },
          on: { 'step.tick': 'confirmRead' },
        },
        confirmRead: {
          invoke: {
            id: 'readStatus',
            src: 'readStatus',
            input: ({ context }) => ({ permission: context.permission }),
            onDone: [
              {
                guard: ({ event }) => event.output.status === 'granted',
                target: 'confirming',
                actions: ['recordReading', assign({ confirmationsLeft: ({ context }) => context.confirmationsLeft - 1 })],
              },
              // Not stable: route again on what was read.
              { target: 'routing', actions: 'recordReading' },
            ],
            onError: { target: 'confirmWait', actions: 'recordReadFailure' },
          },
        },
        prompting: {
          always: [
            {
              guard: 'canPrompt',
              target: 'rechecking',
              actions: [
                assign({
                  promptedNow: true,
                  requestedNow: true,
                  statusAtPrompt: ({ context }) => context.status,
                }),
                { type: 'activatePermission', params: ({ context }) => ({ permission: context.permission }) },
                {
                  type: 'publish',
                  params: ({ context }) => ({
                    type: 'permissions.v2.activation_requested',
                    payload: { permission: context.permission },
                  }),
                },
                { type: 'notifyParent', params: ({ context }) => ({ type: 'step.prompted', permission: context.permission }) },
              ],
            },
            // Already prompted (in this step, or Screen Capture in this process): wait in Settings instead.
            { target: 'openingSettings' },
          ],
        },
        rechecking: {
          invoke: {
            id: 'readStatus',
            src: 'readStatus',
            input: ({ context }) => ({ permission: context.permission }),
            onDone: { target: 'afterRead', actions: 'recordReading' },
            onError: { target: 'pollWait', actions: 'recordReadFailure' },
          },
        },
        openingSettings: {
          always: {
            target: 'pollWait',
            actions: [
              assign({ requestedNow: true }),
              { type: 'openSettings', params: ({ context }) => ({ permission: context.permission }) },
              {
                type: 'publish',
                params: ({ context }) => ({
                  type: 'permissions.v2.settings_opened',
                  payload: { permission: context.permission },
                }),
              },
            ],
          },
        },
        pollWait: {
          invoke: {
            id: 'wait',
            src: 'waitInterval',
            input: ({ context }) => ({ ms: context.settings.pollIntervalMs }),
          },
          on: { 'step.tick': 'pollRead' },
        },
        pollRead: {
          invoke: {
            id: 'readStatus',
            src: 'readStatus',
            input: ({ context }) => ({ permission: context.permission }),
            onDone: { target: 'afterRead', actions: 'recordReading' },
            onError: { target: 'pollWait', actions: 'recordReadFailure' },
          },
        },
        afterRead: {
          always: [
            { guard: 'isGranted', target: '#permissionStep.finished', actions: assign({ outcome: 'granted' }) },
            { guard: 'isRestricted', target: '#permissionStep.finished', actions: assign({ outcome: 'restricted' }) },
            { guard: 'isDeclinedAfterPrompt', target: '#permissionStep.finished', actions: assign({ outcome: 'denied' }) },
            { target: 'pollWait' },
          ],
        },
      },
    },
    finished: {
      type: 'final',
      entry: {
        type: 'publish',
        params: ({ context }) => ({
          type: 'permissions.v2.step_completed',
          payload: { permission: context.permission, outcome: context.outcome, status: context.status },
        }),
      },
    },
  },
  output: ({ context }) => ({
    permission: context.permission,
    outcome: context.outcome ?? 'timed_out',
    status: context.status ?? 'not_determined',
    requested: context.requestedBefore || context.requestedNow,
  }),
});
