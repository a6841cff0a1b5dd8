/**
 * The relaunch gate's test model (RS-1..7, RS-10): requests from the owner and from legacy code, quits,
 * the host busy or idle, the delay, the commit (landing or failing), the hand-off (succeeding or failing),
 * new processes — and the
 * invariants of SPEC §3 on every replay: at most one restart executed, ever; restart_count 1 durable
 * before the successor starts; a quit before execution in a process means no execution in it; a
 * restart never goes ahead (its count spent) while the host says busy (RS-10); restart_count never
 * goes back and never exceeds 1.
 */
import type { AnyActorRef, AnyEventObject, AnyStateMachine } from 'xstate';
import { relaunchGateMachine, type RelaunchGateContext, type RelaunchGateInput } from '../../../machines/relaunch-gate.machine.js';
import type { OrchestratorSettings } from '../../../machines/types.js';
import type { EffectCall } from '../inert.js';
import type { InvariantViolation, ModelSnapshot, ReplayWatcher, TestModel } from '../model.js';

/** Options of {@link relaunchGateModel}. */
export interface RelaunchGateModelOptions {
  /** The adopter's settings (`restart.delayMs`, `enabled`, `dryRun`, `killSwitch`). @default the product defaults */
  settings?: Pick<OrchestratorSettings, 'enabled' | 'dryRun' | 'killSwitch'> & { restart: Pick<OrchestratorSettings['restart'], 'delayMs'> };
  /** The machine under test. @default the product's `relaunchGateMachine` */
  machine?: AnyStateMachine;
  /**
   * What a new process restores: the latest snapshot, or the last one `commitLedger` made durable (the
   * ledger may lag the memory by everything after the last forced commit). @default 'latest'
   */
  ledger?: 'latest' | 'committed';
  /** Processes one generated path may span. @default 3 */
  processes?: number;
  /** The gate's input as is, instead of one made from `settings`. */
  input?: RelaunchGateInput;
}

/** The gate's input for the settings (boot `b0`). */
export function relaunchGateInput(settings: RelaunchGateModelOptions['settings']): RelaunchGateInput {
  return {
    bootId: 'b0',
    delayMs: settings?.restart.delayMs ?? 3000,
    enabled: settings?.enabled ?? true,
    dryRun: settings?.dryRun ?? false,
    killSwitch: settings?.killSwitch ?? false,
  };
}

const once = (event: AnyEventObject) => () => [event];

/** The events the world sends the gate, by type (only those the current state accepts are sent). */
export const RELAUNCH_GATE_EVENTS: TestModel['events'] = {
  // The owner's request, and a legacy one wherever the owner's is possible (RS-5).
  'restart.request': () => [
    { type: 'restart.request', requestId: 'r', source: 'orchestrator' },
    { type: 'restart.request', requestId: 'l', source: 'legacy' },
  ],
  'user.quit': once({ type: 'user.quit' }),
  // RS-10: the host says busy or idle at any time; a restart due while busy waits in `deferred`.
  'app.busy_changed': (snapshot: ModelSnapshot) => [{ type: 'app.busy_changed', busy: !(snapshot.context as { busy?: boolean }).busy }],
  'gate.delay_elapsed': once({ type: 'gate.delay_elapsed' }),
  'xstate.done.actor.commitLedger': once({ type: 'xstate.done.actor.commitLedger', output: { generation: 1 } }),
  'xstate.error.actor.commitLedger': once({ type: 'xstate.error.actor.commitLedger', error: { message: 'disk full' } }),
  'relaunch.succeeded': once({ type: 'relaunch.succeeded', newPid: 4242 }),
  'relaunch.failed': once({ type: 'relaunch.failed', message: 'no successor' }),
};
const contextOf = (actor: AnyActorRef) => actor.getSnapshot().context as RelaunchGateContext;

/** The world around the gate across processes: executions, the durable ledger, quits. */
class GateWatcher implements ReplayWatcher {
  private readonly executions: { boot: number; committedCount: number; quitBefore: boolean }[] = [];
  /** Processes in which the restart was committed to (its count spent) while the host said busy. */
  private readonly dueWhileBusy: number[] = [];
  private committed: { context?: { restartCount?: number } } | null = null;
  private readonly quitIn = new Set<number>();
  private maxCount = 0;

  constructor(private readonly ledger: 'latest' | 'committed') {}

  onEffect(call: EffectCall, boot: number): void {
    const params = call.params as { type?: string } | undefined;
    // The count is spent (committing's entry publishes restart.count_changed): the host must not be busy then.
    if (call.effect === 'publish' && params?.type === 'restart.count_changed' && (call.context as { busy?: unknown } | undefined)?.busy === true) {
      this.dueWhileBusy.push(boot);
    }
    if (call.effect !== 'executeRelaunch') return;
    this.executions.push({ boot, committedCount: this.committed?.context?.restartCount ?? 0, quitBefore: this.quitIn.has(boot) });
  }

  beforeSend(event: AnyEventObject, actor: AnyActorRef, boot: number): void {
    if (event.type === 'user.quit') this.quitIn.add(boot);
    if (event.type === 'xstate.done.actor.commitLedger' && actor.getSnapshot().value === 'committing') {
      // What commitLedger makes durable: the snapshot as it is while committing.
      this.committed = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as typeof this.committed;
    }
  }

  persisted(latest: unknown): unknown {
    return this.ledger === 'committed' && this.committed ? this.committed : latest;
  }

  check(actor: AnyActorRef): InvariantViolation[] {
    const found: InvariantViolation[] = [];
    const count = contextOf(actor).restartCount;
    if (count < this.maxCount) found.push({ invariant: 'restart_count_never_decreases', message: `restart_count went from ${this.maxCount} to ${count}` });
    if (count > 1) found.push({ invariant: 'restart_count_at_most_1', message: `restart_count is ${count}` });
    this.maxCount = Math.max(this.maxCount, count);
    if (this.executions.length > 1) found.push({ invariant: 'at_most_one_restart', message: `${this.executions.length} restarts executed (processes ${this.executions.map((e) => e.boot).join(', ')})` });
    for (const boot of this.dueWhileBusy) found.push({ invariant: 'no_restart_due_while_busy', message: `a restart went ahead in process ${boot} while the host said busy` });
    for (const execution of this.executions) {
      if (execution.committedCount < 1) found.push({ invariant: 'commit_before_relaunch', message: `a restart executed in process ${execution.boot} before restart_count 1 was durable` });
      if (execution.quitBefore) found.push({ invariant: 'quit_wins', message: `a restart executed in process ${execution.boot} after the user quit in it` });
    }
    return found;
  }
}

/**
 * The relaunch gate's model for {@link generatePaths} and {@link replayPaths}.
 *
 * @example
 * ```ts
 * const model = relaunchGateModel({ settings, ledger: 'committed' });
 * expect(replayPaths(model, generatePaths(model)).failures).toEqual([]);
 * ```
 */
export function relaunchGateModel(options: RelaunchGateModelOptions = {}): TestModel<RelaunchGateInput> {
  const ledger = options.ledger ?? 'latest';
  return {
    name: `relaunchGate (ledger: ${ledger})`,
    machine: options.machine ?? relaunchGateMachine,
    input: options.input ?? relaunchGateInput(options.settings),
    standalone: true,
    events: RELAUNCH_GATE_EVENTS,
    bootEvent: (boot) => ({ type: 'runtime.booted', bootId: `b${boot}`, pid: boot + 1, at: 0 }),
    maxBoots: (options.processes ?? 3) - 1,
    bootsOf: (snapshot: ModelSnapshot<RelaunchGateContext>) => Number(/\d+$/.exec(snapshot.context.bootId)?.[0] ?? 0),
    // A count past 1 is already a violation: stop there (the replay reports it) instead of exploring on.
    stopWhen: (snapshot: ModelSnapshot<RelaunchGateContext>) => snapshot.context.restartCount > 1,
    limit: 20_000,
    watch: () => new GateWatcher(ledger),
    // Timers fire, commits land, successors come up, the owner asks again.
    settle(actor, send) {
      let askedAgain = false;
      for (let i = 0; i < 10; i++) {
        const value = actor.getSnapshot().value;
        if (value === 'armed') send({ type: 'gate.delay_elapsed' });
        else if (value === 'deferred') send({ type: 'app.busy_changed', busy: false });
        else if (value === 'committing') send({ type: 'xstate.done.actor.commitLedger', output: { generation: 2 } });
        else if (value === 'executing') send({ type: 'relaunch.succeeded', newPid: 4343 });
        else if (!askedAgain) {
          askedAgain = true;
          send({ type: 'restart.request', requestId: 'again', source: 'orchestrator' });
        } else break;
      }
    },
  };
}
