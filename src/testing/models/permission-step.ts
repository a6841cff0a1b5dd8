/**
 * The permission step's test model (FR-3, FR-4, FR-6): every status a read can return (and a failed
 * read), ticks, the timebox — for every permission of the adopter's order (any kind of the catalogue,
 * machines/permissions.ts) with its own settings.
 * Invariants on every replay: the outcome is one of FR-4's six and a restricted permission ends
 * `restricted` with nothing shown; a kind that never reads `not_determined`, read `denied` and never
 * asked, is asked; the prompt fires at most once per process, never when blocked;
 * a restore keeps the time the step had left (never more than its timebox) and re-arms the timebox
 * with it; no timebox is armed past the step's bound; with
 * `advance_on_timeout=false` the timebox never ends the step, with `true` it always does (every step
 * ends).
 */
import type { AnyActorRef, AnyEventObject, AnyStateMachine } from 'xstate';
import { permissionStepMachine, type PermissionStepContext, type PermissionStepInput } from '../../../machines/permission-step.machine.js';
import { NEVER_NOT_DETERMINED, permissionKind } from '../../../machines/permissions.js';
import { PERMISSION_STATUSES, STEP_OUTCOMES, type OrchestratorSettings, type PermissionName } from '../../../machines/types.js';
import type { EffectCall } from '../inert.js';
import { leafOf, type InvariantViolation, type ReplayWatcher, type TestModel } from '../model.js';

/** Options of {@link permissionStepModels}. */
export interface PermissionStepModelOptions {
  /** The machine under test. @default the product's `permissionStepMachine` */
  machine?: AnyStateMachine;
  /** Also model the other `advance_on_timeout` than the configured one. @default false */
  bothTimeoutModes?: boolean;
}

/** Reads answer with every status, or fail (`status: null`). */
const readings = (): AnyEventObject[] =>
  [...PERMISSION_STATUSES, null].map((status) => ({
    type: 'xstate.done.actor.readStatus',
    output: { status, at: 1_000, ...(status ? {} : { error: 'read failed' }) },
  }));

/** The events the world sends a step, by type (only those the current state accepts are sent). */
export const PERMISSION_STEP_EVENTS: TestModel['events'] = {
  'xstate.done.actor.readStatus': readings,
  'step.tick': () => [{ type: 'step.tick' }],
  'step.timebox_expired': () => [{ type: 'step.timebox_expired' }],
};

const contextOf = (actor: AnyActorRef) => actor.getSnapshot().context as PermissionStepContext;

class StepWatcher implements ReplayWatcher {
  private readonly activations: number[] = [];
  private readonly settingsOpened: number[] = [];
  /** Every arming of the timebox: the time left it was given (`null`: nothing armed) and its bound. */
  private readonly timeboxes: { boot: number; ms: number | null; maxMs: number }[] = [];
  private firstStatus: string | null = null;
  private expired: 'active' | null = null;

  constructor(private readonly input: PermissionStepInput) {}

  onEffect(call: EffectCall, boot: number): void {
    if (call.effect === 'activatePermission') this.activations.push(boot);
    if (call.effect === 'openSettings') this.settingsOpened.push(boot);
    if (call.effect === 'runTimebox') {
      const { ms, maxMs } = call.params as { ms: number | null; maxMs: number };
      this.timeboxes.push({ boot, ms, maxMs });
    }
  }

  beforeSend(event: AnyEventObject, actor: AnyActorRef): void {
    if (event.type === 'xstate.done.actor.readStatus' && this.firstStatus === null) this.firstStatus = String((event.output as { status: unknown }).status);
    this.expired = event.type === 'step.timebox_expired' && actor.getSnapshot().status === 'active' ? 'active' : null;
  }

  /**
   * FR-3: a restored step goes on with the time it had left at its last commit, never more than its
   * timebox, and re-arms its timebox with it (nothing, once it ended with `advance_on_timeout=false`).
   */
  afterRestore(persisted: unknown, actor: AnyActorRef, boot: number): InvariantViolation[] {
    const saved = (persisted as { context: PermissionStepContext }).context;
    const before = saved.remainingMs;
    const after = contextOf(actor).remainingMs;
    const expected = before === null ? null : Math.min(before, this.input.settings.timeoutMs);
    if (after !== expected) return [{ invariant: 'time_left_kept_across_restore', message: `the step had ${before} ms left, restored with ${after}` }];
    const state = leafOf(actor.getSnapshot().value);
    const armed = this.timeboxes.filter((t) => t.boot === boot).map((t) => t.ms);
    const wanted = saved.timeboxExpired ? null : after;
    if (actor.getSnapshot().status === 'active' && state !== 'reading' && before !== null && !armed.includes(wanted)) {
      return [{ invariant: 'time_left_kept_across_restore', message: `the restored timebox was armed with ${JSON.stringify(armed)}, not ${wanted}` }];
    }
    return [];
  }

  check(actor: AnyActorRef): InvariantViolation[] {
    const found: InvariantViolation[] = [];
    const perBoot = new Map<number, number>();
    for (const boot of this.activations) perBoot.set(boot, (perBoot.get(boot) ?? 0) + 1);
    if ([...perBoot.values()].some((count) => count > 1)) found.push({ invariant: 'prompt_at_most_once_per_process', message: `prompts per process: ${JSON.stringify([...perBoot])}` });
    if (this.input.promptBlocked && this.activations.length > 0) found.push({ invariant: 'blocked_prompt_never_fires', message: 'a blocked Screen Capture prompt fired' });
    // FR-6: a kind that never reads `not_determined` (the catalogue) reads `denied` when never asked; a
    // step that took that for the user's answer would never ask (Screen Recording: the app would never
    // even be listed in its pane).
    if (this.firstStatus === 'denied' && !permissionKind(this.input.permission).readsNotDetermined && !this.input.requestedBefore && !this.input.promptBlocked && this.activations.length === 0) {
      found.push({ invariant: 'unasked_kind_is_asked', message: `${this.input.permission} read denied, was never asked, and no request was made` });
    }
    if (this.firstStatus === 'restricted' && (this.activations.length > 0 || this.settingsOpened.length > 0)) {
      found.push({ invariant: 'restricted_shows_nothing', message: 'a restricted permission showed a prompt or System Settings' });
    }
    for (const timebox of this.timeboxes) {
      if ((timebox.ms !== null && timebox.ms > timebox.maxMs) || timebox.maxMs > this.input.settings.timeoutMs) {
        found.push({ invariant: 'timebox_within_bound', message: `a timebox armed with ${timebox.ms} ms (bound ${timebox.maxMs}) for a ${this.input.settings.timeoutMs} ms step` });
      }
    }
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'done') {
      const outcome = (snapshot.output as { outcome: string }).outcome;
      if (!(STEP_OUTCOMES as readonly string[]).includes(outcome)) found.push({ invariant: 'outcome_is_one_of_six', message: `outcome ${outcome}` });
      if (this.firstStatus === 'restricted' && outcome !== 'restricted') found.push({ invariant: 'restricted_ends_restricted', message: `outcome ${outcome}` });
    }
    if (this.expired === 'active') {
      if (!this.input.advanceOnTimeout && snapshot.status !== 'active') found.push({ invariant: 'no_advance_keeps_waiting', message: 'advance_on_timeout=false, yet the timebox ended the step' });
      if (this.input.advanceOnTimeout && snapshot.status !== 'done') found.push({ invariant: 'every_step_ends', message: `the timebox expired and the step is still ${leafOf(snapshot.value)}` });
    }
    return found;
  }
}

/** The step inputs the adopter's settings make: per permission, per case the machine tells apart. */
export function permissionStepInputs(settings: OrchestratorSettings, options: { bothTimeoutModes?: boolean } = {}): { name: string; input: PermissionStepInput }[] {
  const inputs: { name: string; input: PermissionStepInput }[] = [];
  const modes = options.bothTimeoutModes ? [settings.advanceOnTimeout, !settings.advanceOnTimeout] : [settings.advanceOnTimeout];
  for (const permission of settings.order) {
    const step = settings.steps[permission];
    // Whether a request was made before changes the route only for these (FR-6) and the timeout outcome of a needs_restart step.
    const remembered = NEVER_NOT_DETERMINED.includes(permission) || step.needsRestart ? [false, true] : [false];
    for (const advanceOnTimeout of modes) {
      for (const requestedBefore of remembered) {
        const input: PermissionStepInput = {
          permission,
          settings: step,
          advanceOnTimeout,
          confirmRetries: settings.confirmRetries,
          confirmIntervalMs: settings.confirmIntervalMs,
          requestedBefore,
          promptBlocked: false,
          knownStatus: null,
        };
        inputs.push({ name: `${permission} advance=${advanceOnTimeout} requestedBefore=${requestedBefore}`, input });
        if (permission === 'screen_capture' && !requestedBefore) {
          inputs.push({ name: `${permission} advance=${advanceOnTimeout} prompt blocked in this process`, input: { ...input, promptBlocked: true } });
        }
      }
    }
  }
  return inputs;
}

/**
 * One permission-step model per case of the adopter's settings (see {@link permissionStepInputs}).
 *
 * @example
 * ```ts
 * for (const model of permissionStepModels(settings)) expect(replayPaths(model, generatePaths(model)).failures).toEqual([]);
 * ```
 */
export function permissionStepModels(settings: OrchestratorSettings, options: PermissionStepModelOptions = {}): TestModel<PermissionStepInput>[] {
  return permissionStepInputs(settings, options).map(({ name, input }) => ({
    name: `permissionStep ${name}`,
    machine: options.machine ?? permissionStepMachine,
    input,
    standalone: true,
    events: PERMISSION_STEP_EVENTS,
    internal: ['runtime.booted', 'xstate.error.actor.readStatus'],
    // A step does not count processes: crashes are injected by the replay, not generated.
    bootEvent: (boot) => ({ type: 'runtime.booted', bootId: `b${boot}`, pid: boot + 1, at: 0 }),
    maxBoots: 0,
    limit: 20_000,
    watch: () => new StepWatcher(input),
    // The step's timebox ends (with advance_on_timeout=true, it must end the step).
    settle(actor, send) {
      if (actor.getSnapshot().status === 'active' && leafOf(actor.getSnapshot().value) !== 'reading') send({ type: 'step.timebox_expired' });
    },
  }));
}

/** The permissions of a set of models' inputs (for reports). */
export function permissionsOf(models: TestModel<PermissionStepInput>[]): PermissionName[] {
  return [...new Set(models.map((model) => model.input.permission))];
}
