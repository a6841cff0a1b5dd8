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
 *    guards `armed → committing`, `deferred → committing` and `committing → executing`. A process restored from a ledger
 *    written by another process — the successor, or a relaunch after kill -9 — can never execute.
 * 5. Restart safety (RS-10): a restart that comes due while the host says busy waits in `deferred`
 *    (reachable only from `armed`, so it holds nothing new: the count is untouched) until the host says
 *    idle, for at most `maxDeferMs`; then it is given up (`busy_timeout`, the count unspent) and the next
 *    launch decides again. Quit wins there as in `armed`, and a restored `deferred` is dropped like `armed`.
 * A crash at any instant can therefore cost the restart (count 1, nothing executed), never double it.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { callbackPlaceholder, promisePlaceholder, type PublishParams } from './effects.js';
import { DEFAULT_MAX_DEFER_MS, type RuntimeBootedEvent } from './types.js';

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
  | 'restored_request'
  /** The host stayed busy longer than `restart.max_defer_s` after the restart came due (RS-10). */
  | 'busy_timeout';

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
  /** `restart.max_defer_s` in ms. @default DEFAULT_MAX_DEFER_MS */
  maxDeferMs?: number;
}

export interface RelaunchGateContext extends RelaunchGateInput {
  maxDeferMs: number;
  /** The host said the app is busy (a session, an update in progress) and has not said idle since (RS-10). Per process. */
  busy: boolean;
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
  /** The host's restart-safety signal (RS-10): a restart that comes due while busy waits for idle. */
  | { type: 'app.busy_changed'; busy: boolean }
  | RuntimeBootedEvent;

/** The events the gate sends to its parent (the orchestrator). */
export type GateNotification =
  | { type: 'gate.armed'; requestId: string }
  | { type: 'gate.rejected'; reason: RejectReason; source: RestartSource }
  | { type: 'gate.cancelled' }
  | { type: 'gate.handed_off'; newPid: number }
  | { type: 'gate.unverified'; message: string };

/** The pending request was armed by this process (its boot id): only then may it go on. */
function isArmedBy(context: RelaunchGateContext): boolean {
  return context.request !== null && context.request.armedBy === context.bootId;
}

export const relaunchGateMachine = setup({
  types: {
    context: {} as RelaunchGateContext,
    events: {} as RelaunchGateEvent,
    input: {} as RelaunchGateInput,
  },
  actors: {
    /** Send `gate.delay_elapsed` after `ms` (the `restart.delay_sec` window; in `deferred`, `restart.max_defer_s`). */
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
        // "Busy" was said to the process that died; this one starts idle until its host says otherwise.
        busy: false,
        // The switches of *this* launch apply (a kill switch set after a crash must hold).
        delayMs: settings?.restart.delayMs ?? context.delayMs,
        maxDeferMs: settings?.restart.maxDeferMs ?? context.maxDeferMs ?? DEFAULT_MAX_DEFER_MS,
        enabled: settings?.enabled ?? context.enabled,
        dryRun: settings?.dryRun ?? context.dryRun,
        killSwitch: settings?.killSwitch ?? context.killSwitch,
      };
    }),
    /** Tell the orchestrator (the parent). A named action so the gate can be traversed on its own. */
    notifyParent: sendParent((_, notification: GateNotification) => notification),
    /** A quit before the commit cancels the request; the count is unspent (RS-4). In `armed` and `deferred`. */
    cancelBeforeCommit: enqueueActions(({ enqueue }) => {
      enqueue.assign({ userQuit: true, request: null, last: { kind: 'cancelled' } });
      enqueue({ type: 'publish', params: { type: 'restart.cancelled', payload: { reason: 'user_quit' } } } as never);
      enqueue({ type: 'notifyParent', params: { type: 'gate.cancelled' } satisfies GateNotification } as never);
    }),
    /** A request restored in another process died with the process that armed it (RS-5). In `armed` and `deferred`. */
    dropRestoredRequest: enqueueActions(({ enqueue }) => {
      enqueue.assign({ request: null, last: { kind: 'rejected', reason: 'restored_request', source: 'orchestrator' } });
      enqueue({
        type: 'publish',
        params: { type: 'restart.rejected', payload: { reason: 'restored_request', source: 'orchestrator' } },
      } as never);
    }),
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
      // Only the owner's request is answered (RS-5): a legacy request rejected while the owner's waits is
      // not the answer to the owner's, and the root must not take it for one.
      if (source === 'orchestrator') {
        enqueue({
          type: 'notifyParent',
          params: { type: 'gate.rejected', reason: params.reason, source } satisfies GateNotification,
        } as never);
      }
    }),
  },
  guards: {
    isDisabled: ({ context }) => !context.enabled,
    isLegacySource: ({ event }) => event.type === 'restart.request' && event.source !== 'orchestrator',
    hasBudget: ({ context }) => hasRestartBudget(context.restartCount),
    isUserQuitting: ({ context }) => context.userQuit,
    isKillSwitchOn: ({ context }) => context.killSwitch,
    isDryRun: ({ context }) => context.dryRun,
    isArmedHere: ({ context }) => isArmedBy(context),
    /** The request is this process's and the host says busy: the restart waits (RS-10). */
    isArmedHereAndBusy: ({ context }) => context.busy && isArmedBy(context),
    /** The host says idle again, and the deferred request is this process's: it proceeds. */
    isIdleAndArmedHere: ({ context, event }) =>
      event.type === 'app.busy_changed' && !event.busy && isArmedBy(context),
  },
}).createMachine({
  id: 'relaunchGate',
  description: 'The only way to a restart: budget, delay window, quit wins, commit before relaunch, arming process only.',
  context: ({ input }) => ({
    ...input,
    maxDeferMs: input.maxDeferMs ?? DEFAULT_MAX_DEFER_MS,
    busy: false,
    restartCount: 0,
    userQuit: false,
    request: null,
    last: { kind: 'none' },
  }),
  initial: 'idle',
  on: {
    'user.quit': { actions: assign({ userQuit: true }) },
    'app.busy_changed': { actions: assign({ busy: ({ event }) => event.busy }) },
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
        'user.quit': { target: 'idle', actions: 'cancelBeforeCommit' },
        // Restored in another process: the request died with the process that armed it (RS-5).
        'runtime.booted': { target: 'idle', actions: ['recordBoot', 'dropRestoredRequest'] },
        'gate.delay_elapsed': [
          // RS-10: due while the host is busy (a session, an update): wait for idle, bounded.
          { guard: 'isArmedHereAndBusy', target: 'deferred' },
          { guard: 'isArmedHere', target: 'committing' },
        ],
      },
    },
    // The restart came due while the host was busy: it waits for idle, at most `maxDeferMs`. Nothing is
    // spent here; quit still wins; a restore drops it like `armed`.
    deferred: {
      entry: {
        type: 'publish',
        params: ({ context }) => ({
          type: 'restart.deferred',
          payload: { reason: 'busy', request_id: context.request?.id ?? 'unknown', max_defer_ms: context.maxDeferMs },
        }),
      },
      invoke: { id: 'waitDeferral', src: 'waitDelay', input: ({ context }) => ({ ms: context.maxDeferMs }) },
      on: {
        'app.busy_changed': [
          {
            guard: 'isIdleAndArmedHere',
            target: 'committing',
            actions: [
              assign({ busy: false }),
              {
                type: 'publish',
                params: ({ context }) => ({ type: 'restart.deferral_ended', payload: { request_id: context.request?.id ?? 'unknown' } }),
              },
            ],
          },
          // Still busy: the root's handler records it (an unmatched event goes on to the parent state).
        ],
        // Busy for longer than allowed: this process records the decision and does not restart; the budget
        // is unspent, and the next launch decides again from what TCC says then.
        'gate.delay_elapsed': {
          target: 'idle',
          actions: [{ type: 'reject', params: { reason: 'busy_timeout' } }, assign({ request: null })],
        },
        'restart.request': { actions: { type: 'reject', params: { reason: 'duplicate' } } },
        'user.quit': { target: 'idle', actions: 'cancelBeforeCommit' },
        'runtime.booted': { target: 'idle', actions: ['recordBoot', 'dropRestoredRequest'] },
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

/**
 * The one rule of the restart budget (RS-2): a restart may be armed only while `restart_count` is 0.
 * The gate's `hasBudget` guard, and the protocol model's launches, decide by it.
 */
export function hasRestartBudget(restartCount: number): boolean {
  return restartCount === 0;
}

/** Read `restart_count` out of a persisted root snapshot (the gate is the root's `relaunchGate` child). */
export function selectRestartCount(persisted: unknown): number | null {
  const children = (persisted as { children?: Record<string, { snapshot?: { context?: { restartCount?: unknown } } }> })
    ?.children;
  const count = children?.relaunchGate?.snapshot?.context?.restartCount;
  return typeof count === 'number' ? count : null;
}
