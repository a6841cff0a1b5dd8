/**
 * The relaunch gate's test model for `xstate/graph`: which events the world can produce in each state,
 * the config variants, and the path generator. Shared by the model-based tests
 * (`test/mbt/relaunch-gate.mbt.test.ts`) and the benchmark (`mbt_generation`), and exported for teams
 * that generate their own tests from the production machine in CI.
 */
import { getShortestPaths, type StatePath } from 'xstate/graph';
import {
  relaunchGateMachine,
  type RelaunchGateContext,
  type RelaunchGateInput,
} from '../../machines/relaunch-gate.machine.js';

/** Any event the model sends (the gate's own events and the `xstate.done/error.actor.*` of its invokes). */
export type GateModelEvent = { type: string; [key: string]: unknown };

/** The production machine, with its parent notification made a no-op (a traversal has no parent). */
export const relaunchGateTraversable = relaunchGateMachine.provide({ actions: { notifyParent: () => {} } });

/** How many processes a path may span (each `runtime.booted` is a new one). */
export const RELAUNCH_GATE_MAX_BOOT = 3;

/**
 * The events the world can produce in a state: requests and quits at any time; a timer, a commit
 * result or a hand-off result only while the actor that produces it is running; a new process
 * (`runtime.booted`) until `RELAUNCH_GATE_MAX_BOOT`.
 */
export function relaunchGateEvents(snapshot: { value: unknown; context: RelaunchGateContext }): GateModelEvent[] {
  const events: GateModelEvent[] = [
    { type: 'restart.request', requestId: 'r', source: 'orchestrator' },
    { type: 'restart.request', requestId: 'l', source: 'legacy' },
    { type: 'user.quit' },
    // RS-10: the host says busy / idle at any time; a restart due while busy waits in `deferred`.
    { type: 'app.busy_changed', busy: !snapshot.context.busy },
  ];
  if (snapshot.value === 'armed' || snapshot.value === 'deferred') events.push({ type: 'gate.delay_elapsed' });
  if (snapshot.value === 'committing') {
    events.push(
      { type: 'xstate.done.actor.commitLedger', output: { generation: 1 } },
      { type: 'xstate.error.actor.commitLedger', error: { message: 'disk full' } },
    );
  }
  if (snapshot.value === 'executing') {
    events.push({ type: 'relaunch.succeeded', newPid: 4242 }, { type: 'relaunch.failed', message: 'no successor' });
  }
  const boot = Number(snapshot.context.bootId.slice(1));
  if (boot < RELAUNCH_GATE_MAX_BOOT) events.push({ type: 'runtime.booted', bootId: `b${boot + 1}`, pid: 2, at: 0 });
  return events;
}

/** The config variants the model is traversed with. */
export const RELAUNCH_GATE_INPUTS: Readonly<Record<'default' | 'dryRun' | 'killSwitch' | 'disabled', RelaunchGateInput>> = {
  default: { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: false, killSwitch: false },
  dryRun: { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: true, killSwitch: false },
  killSwitch: { bootId: 'b1', delayMs: 3000, enabled: true, dryRun: false, killSwitch: true },
  disabled: { bootId: 'b1', delayMs: 3000, enabled: false, dryRun: false, killSwitch: false },
};

/**
 * The shortest path to every reachable state. A count past 1 is already a violation: the traversal
 * stops there (the replay reports it) instead of exploring an unbounded space, and is bounded so a
 * broken machine fails rather than hangs.
 */
export function relaunchGateShortestPaths(input: RelaunchGateInput): StatePath<any, any>[] {
  return getShortestPaths(relaunchGateTraversable, {
    events: relaunchGateEvents as never,
    input,
    stopWhen: (snapshot) => (snapshot.context as RelaunchGateContext).restartCount > 1,
    limit: 20_000,
  });
}
