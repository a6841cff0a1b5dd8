/**
 * The relaunch gate (RS-1..7): the one place a restart can happen, and the owner of `restart_count`.
 *
 * Why a restart cannot be duplicated, by the shape of this machine:
 * 1. Budget: `armed` is reachable only from `idle` through `hasBudget` (`restartCount === 0`), and the
 *    count only ever grows, in the entry of `committing`.
 * 2. Commit before effect: the relaunch is the entry action of `executing`, and `executing` is reachable
 *    only from `committing` after `commitLedger` resolved — the snapshot holding `restartCount: 1` is on
 *    disk before the successor starts (RS-3).
 * 3. Restores never repeat it: XState re-runs *invoked* actors on restore but never entry actions, and the
 *    relaunch is an entry action. A restored `committing` re-runs only the (idempotent) commit.
 * 4. Only the arming process executes: `isArmedHere` (the request's `armedBy` is this process's boot id)
 *    guards both `armed → committing` and `committing → executing`. A process restored from a ledger
 *    written by another process — the successor, or a relaunch after kill -9 — can never execute.
 * A crash at any instant can therefore cost the restart (count 1, nothing executed), never double it.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { callbackPlaceholder, promisePlaceholder, type PublishParams } from './effects.js';
import type { RuntimeBootedEvent } from './types.js';

/** Where a restart request comes from. Only the orchestrator may ask (RS-1, RS-5). */
export type RestartSource = 'orchestrator' | 'legacy';

export type RejectReason =
  | 'disabled'
  | 'legacy_source'
  | 'budget_spent'
  | 'user_quit'
  | 'kill_switch'
  | 'dry_run'
  | 'duplicate'
  | 'restored_request';

export interface RestartRequest {
  id: string;
  source: RestartSource;
  /** Boot id of the process that armed it; only that process may execute it. */
  armedBy: string;
}

/** How the last request ended, for `first-run status` ("why"). */
export type GateResult =
  | { kind: 'none' }
  | { kind: 'rejected'; reason: RejectReason; source: RestartSource }
  | { kind: 'cancelled' }
  | { kind: 'executed'; newPid: number }
  | { kind: 'executed_by_predecessor' }
  | { kind: 'failed'; message: string }
  | { kind: 'spent_unexecuted'; why: string };

export interface RelaunchGateInput {
  bootId: string;
  delayMs: number;
  enabled: boolean;
  dryRun: boolean;
  killSwitch: boolean;
}

export interface RelaunchGateContext extends RelaunchGateInput {
  /** Restarts executed or committed to execute (RS-2, RS-3). Never decreases. */
  restartCount: number;
  /** USER_QUIT_INTENT of this process. */
  userQuit: boolean;
  request: RestartRequest | null;
  last: GateResult;
}

export type RelaunchGateEvent =
  | { type: 'restart.request'; requestId: string; source: RestartSource }
  | { type: 'user.quit' }
  | { type: 'gate.delay_elapsed' }
  | { type: 'relaunch.succeeded'; newPid: number }
  | { type: 'relaunch.failed'; message: string }
  | RuntimeBootedEvent;

/** The events the gate sends to its parent (the orchestrator). */
export type GateNotification =
  | { type: 'gate.armed'; requestId: string }
  | { type: 'gate.rejected'; reason: RejectReason; source: RestartSource }
  | { type: 'gate.cancelled' }
  | { type: 'gate.handed_off'; newPid: number }
  | { type: 'gate.unverified'; message: string };

export const relaunchGateMachine = setup({
  types: {
    context: {} as RelaunchGateContext,
    events: {} as RelaunchGateEvent,
    input: {} as RelaunchGateInput,
  },
  actors: {
    /** Send `gate.delay_elapsed` after `ms` (the `restart.delay_sec` window). */
    waitDelay: callbackPlaceholder<{ ms: number }>('waitDelay'),
    /** Durably commit the root snapshot (which now holds `restartCount: 1`). Idempotent. */
    commitLedger: promisePlaceholder<{ generation: number }, { restartCount: number; requestId: string }>(
      'commitLedger',
    ),
  },
  actions: {
    /** Publish an event of the contract (EV-2). Provided by src/. */
    publish: (_, _params: PublishParams) => {},
    /**
     * Start the successor and run the hand-off (RS-7); report back `relaunch.succeeded`/`relaunch.failed`.
     * An entry action on purpose: a restore never runs it again. Provided by src/.
     */
    executeRelaunch: (_, _params: { requestId: string; restartCount: number }) => {},
    /** Stop a successor that has not taken over yet (quit during the hand-off). Provided by src/. */
    abortRelaunch: (_, _params: { requestId: string }) => {},
    /** A new process: its boot id, and no quit intent yet. */
    recordBoot: assign(({ context, event }) => {
      if (event.type !== 'runtime.booted') return {};
      const settings = event.settings;
      return {
        bootId: event.bootId,
        userQuit: false,
        // The switches of *this* launch apply (a kill switch set after a crash must hold).
        delayMs: settings?.restart.delayMs ?? context.delayMs,
        enabled: settings?.enabled ?? context.enabled,
        dryRun: settings?.dryRun ?? context.dryRun,
        killSwitch: settings?.killSwitch ?? context.killSwitch,
      };
    }),
    /** Tell the orchestrator (the parent). A named action so the gate can be traversed on its own. */
    notifyParent: sendParent((_, notification: GateNotification) => notification),
    reject: enqueueActions(({ context, event, enqueue }, params: { reason: RejectReason }) => {
      const source = event.type === 'restart.request' ? event.source : 'orchestrator';
      enqueue.assign({ last: { kind: 'rejected', reason: params.reason, source } });
      enqueue({
        type: 'publish',
        params: {
          type: 'restart.rejected',
          payload: { reason: params.reason, source, restart_count: context.restartCount },
        },
      } as never);
      enqueue({
        type: 'notifyParent',
        params: { type: 'gate.rejected', reason: params.reason, source } satisfies GateNotification,
      } as never);
    }),
  },
  guards: {
    isDisabled: ({ context }) => !context.enabled,
    isLegacySource: ({ event }) => event.type === 'restart.request' && event.source !== 'orchestrator',
    hasBudget: ({ context }) => context.restartCount === 0,
    isUserQuitting: ({ context }) => context.userQuit,
    isKillSwitchOn: ({ context }) => context.killSwitch,
    isDryRun: ({ context }) => context.dryRun,
    isArmedHere: ({ context }) => context.request !== null && context.request.armedBy === context.bootId,
  },
}).createMachine({
  id: 'relaunchGate',
  description: 'The only way to a restart: budget, delay window, quit wins, commit before relaunch, arming process only.',
  context: ({ input }) => ({ ...input, restartCount: 0, userQuit: false, request: null, last: { kind: 'none' } }),
  initial: 'idle',
  on: {
    'user.quit': { actions: assign({ userQuit: true }) },
  },
  states: {
    idle: {
      on: {
        'runtime.booted': { actions: 'recordBoot' },
        'restart.request': [
          { guard: 'isDisabled', actions: { type: 'reject', params: { reason: 'disabled' } } },
          { guard: 'isLegacySource', actions: { type: 'reject', params: { reason: 'legacy_source' } } },
          { guard: { type: 'hasBudget' }, target: 'checking' },
          { actions: { type: 'reject', params: { reason: 'budget_spent' } } },
        ],
      },
    },
    // The owner asked and the budget is there: the remaining RS-2 conditions, in order of precedence.
    checking: {
      always: [
        { guard: 'isUserQuitting', target: 'idle', actions: { type: 'reject', params: { reason: 'user_quit' } } },
        { guard: 'isKillSwitchOn', target: 'idle', actions: { type: 'reject', params: { reason: 'kill_switch' } } },
        { guard: 'isDryRun', target: 'idle', actions: { type: 'reject', params: { reason: 'dry_run' } } },
        {
          target: 'armed',
          actions: [
            assign({
              request: ({ context, event }) => ({
                id: event.type === 'restart.request' ? event.requestId : 'unknown',
                source: 'orchestrator' as const,
                armedBy: context.bootId,
              }),
            }),
            {
              type: 'publish',
              params: ({ context, event }) => ({
                type: 'restart.requested',
                payload: {
                  request_id: event.type === 'restart.request' ? event.requestId : 'unknown',
                  delay_ms: context.delayMs,
                  restart_count: context.restartCount,
                },
              }),
            },
            { type: 'notifyParent', params: ({ event }) => ({ type: 'gate.armed', requestId: event.type === 'restart.request' ? event.requestId : 'unknown' }) },
          ],
        },
      ],
    },
    armed: {
      invoke: { id: 'waitDelay', src: 'waitDelay', input: ({ context }) => ({ ms: context.delayMs }) },
      on: {
        'restart.request': { actions: { type: 'reject', params: { reason: 'duplicate' } } },
        'user.quit': {
          target: 'idle',
          actions: [
            assign({ userQuit: true, request: null, last: { kind: 'cancelled' } }),
            { type: 'publish', params: { type: 'restart.cancelled', payload: { reason: 'user_quit' } } },
            { type: 'notifyParent', params: { type: 'gate.cancelled' } },
          ],
        },
        // Restored in another process: the request died with the process that armed it (RS-5).
        'runtime.booted': {
          target: 'idle',
          actions: [
            'recordBoot',
            assign({ request: null, last: { kind: 'rejected', reason: 'restored_request', source: 'orchestrator' } }),
            {
              type: 'publish',
              params: { type: 'restart.rejected', payload: { reason: 'restored_request', source: 'orchestrator' } },
            },
          ],
        },
        'gate.delay_elapsed': { guard: 'isArmedHere', target: 'committing' },
      },
    },
    committing: {
      entry: [
        assign({ restartCount: ({ context }) => context.restartCount + 1 }),
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'restart.count_changed',
            payload: { from: context.restartCount - 1, to: context.restartCount },
          }),
        },
      ],
      invoke: {
        id: 'commitLedger',
        src: 'commitLedger',
        input: ({ context }) => ({ restartCount: context.restartCount, requestId: context.request?.id ?? 'unknown' }),
        onDone: [
          // Quit during the commit: nothing executes. The budget is spent (a crash here costs it too).
          {
            guard: 'isUserQuitting',
            target: 'idle',
            actions: [
              assign({ request: null, last: { kind: 'cancelled' } }),
              { type: 'publish', params: { type: 'restart.cancelled', payload: { reason: 'user_quit' } } },
              { type: 'notifyParent', params: { type: 'gate.cancelled' } },
            ],
          },
          { guard: 'isArmedHere', target: 'executing' },
          {
            target: 'idle',
            actions: [
              assign({ request: null, last: { kind: 'spent_unexecuted', why: 'armed by another process' } }),
              { type: 'notifyParent', params: { type: 'gate.unverified', message: 'restart armed by another process' } },
            ],
          },
        ],
        onError: {
          target: 'idle',
          actions: [
            assign({
              request: null,
              last: ({ event }) => ({ kind: 'failed' as const, message: String((event.error as Error)?.message ?? event.error) }),
            }),
            {
              type: 'publish',
              params: ({ event }) => ({
                type: 'restart.failed',
                payload: { stage: 'commit', message: String((event.error as Error)?.message ?? event.error) },
              }),
            },
            { type: 'notifyParent', params: { type: 'gate.unverified', message: 'the ledger commit failed' } },
          ],
        },
      },
      on: {
        'runtime.booted': { actions: 'recordBoot' },
      },
    },
    executing: {
      entry: {
        type: 'executeRelaunch',
        params: ({ context }) => ({ requestId: context.request?.id ?? 'unknown', restartCount: context.restartCount }),
      },
      on: {
        'relaunch.succeeded': {
          target: 'idle',
          actions: [
            assign({ request: null, last: ({ event }) => ({ kind: 'executed' as const, newPid: event.newPid }) }),
            {
              type: 'publish',
              params: ({ event, context }) => ({
                type: 'restart.executed',
                payload: { new_pid: event.newPid, restart_count: context.restartCount },
              }),
            },
            { type: 'notifyParent', params: ({ event }) => ({ type: 'gate.handed_off' as const, newPid: event.newPid }) },
          ],
        },
        'relaunch.failed': {
          target: 'idle',
          actions: [
            assign({ request: null, last: ({ event }) => ({ kind: 'failed' as const, message: event.message }) }),
            {
              type: 'publish',
              params: ({ event }) => ({ type: 'restart.failed', payload: { stage: 'handoff', message: event.message } }),
            },
            { type: 'notifyParent', params: ({ event }) => ({ type: 'gate.unverified' as const, message: event.message }) },
          ],
        },
        'user.quit': {
          target: 'idle',
          actions: [
            { type: 'abortRelaunch', params: ({ context }) => ({ requestId: context.request?.id ?? 'unknown' }) },
            assign({ userQuit: true, request: null, last: { kind: 'cancelled' } }),
            { type: 'publish', params: { type: 'restart.cancelled', payload: { reason: 'user_quit', stage: 'handoff' } } },
            { type: 'notifyParent', params: { type: 'gate.cancelled' } },
          ],
        },
        'restart.request': { actions: { type: 'reject', params: { reason: 'duplicate' } } },
        // Restored in a new process: the predecessor started us (or died trying). Never again.
        'runtime.booted': {
          target: 'idle',
          actions: ['recordBoot', assign({ request: null, last: { kind: 'executed_by_predecessor' } })],
        },
      },
    },
  },
});

/** Read `restart_count` out of a persisted root snapshot (the gate is the root's `relaunchGate` child). */
export function selectRestartCount(persisted: unknown): number | null {
  const children = (persisted as { children?: Record<string, { snapshot?: { context?: { restartCount?: unknown } } }> })
    ?.children;
  const count = children?.relaunchGate?.snapshot?.context?.restartCount;
  return typeof count === 'number' ? count : null;
}
