/**
 * One permission step of the pipeline (FR-3, FR-4, FR-6): read the status, confirm a grant, prompt
 * once, open System Settings, poll — all inside a timebox of *running* time. The context keeps the
 * time the timebox has left (`remainingMs`, counted from `countedFrom` on this process's clock), not a
 * wall-clock deadline: a step restored in a new process continues with the time it had left at its last
 * commit, clamped to this launch's timebox, so neither a crash, a late re-open nor a clock jump ends a
 * step the user never saw or stretches one past its bound (XState does not persist `after` timers: the
 * timebox is an invoked callback actor, re-armed from `remainingMs` when `runtime.booted` re-enters
 * `running`).
 *
 * The time left is checkpointed only when the step's state changes anyway (its first read, a status
 * change, the timebox ending), so a poll that reads the same status changes nothing and commits nothing.
 *
 * Activations and Settings are entry *actions*, not invoked actors: a restore never repeats them, and
 * a request that never settles or blocks its thread (MACOS-NOTES) cannot hold up the step — the
 * timebox and the status polls decide the outcome.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { callbackPlaceholder, promisePlaceholder, type PublishParams, type StatusReading } from './effects.js';
import { NEVER_NOT_DETERMINED } from './permissions.js';
import type { PermissionName, PermissionStatus, RuntimeBootedEvent, StepOutcome, StepResult, StepSettings } from './types.js';

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
  /**
   * Running time the timebox has left at `countedFrom` (ms); null before the first read. Never grows,
   * never exceeds the timebox; 0 once the timebox ended.
   */
  remainingMs: number | null;
  /** Clock time (epoch ms, this process) from which `remainingMs` counts down; reset by every restore. */
  countedFrom: number | null;
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

/** Input of the `runTimebox` actor. */
export interface TimeboxInput {
  /** Running time left (ms), or null when nothing is to be armed. */
  ms: number | null;
  /** The step's configured timebox (ms): no wait is ever longer. */
  maxMs: number;
}

/** The time left at `now`: what ran since `countedFrom` is spent (a clock going backwards spends nothing). */
function checkpoint(context: PermissionStepContext, now: number): Pick<PermissionStepContext, 'remainingMs' | 'countedFrom'> {
  if (context.remainingMs === null || context.countedFrom === null) return { remainingMs: context.remainingMs, countedFrom: now };
  const ran = Math.max(0, now - context.countedFrom);
  return { remainingMs: Math.max(0, context.remainingMs - ran), countedFrom: now };
}

/**
 * A restore in a new process (`runtime.booted`): this launch's step settings apply, and the time left is
 * the time at the last commit, clamped to this launch's timebox (an edited ledger or a changed config
 * can never stretch a wait past its bound). Counting restarts now: the time the app was not running
 * does not count against the user.
 */
function resumeFrom(context: PermissionStepContext, event: RuntimeBootedEvent): Partial<PermissionStepContext> {
  const settings = event.settings?.steps[context.permission] ?? context.settings;
  const clamp = (ms: number) => Math.min(Math.max(0, Number.isFinite(ms) ? ms : 0), settings.timeoutMs);
  return {
    settings,
    advanceOnTimeout: event.settings?.advanceOnTimeout ?? context.advanceOnTimeout,
    confirmRetries: event.settings?.confirmRetries ?? context.confirmRetries,
    confirmIntervalMs: event.settings?.confirmIntervalMs ?? context.confirmIntervalMs,
    // A ledger from before running time was kept (it has `deadlineAt`, no `remainingMs`) gets the timebox.
    remainingMs: context.remainingMs === null ? null : clamp(context.remainingMs ?? settings.timeoutMs),
    countedFrom: event.at,
  };
}

export type PermissionStepEvent =
  | { type: 'step.timebox_expired' }
  | { type: 'step.tick' }
  | RuntimeBootedEvent;

/**
 * Seed 004 assumes a grant at the timeout only on the never-answered path: the status was
 * `not_determined`, the prompt fired, and it still reads `not_determined` (a stale status). An explicit
 * `denied` is never assumed granted.
 */
function isNeverAnswered(context: PermissionStepContext): boolean {
  return context.statusAtPrompt === 'not_determined' && context.status === 'not_determined';
}

function timeoutOutcome(context: PermissionStepContext): StepOutcome {
  if (context.settings.assumeGrantedOnTimeout && isNeverAnswered(context)) return 'assumed_granted';
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
    /**
     * Send `step.timebox_expired` after `ms` of running time, never more than `maxMs`; `ms: null` (the
     * timebox already ended with `advance_on_timeout=false`) arms nothing: the step waits for the user.
     */
    runTimebox: callbackPlaceholder<TimeboxInput>('runTimebox'),
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
        // Checkpoint the time left on the first read and on a change only (a same-status poll commits nothing).
        ...(context.remainingMs === null
          ? { remainingMs: context.settings.timeoutMs, countedFrom: reading.at }
          : reading.status !== null && reading.status !== context.status
            ? checkpoint(context, reading.at)
            : {}),
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
    /** `denied` from a kind that never reads `not_determined` (the catalogue) and was never asked: ask now. */
    isUnaskedNeverNotDetermined: ({ context }) =>
      context.status === 'denied' &&
      NEVER_NOT_DETERMINED.includes(context.permission) &&
      !context.requestedBefore &&
      !context.requestedNow,
    /**
     * Nothing was asked in this step yet — no prompt, no System Settings: the step has been polling an
     * unknown status (its reads failed), so a status read now must be routed, not just polled.
     */
    nothingAskedYet: ({ context }) => !context.promptedNow && !context.requestedNow,
    /** The prompt may fire: not yet in this step, and not blocked by the per-process Screen Capture guard. */
    canPrompt: ({ context }) => !context.promptedNow && !context.promptBlocked,
    hasConfirmationsLeft: ({ context }) => context.confirmationsLeft > 0,
    /**
     * After a prompt the status moved to `denied`: the user said no. Not for the kinds that never read
     * `not_determined` (Accessibility, Screen Capture, Full Disk Access, Location: the catalogue), whose
     * `denied` also means "not yet" or "only after a restart" — they poll to the timebox.
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
    remainingMs: null,
    countedFrom: null,
    confirmationsLeft: input.confirmRetries,
    requestedNow: false,
    promptedNow: false,
    statusAtPrompt: null,
    timeboxExpired: false,
    outcome: null,
  }),
  initial: 'reading',
  on: {
    // A step restored before its first read: this launch's settings apply (the read itself is re-run).
    'runtime.booted': { actions: assign(({ context, event }) => resumeFrom(context, event)) },
  },
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
        // No first read (it failed): no time was granted, the timebox ends at once — every wait is bounded.
        input: ({ context }): TimeboxInput => ({
          ms: context.timeboxExpired ? null : (context.remainingMs ?? 0),
          maxMs: context.settings.timeoutMs,
        }),
      },
      on: {
        // Restored in a new process: a prompt or a trip to Settings made by the dead process may never have
        // reached TCC. Re-enter (re-arming the timebox with the time left at the last commit) and route
        // again from the status, allowed to ask once more (TCC ignores a repeat).
        'runtime.booted': {
          target: 'running',
          reenter: true,
          actions: [
            assign(({ context, event }) => ({
              ...resumeFrom(context, event),
              promptedNow: false,
              requestedNow: false,
              statusAtPrompt: null,
            })),
            {
              type: 'publish',
              params: ({ context }) => ({
                type: 'permissions.v2.step_resumed',
                payload: {
                  permission: context.permission,
                  remaining_ms: context.timeboxExpired ? null : context.remainingMs,
                  waiting_for_user: context.timeboxExpired,
                },
              }),
            },
          ],
        },
        'step.timebox_expired': [
          {
            guard: 'isAdvanceOnTimeout',
            target: 'finished',
            actions: [
              assign({ outcome: ({ context }) => timeoutOutcome(context), timeboxExpired: true, remainingMs: 0 }),
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
            // advance_on_timeout=false: the step keeps waiting, without a bound, until granted, denied or a
            // quit (FR-3). Nothing counts down any more; a poll that reads the same status commits nothing.
            actions: [
              assign({ timeboxExpired: true, remainingMs: 0 }),
              {
                type: 'publish',
                params: ({ context }) => ({
                  type: 'permissions.v2.step_timeout',
                  payload: { permission: context.permission, outcome: null, keeps_waiting: true },
                }),
              },
              {
                type: 'publish',
                params: ({ context }) => ({
                  type: 'permissions.v2.step_waiting_for_user',
                  payload: { permission: context.permission, status: context.status },
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
            // Polling began on an unknown status (failed reads): the first status read decides as routing does.
            { guard: 'nothingAskedYet', target: 'routing' },
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
