/**
 * The root orchestrator's test model, with its real children (relaunch gate, quit intent, tray, one
 * permission step at a time; effects inert): precheck readings for the adopter's order, every step
 * outcome, every answer of the relaunch gate, a quit at every point, new processes. Invariants on every
 * replay: the phase is one of the seven; the tray keeps its three statuses and their colours and drops
 * the badge when the first run ends (TR-1..3); the gate arms at most once per process, never after the
 * user quit in that process, never once restart_count is 1, and only when the decision allowed it;
 * restart_count never goes back and never exceeds 1; at most one restart executes.
 */
import type { AnyActorRef, AnyEventObject, AnyStateMachine } from 'xstate';
import { orchestratorMachine, type OrchestratorContext, type OrchestratorInput } from '../../../machines/orchestrator.machine.js';
import { TRAY_COLORS } from '../../../machines/tray.machine.js';
import { PHASES, STEP_OUTCOMES, TRAY_STATUSES, type OrchestratorSettings, type PermissionName, type PermissionStatus, type StepOutcome } from '../../../machines/types.js';
import type { EffectCall } from '../inert.js';
import { leafOf, topOf, type InvariantViolation, type ModelSnapshot, type ReplayWatcher, type TestModel } from '../model.js';

/** Options of {@link orchestratorModel}. */
export interface OrchestratorModelOptions {
  /** The machine under test (its children are taken from it). @default the product's `orchestratorMachine` */
  machine?: AnyStateMachine;
  /** Processes one generated path may span. @default 3 */
  processes?: number;
  /**
   * The outcomes a step may end with, per permission. @default granted, denied, and pending_restart for
   * a needs_restart step (the outcomes the decision tells apart)
   */
  outcomes?: (permission: PermissionName, settings: OrchestratorSettings) => StepOutcome[];
  /**
   * Also send `restart.legacy_requested` (a restart asked for by legacy code, RS-5) anywhere: it must be
   * rejected and change nothing else. Turn it off to keep the space smaller.
   * @default true
   */
  legacyRequests?: boolean;
}

/** Precheck / verification readings: all granted, all never asked, only the first of the order missing. */
function readings(order: readonly PermissionName[]): Partial<Record<PermissionName, PermissionStatus>>[] {
  const all = (status: PermissionStatus) => Object.fromEntries(order.map((p) => [p, status])) as Record<PermissionName, PermissionStatus>;
  const list = [all('granted'), all('not_determined')];
  if (order.length > 1) list.push({ ...all('granted'), [order[0]!]: 'not_determined' });
  return list;
}

function defaultOutcomes(permission: PermissionName, settings: OrchestratorSettings): StepOutcome[] {
  return settings.steps[permission].needsRestart ? ['granted', 'pending_restart', 'denied'] : ['granted', 'denied'];
}

/** The events the world sends the root, by type (only those the current state accepts are sent). */
export function orchestratorEvents(settings: OrchestratorSettings, outcomes = defaultOutcomes): TestModel['events'] {
  const reads = (id: string) => () => readings(settings.order).map((statuses) => ({ type: `xstate.done.actor.${id}`, output: { statuses, errors: {}, at: 1_000 } }));
  return {
    'tray.quit_clicked': () => [{ type: 'tray.quit_clicked' }],
    'xstate.done.actor.precheck': reads('precheck'),
    'xstate.done.actor.verify': reads('verify'),
    'xstate.done.actor.step': (snapshot: ModelSnapshot<OrchestratorContext>) => {
      const permission = snapshot.context.queue[0];
      if (!permission) return [];
      return outcomes(permission, settings)
        .filter((outcome) => (STEP_OUTCOMES as readonly string[]).includes(outcome))
        .map((outcome) => ({
          type: 'xstate.done.actor.step',
          output: { permission, outcome, status: outcome === 'granted' ? 'granted' : 'denied', requested: true },
        }));
    },
    'gate.handed_off': () => [{ type: 'gate.handed_off', newPid: 2 }],
    'gate.cancelled': () => [{ type: 'gate.cancelled' }],
    'gate.rejected': () => [{ type: 'gate.rejected', reason: 'budget_spent', source: 'orchestrator' }],
    'gate.unverified': () => [{ type: 'gate.unverified', message: 'no successor' }],
  };
}

/** Counters in context multiply states: the key holds what decides behaviour (XSTATE-NOTES). */
function serialize(snapshot: ModelSnapshot<OrchestratorContext>): string {
  const c = snapshot.context;
  return JSON.stringify([
    snapshot.value,
    c.queue,
    Object.values(c.results).map((r) => `${r?.permission}:${r?.outcome}`),
    c.statuses,
    c.decision?.allowed ?? null,
    c.restartOutcome,
    c.warnings,
    c.userQuit,
    c.boots,
  ]);
}

function gateCount(actor: AnyActorRef): number {
  const gate = (actor.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children?.relaunchGate;
  const count = (gate?.getSnapshot() as { context?: { restartCount?: unknown } } | undefined)?.context?.restartCount;
  return typeof count === 'number' ? count : 0;
}

class RootWatcher implements ReplayWatcher {
  private readonly tray: { status: string; color: string; overlay: string | null; boot: number }[] = [];
  /** Every arming of the gate, in order (`at`: the number of effects and quits seen before it). */
  private readonly armed: { boot: number; count: number; at: number }[] = [];
  /** The first quit of each process, on the same count. */
  private readonly quitAt = new Map<number, number>();
  private seen = 0;
  private executions = 0;
  private maxCount = 0;
  /** The root's state before a legacy restart request, until it is checked. */
  private beforeLegacy: string | null = null;

  onEffect(call: EffectCall, boot: number): void {
    this.seen++;
    const params = call.params as { type?: string; payload?: Record<string, unknown> };
    if (call.machine === 'tray' && call.effect === 'publish' && params.type === 'tray.status_updated') {
      const payload = params.payload as { status: string; color: string; overlay: string | null };
      this.tray.push({ status: payload.status, color: payload.color, overlay: payload.overlay, boot });
    }
    if (call.machine === 'relaunchGate' && call.effect === 'publish' && params.type === 'restart.requested') {
      this.armed.push({ boot, count: Number(params.payload?.restart_count ?? 0), at: this.seen });
    }
    if (call.effect === 'executeRelaunch') this.executions++;
  }

  beforeSend(event: AnyEventObject, actor: AnyActorRef, boot: number): void {
    this.seen++;
    if (event.type === 'tray.quit_clicked' && !this.quitAt.has(boot)) this.quitAt.set(boot, this.seen);
    this.beforeLegacy = event.type === 'restart.legacy_requested' ? JSON.stringify(actor.getSnapshot().value) : null;
  }

  check(actor: AnyActorRef, boot: number): InvariantViolation[] {
    const found: InvariantViolation[] = [];
    const snapshot = actor.getSnapshot() as ModelSnapshot<OrchestratorContext>;
    const phase = topOf(snapshot.value);
    if (!(PHASES as readonly string[]).includes(phase)) found.push({ invariant: 'phase_is_one_of_seven', message: `phase ${phase}` });
    for (const update of this.tray) {
      if (!(TRAY_STATUSES as readonly string[]).includes(update.status) || update.color !== TRAY_COLORS[update.status as keyof typeof TRAY_COLORS]) {
        found.push({ invariant: 'tray_three_statuses', message: `tray ${update.status} ${update.color}` });
      }
    }
    const last = this.tray.at(-1);
    if (last && (phase === 'COMPLETED' || phase === 'FAILED') && this.tray.some((t) => t.boot === boot) && last.overlay !== null) {
      found.push({ invariant: 'badge_goes_after_first_run', message: `phase ${phase} with the ${last.overlay} badge still shown` });
    }
    found.push(...this.checkRestarts(actor, snapshot));
    if (this.beforeLegacy !== null && this.beforeLegacy !== JSON.stringify(snapshot.value)) {
      found.push({ invariant: 'legacy_request_changes_nothing', message: `a legacy restart request moved the root from ${this.beforeLegacy} to ${JSON.stringify(snapshot.value)}` });
    }
    this.beforeLegacy = null;
    return found;
  }

  private checkRestarts(actor: AnyActorRef, snapshot: ModelSnapshot<OrchestratorContext>): InvariantViolation[] {
    const found: InvariantViolation[] = [];
    const perBoot = new Map<number, number>();
    for (const arm of this.armed) perBoot.set(arm.boot, (perBoot.get(arm.boot) ?? 0) + 1);
    if ([...perBoot.values()].some((count) => count > 1)) found.push({ invariant: 'gate_arms_once_per_process', message: `arms per process: ${JSON.stringify([...perBoot])}` });
    for (const arm of this.armed) {
      const quit = this.quitAt.get(arm.boot);
      if (quit !== undefined && quit < arm.at) found.push({ invariant: 'quit_wins', message: `a restart was armed in process ${arm.boot} after the user quit in it` });
      if (arm.count >= 1) found.push({ invariant: 'at_most_one_restart', message: `a restart was armed with restart_count ${arm.count}` });
    }
    if (leafOf(snapshot.value).startsWith('RESTART_REQUESTED') && snapshot.context.decision && !snapshot.context.decision.allowed) {
      found.push({ invariant: 'restart_only_when_allowed', message: `RESTART_REQUESTED with a decision blocked by ${snapshot.context.decision.blockedBy.join(', ')}` });
    }
    const count = gateCount(actor);
    if (count < this.maxCount) found.push({ invariant: 'restart_count_never_decreases', message: `restart_count went from ${this.maxCount} to ${count}` });
    if (count > 1) found.push({ invariant: 'restart_count_at_most_1', message: `restart_count is ${count}` });
    this.maxCount = Math.max(this.maxCount, count);
    if (this.executions > 1) found.push({ invariant: 'at_most_one_restart', message: `${this.executions} restarts executed` });
    return found;
  }
}

/**
 * The orchestrator's model for the adopter's settings (their order, hard / needs_restart flags, restart rules).
 *
 * @example
 * ```ts
 * const model = orchestratorModel(settingsFromConfig(config));
 * expect(replayPaths(model, generatePaths(model)).failures).toEqual([]);
 * ```
 */
export function orchestratorModel(settings: OrchestratorSettings, options: OrchestratorModelOptions = {}): TestModel<OrchestratorInput> {
  return {
    name: `orchestrator [${settings.order.join(', ')}]`,
    machine: options.machine ?? orchestratorMachine,
    input: { settings, bootId: 'b0' },
    standalone: false,
    events: {
      ...orchestratorEvents(settings, options.outcomes),
      ...(options.legacyRequests !== false ? { 'restart.legacy_requested': () => [{ type: 'restart.legacy_requested' }] } : {}),
    },
    // Sent by the children (quit intent, steps, gate), or forwarded to a child whose own model covers it (the
    // tray's app mode; RS-5 legacy requests — unless `legacyRequests` — and RS-10 busy/idle are the gate's model).
    internal: ['user.quit', 'step.prompted', 'gate.armed', 'app.mode_changed', 'app.busy_changed', ...(options.legacyRequests !== false ? [] : ['restart.legacy_requested'])],
    bootEvent: (boot) => ({ type: 'runtime.booted', bootId: `b${boot}`, pid: boot + 1, at: 0, settings }),
    maxBoots: (options.processes ?? 3) - 1,
    bootsOf: (snapshot: ModelSnapshot<OrchestratorContext>) => snapshot.context.boots,
    serializeState: serialize as never,
    limit: 50_000,
    watch: () => new RootWatcher(),
  };
}
