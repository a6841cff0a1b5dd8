/**
 * The relaunch gate's model as the benchmark (`mbt_generation`) has always used it: the config variants,
 * the events of a state, the shortest paths. A thin layer over {@link relaunchGateModel}.
 */
import type { StatePath } from 'xstate/graph';
import type { RelaunchGateContext, RelaunchGateInput } from '../../machines/relaunch-gate.machine.js';
import { generatePaths, modelEvents, type ModelSnapshot } from './model.js';
import { relaunchGateModel } from './models/relaunch-gate.js';

/** Any event the model sends (the gate's own events and the `xstate.done/error.actor.*` of its invokes). */
export type GateModelEvent = { type: string; [key: string]: unknown };

/** The config variants the model is traversed with. */
export const RELAUNCH_GATE_INPUTS: Readonly<Record<'default' | 'dryRun' | 'killSwitch' | 'disabled', RelaunchGateInput>> = {
  default: { bootId: 'b0', delayMs: 3000, enabled: true, dryRun: false, killSwitch: false },
  dryRun: { bootId: 'b0', delayMs: 3000, enabled: true, dryRun: true, killSwitch: false },
  killSwitch: { bootId: 'b0', delayMs: 3000, enabled: true, dryRun: false, killSwitch: true },
  disabled: { bootId: 'b0', delayMs: 3000, enabled: false, dryRun: false, killSwitch: false },
};

/** The events the world can produce in a state (see `RELAUNCH_GATE_EVENTS`), new processes included. */
export function relaunchGateEvents(snapshot: { value: unknown; context: RelaunchGateContext }): GateModelEvent[] {
  const model = relaunchGateModel({ input: RELAUNCH_GATE_INPUTS.default });
  const state = snapshot as ModelSnapshot<RelaunchGateContext>;
  return modelEvents(model, state, model.bootsOf?.(state) ?? 0);
}

/** The shortest path to every reachable state (a count past 1 stops the traversal: the replay reports it). */
export function relaunchGateShortestPaths(input: RelaunchGateInput): StatePath<any, any>[] {
  return generatePaths(relaunchGateModel({ input })).paths;
}
