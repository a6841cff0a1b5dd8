/**
 * The root orchestrator — the V2 owner of the first run (RS-1). Its persisted snapshot, children
 * included, is the ledger.
 *
 *   PRECHECK → PIPELINE → DECISION → RESTART_REQUESTED → POST_RESTART_VERIFY → COMPLETED | FAILED
 *
 * It invokes four children for its whole life, each with a system id:
 * - `relaunchGate` — owns `restart_count` and is the only way to a restart;
 * - `quitIntent` — USER_QUIT_INTENT (RS-4);
 * - `tray` — the icon (TR-1..3);
 * - `step` — one `permissionStep` at a time while PIPELINE or POST_RESTART_VERIFY request permissions.
 *
 * The host sends `runtime.booted` right after every start (fresh or restored). That single event is
 * how a restored snapshot learns it runs in a new process: the tray redraws, the quit intent clears,
 * the gate refuses to execute anything armed elsewhere, and a RESTART_REQUESTED ledger moves on to
 * POST_RESTART_VERIFY.
 */
import { assign, enqueueActions, sendTo, setup } from 'xstate';
import { promisePlaceholder, type PublishParams, type StatusesReading } from './effects.js';
import { permissionStepMachine, type PermissionStepInput } from './permission-step.machine.js';
import { quitIntentMachine } from './quit-intent.machine.js';
import { relaunchGateMachine, type GateNotification } from './relaunch-gate.machine.js';
import { trayMachine } from './tray.machine.js';
import {
  PASSING_OUTCOMES,
  type AppMode,
  type DecisionBlocker,
  type OrchestratorSettings,
  type PermissionName,
  type PermissionStatus,
  type Phase,
  type RestartDecision,
  type RuntimeBootedEvent,
  type StepResult,
} from './types.js';

export interface OrchestratorInput {
  settings: OrchestratorSettings;
  /** This process's boot id (a fresh random id per process start). */
  bootId: string;
  /** The app's mode at start, for the tray. @default 'SLEEPING' */
  appMode?: AppMode;
}

export interface OrchestratorContext {
  settings: OrchestratorSettings;
  bootId: string;
  /** Statuses as last read, by permission. */
  statuses: Partial<Record<PermissionName, PermissionStatus>>;
  /** Step results of the current pipeline (or verification) run. */
  results: Partial<Record<PermissionName, StepResult>>;
  /** Whether a request was ever made per permission — TCC cannot tell for Accessibility/Screen Capture (FR-6). */
  requested: Partial<Record<PermissionName, boolean>>;
  /** Steps still to run, in order. */
  queue: PermissionName[];
  /** Boot id of the process that showed the Screen Capture dialog (the once-per-process guard). */
  screenCapturePromptedIn: string | null;
  decision: RestartDecision | null;
  /** How the restart request ended: `executed`, `rejected:<reason>`, `cancelled`, `unverified`. */
  restartOutcome: string | null;
  /** Warnings the run completed with (e.g. `restart_unverified`). */
  warnings: string[];
  /** USER_QUIT_INTENT in this process (a mirror of the quit-intent actor, for the decision record). */
  userQuit: boolean;
  /** Number of launches that resumed this ledger (unplanned restarts included). */
  boots: number;
  /** The app's mode at the first start, for the tray's first drawing. */
  appMode: AppMode;
}

export type OrchestratorEvent =
  | RuntimeBootedEvent
  | { type: 'tray.quit_clicked' }
  | { type: 'user.quit' }
  | { type: 'app.mode_changed'; mode: AppMode }
  /** The host's restart-safety signal (RS-10), forwarded to the relaunch gate. */
  | { type: 'app.busy_changed'; busy: boolean }
  | { type: 'restart.legacy_requested' }
  | { type: 'step.prompted'; permission: PermissionName }
  | GateNotification;

function hardAllPassed(context: OrchestratorContext, passing: readonly string[]): boolean {
  return context.settings.order.every((permission) => {
    if (!context.settings.steps[permission].hard) return true;
    const result = context.results[permission];
    if (result) return passing.includes(result.outcome);
    return context.statuses[permission] === 'granted';
  });
}

/** After a restart (or in place) the truth is settled: `pending_restart` no longer passes (RS-9). */
const VERIFIED_OUTCOMES = ['granted', 'assumed_granted'] as const;

function missingInOrder(context: OrchestratorContext, statuses: Partial<Record<PermissionName, PermissionStatus>>) {
  return context.settings.order.filter((permission) => statuses[permission] !== 'granted');
}

/**
 * The restart decision (RS-2) as far as the orchestrator owns it: the pipeline's results. The rest of
 * RS-2 — the budget, the quit intent, the kill switch, dry run — is the relaunch gate's alone, so each
 * rule lives in exactly one place; `first-run status` shows both halves.
 */
export function decideRestart(context: OrchestratorContext): RestartDecision {
  const blockedBy: DecisionBlocker[] = [];
  const hard = hardAllPassed(context, PASSING_OUTCOMES);
  // Only the configured set counts: a result of a kind a later config dropped (or a later version
  // added, in a ledger restored by an older one) decides nothing.
  const passed = context.settings.order
    .map((permission) => context.results[permission])
    .filter((result): result is StepResult => !!result && PASSING_OUTCOMES.includes(result.outcome));
  const needsRestart = passed.some((result) => context.settings.steps[result.permission].needsRestart);
  if (context.settings.restart.requireAllHardPass && !hard) blockedBy.push('hard_step_failed');
  if (context.settings.restart.requireNeedsRestart && !needsRestart) blockedBy.push('no_restart_needed');
  if (passed.length === 0) blockedBy.push('nothing_requested');
  return {
    allowed: blockedBy.length === 0,
    blockedBy,
    hardAllPassed: hard,
    needsRestart,
    dryRun: context.settings.dryRun,
  };
}

/**
 * The steps still to run when a launch restores a run mid-way with this launch's `order` (which may
 * name another set than the ledger's: a config edit, a version that knows more kinds). The step that
 * is running (`running`, the head of the old queue) finishes first; then, in the new order, every kind
 * still queued, and every kind the run has not walked and has not seen granted (a kind the old set did
 * not have). A kind no longer in the order is dropped. With an unchanged order this is the old queue.
 */
export function replanQueue(
  context: Pick<OrchestratorContext, 'queue' | 'results' | 'statuses'>,
  order: readonly PermissionName[],
  running: PermissionName | null,
): PermissionName[] {
  const rest = order.filter(
    (permission) =>
      permission !== running &&
      (context.queue.includes(permission) || (context.results[permission] === undefined && context.statuses[permission] !== 'granted')),
  );
  return running === null ? rest : [running, ...rest];
}

function phaseEvent(phase: Phase) {
  return { type: 'publish' as const, params: { type: 'permissions.v2.phase', payload: { phase } } };
}

/** The id of this boot's restart request (what the gate arms, the ledger keeps and the hand-off token names). */
function requestIdOf(context: { bootId: string; boots: number }): string {
  return `${context.bootId}:${context.boots}`;
}

export const orchestratorMachine = setup({
  types: {
    context: {} as OrchestratorContext,
    events: {} as OrchestratorEvent,
    input: {} as OrchestratorInput,
  },
  actors: {
    /** Read every permission in `order` (never prompts). Must not reject: a failed read is in `errors`. */
    readStatuses: promisePlaceholder<StatusesReading, { permissions: PermissionName[] }>('readStatuses'),
    permissionStep: permissionStepMachine,
    relaunchGate: relaunchGateMachine,
    quitIntent: quitIntentMachine,
    tray: trayMachine,
  },
  actions: {
    /** Publish an event of the contract (EV-2). Provided by src/. */
    publish: (_, _params: PublishParams) => {},
    recordStatuses: enqueueActions(({ context, event, enqueue }) => {
      const reading = (event as unknown as { output: StatusesReading }).output;
      const publish = (params: PublishParams) => enqueue({ type: 'publish', params } as never);
      for (const permission of context.settings.order) {
        const status = reading.statuses[permission];
        if (status === undefined) {
          publish({
            type: 'permissions.v2.read_failed',
            payload: { permission, message: reading.errors[permission] ?? 'no status returned' },
          });
          continue;
        }
        publish({ type: 'permissions.status_checked', payload: { permission, status } });
        const before = context.statuses[permission];
        if (before !== undefined && before !== status) {
          publish({ type: 'permissions.changed', payload: { permission, from: before, to: status } });
        }
      }
      enqueue.assign({ statuses: { ...context.statuses, ...reading.statuses } });
    }),
    /** A (re)start of this process: new boot id, no quit intent; every child hears it too. */
    recordBoot: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'runtime.booted') return;
      const settings = event.settings ?? context.settings;
      // A step restored mid-way: what the dead process asked for may never have reached TCC.
      const step = (self.getSnapshot() as { children?: Record<string, unknown> } | undefined)?.children?.step;
      enqueue.assign({
        bootId: event.bootId,
        userQuit: false,
        boots: context.boots + 1,
        // Config and env switches belong to the launch, not to the ledger.
        settings,
        // This launch's set decides what is still to walk (the running step is the queue's head).
        ...(step ? { queue: replanQueue(context, settings.order, context.queue[0] ?? null) } : {}),
      });
      for (const child of ['relaunchGate', 'quitIntent', 'tray'] as const) enqueue.sendTo(child, event);
      if (step) enqueue.sendTo('step', event);
    }),
    recordStepResult: assign(({ context, event }) => {
      const result = (event as unknown as { output: StepResult }).output;
      return {
        results: { ...context.results, [result.permission]: result },
        statuses: { ...context.statuses, [result.permission]: result.status },
        requested: { ...context.requested, [result.permission]: result.requested },
        queue: context.queue.filter((permission) => permission !== result.permission),
      };
    }),
    startRun: assign(({ context }) => ({
      // NEXY_DEV_FORCE_PERMISSIONS (development only): every step runs, granted or not.
      queue: context.settings.devForcePermissions === true ? [...context.settings.order] : missingInOrder(context, context.statuses),
      results: {},
      decision: null,
      restartOutcome: null,
      warnings: [],
    })),
  },
  guards: {
    isAllGranted: ({ event, context }) => {
      const reading = (event as unknown as { output: StatusesReading }).output;
      return missingInOrder(context, reading.statuses).length === 0 && context.settings.devForcePermissions !== true;
    },
    hasQueue: ({ context }) => context.queue.length > 0,
    isRestartAllowed: ({ context }) => context.decision?.allowed === true,
    isHardAllPassed: ({ context }) => hardAllPassed(context, PASSING_OUTCOMES),
    isHardAllVerified: ({ context }) => hardAllPassed(context, VERIFIED_OUTCOMES),
  },
}).createMachine({
  id: 'orchestrator',
  description: 'First run: precheck, one step per missing permission, one decision, at most one restart, verify.',
  context: ({ input }) => ({
    settings: input.settings,
    bootId: input.bootId,
    statuses: {},
    results: {},
    requested: {},
    queue: [],
    screenCapturePromptedIn: null,
    decision: null,
    restartOutcome: null,
    warnings: [],
    userQuit: false,
    boots: 0,
    appMode: input.appMode ?? 'SLEEPING',
  }),
  invoke: [
    {
      id: 'relaunchGate',
      systemId: 'relaunchGate',
      src: 'relaunchGate',
      input: ({ context }) => ({
        bootId: context.bootId,
        delayMs: context.settings.restart.delayMs,
        enabled: context.settings.enabled,
        dryRun: context.settings.dryRun,
        killSwitch: context.settings.killSwitch,
        maxDeferMs: context.settings.restart.maxDeferMs,
      }),
    },
    { id: 'quitIntent', systemId: 'quitIntent', src: 'quitIntent' },
    { id: 'tray', systemId: 'tray', src: 'tray', input: ({ context }) => ({ mode: context.appMode }) },
  ],
  on: {
    'runtime.booted': {
      actions: 'recordBoot',
    },
    'tray.quit_clicked': { actions: sendTo('quitIntent', { type: 'tray.quit_clicked' }) },
    'user.quit': {
      actions: [
        assign({ userQuit: true }),
        sendTo('relaunchGate', { type: 'user.quit' }),
        { type: 'publish', params: { type: 'user.quit', payload: { user_quit_intent: true } } },
      ],
    },
    'app.mode_changed': { actions: sendTo('tray', ({ event }) => event) },
    'app.busy_changed': { actions: sendTo('relaunchGate', ({ event }) => event) },
    // RS-5: any request that is not the orchestrator's own goes to the gate, which rejects and journals it.
    'restart.legacy_requested': {
      actions: sendTo('relaunchGate', () => ({ type: 'restart.request', requestId: 'legacy', source: 'legacy' as const })),
    },
    'step.prompted': {
      actions: assign(({ context, event }) => ({
        requested: { ...context.requested, [event.permission]: true },
        screenCapturePromptedIn: event.permission === 'screen_capture' ? context.bootId : context.screenCapturePromptedIn,
      })),
    },
  },
  initial: 'PRECHECK',
  states: {
    PRECHECK: {
      entry: phaseEvent('PRECHECK'),
      invoke: {
        id: 'precheck',
        src: 'readStatuses',
        input: ({ context }) => ({ permissions: context.settings.order }),
        onDone: [
          {
            guard: 'isAllGranted',
            target: 'COMPLETED',
            actions: ['recordStatuses', assign({ results: {}, decision: null, restartOutcome: null, warnings: [] })],
          },
          { target: 'PIPELINE', actions: ['recordStatuses', 'startRun'] },
        ],
      },
    },
    PIPELINE: {
      entry: [
        phaseEvent('PIPELINE'),
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'permissions.first_run_started',
            payload: {
              missing: context.queue,
              order: context.settings.order,
              dev_forced: context.settings.devForcePermissions === true,
            },
          }),
        },
        sendTo('tray', { type: 'permissions.first_run_started' }),
      ],
      initial: 'next',
      states: {
        next: {
          always: [{ guard: 'hasQueue', target: 'step' }, { target: '#orchestrator.DECISION' }],
        },
        step: {
          invoke: {
            id: 'step',
            src: 'permissionStep',
            input: ({ context }) => stepInput(context),
            onDone: { target: 'next', actions: 'recordStepResult' },
          },
        },
      },
    },
    DECISION: {
      entry: [
        phaseEvent('DECISION'),
        assign({ decision: ({ context }) => decideRestart(context) }),
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'permissions.v2.decision',
            payload: { ...context.decision, results: context.results },
          }),
        },
      ],
      always: [
        { guard: 'isRestartAllowed', target: 'RESTART_REQUESTED' },
        { guard: 'isHardAllPassed', target: 'COMPLETED' },
        { target: 'FAILED' },
      ],
    },
    RESTART_REQUESTED: {
      entry: [
        phaseEvent('RESTART_REQUESTED'),
        // Seed 004: older consumers learn that a restart is needed before it is scheduled. Information only:
        // the decision is made and owned here, and the gate alone schedules (seed 003 §6).
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'permissions.first_run_restart_pending',
            payload: { request_id: requestIdOf(context), results: context.results },
          }),
        },
        sendTo('relaunchGate', ({ context }) => ({
          type: 'restart.request',
          requestId: requestIdOf(context),
          source: 'orchestrator' as const,
        })),
      ],
      initial: 'waiting',
      on: {
        // Any later launch restored into this phase is a new process: the restart happened, was
        // cancelled, or died with its process. Either way, verify here; never request again.
        'runtime.booted': {
          target: 'POST_RESTART_VERIFY',
          actions: 'recordBoot',
        },
      },
      states: {
        waiting: {
          on: {
            'gate.handed_off': {
              target: 'handedOff',
              actions: assign({ restartOutcome: 'executed' }),
            },
            'gate.cancelled': { target: 'cancelled', actions: assign({ restartOutcome: 'cancelled' }) },
            'gate.rejected': [
              {
                guard: 'isHardAllPassed',
                target: '#orchestrator.COMPLETED',
                actions: assign({ restartOutcome: ({ event }) => `rejected:${event.reason}` }),
              },
              {
                target: '#orchestrator.FAILED',
                actions: assign({ restartOutcome: ({ event }) => `rejected:${event.reason}` }),
              },
            ],
            // RS-7: no successor (or the commit failed) — verify in place, complete with a warning, never retry.
            'gate.unverified': {
              target: '#orchestrator.POST_RESTART_VERIFY',
              actions: assign({
                restartOutcome: 'unverified',
                warnings: ({ context }) => [...context.warnings, 'restart_unverified'],
              }),
            },
          },
        },
        /** The successor proved itself alive; this process releases the lock and exits. */
        handedOff: {},
        /** The user quit during the restart window; this process exits, nothing is relaunched. */
        cancelled: {},
      },
    },
    POST_RESTART_VERIFY: {
      entry: phaseEvent('POST_RESTART_VERIFY'),
      initial: 'checking',
      states: {
        checking: {
          invoke: {
            id: 'verify',
            src: 'readStatuses',
            input: ({ context }) => ({ permissions: context.settings.order }),
            onDone: {
              target: 'next',
              actions: [
                'recordStatuses',
                assign(({ context, event }) => ({
                  queue: missingInOrder(context, { ...context.statuses, ...event.output.statuses }),
                  // The truth is re-read: earlier outcomes stand only for what is still missing.
                  results: Object.fromEntries(
                    Object.entries(context.results).filter(
                      ([permission]) => event.output.statuses[permission as PermissionName] !== 'granted',
                    ),
                  ),
                })),
              ],
            },
          },
        },
        next: {
          always: [{ guard: 'hasQueue', target: 'step' }, { target: 'settling' }],
        },
        // RS-9: missing permissions are requested again; no restart is possible any more.
        step: {
          invoke: {
            id: 'step',
            src: 'permissionStep',
            input: ({ context }) => stepInput(context),
            onDone: { target: 'next', actions: 'recordStepResult' },
          },
        },
        settling: {
          always: [{ guard: 'isHardAllVerified', target: '#orchestrator.COMPLETED' }, { target: '#orchestrator.FAILED' }],
        },
      },
    },
    COMPLETED: {
      entry: [
        phaseEvent('COMPLETED'),
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'permissions.first_run_completed',
            payload: { results: context.results, warnings: context.warnings, restart_outcome: context.restartOutcome },
          }),
        },
        sendTo('tray', { type: 'permissions.first_run_completed' }),
      ],
      on: {
        // FR-1: every launch re-reads the real statuses; the completed ledger is only a cache.
        'runtime.booted': {
          target: 'PRECHECK',
          actions: 'recordBoot',
        },
      },
    },
    FAILED: {
      entry: [
        phaseEvent('FAILED'),
        {
          type: 'publish',
          params: ({ context }) => ({
            type: 'permissions.first_run_failed',
            payload: { results: context.results, warnings: context.warnings, restart_outcome: context.restartOutcome },
          }),
        },
        sendTo('tray', { type: 'permissions.first_run_failed' }),
      ],
      on: {
        'runtime.booted': {
          target: 'PRECHECK',
          actions: 'recordBoot',
        },
      },
    },
  },
});

function stepInput(context: OrchestratorContext): PermissionStepInput {
  const permission = context.queue[0]!;
  return {
    permission,
    settings: context.settings.steps[permission],
    advanceOnTimeout: context.settings.advanceOnTimeout,
    confirmRetries: context.settings.confirmRetries,
    confirmIntervalMs: context.settings.confirmIntervalMs,
    requestedBefore: context.requested[permission] === true,
    promptBlocked: permission === 'screen_capture' && context.screenCapturePromptedIn === context.bootId,
    knownStatus: context.statuses[permission] ?? null,
  };
}

