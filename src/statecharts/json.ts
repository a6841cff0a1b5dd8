/**
 * XState v5 machine → its definition as stable, pretty JSON.
 */
import type { AnyStateMachine } from 'xstate';
import { describeAction, describeGuard, stableStringify } from './model.js';

/**
 * Turns `machine.definition` into plain data. XState's own `toJSON` hooks are used where present
 * (state nodes become `#id` references), then what JSON cannot hold is made explicit instead of
 * silently lost:
 * - guard combinators become `{ "type": "xstate.not" | "xstate.and" | "xstate.or", "guards": [...] }`
 *   and also get a readable `text` (`!isReady`); `stateIn()` becomes `{ "type": "xstate.stateIn", … }`;
 * - eventless transitions, missing from `machine.definition`, are added as `always`;
 * - the flattened `transitions` list (a repeat of `on`) is left out;
 * - built-in actions (`assign`, `raise`, …) become `{ "type": "xstate.assign" }`; other functions
 *   (inline actions, `input` mappers, dynamic delays) are dropped or named `inline`.
 */
function toPlain(value: unknown, depth = 0): unknown {
  if (depth > 200) return null;
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function') return undefined;
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => toPlainItem(v, depth + 1));
  const source = value as Record<string, unknown> & { toJSON?: () => unknown };
  const json = typeof source.toJSON === 'function' ? source.toJSON() : value;
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) return toPlain(json, depth + 1);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json as Record<string, unknown>)) {
    if (key === 'guard' && v !== undefined) {
      out.guard = guardToPlain(source.guard ?? v);
      continue;
    }
    // `transitions` repeats `on` (flattened); function-valued properties (`toJSON`, mappers) carry no data.
    if (key === 'transitions' || typeof v === 'function') continue;
    const plain = toPlain(v, depth + 1);
    if (plain !== undefined) out[key] = plain;
  }
  if (!('guard' in out) && typeof source.guard === 'function') out.guard = guardToPlain(source.guard);
  return out;
}

/** Array items and values: functions that are actions keep their type, others are dropped. */
function toPlainItem(value: unknown, depth: number): unknown {
  if (typeof value === 'function') {
    const type = (value as { type?: unknown }).type;
    return typeof type === 'string' ? { type } : { type: describeAction(value) };
  }
  return toPlain(value, depth);
}

function guardToPlain(guard: unknown): unknown {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as { name?: unknown; guards?: unknown; stateValue?: unknown };
    if (Array.isArray(fn.guards)) {
      return { type: `xstate.${String(fn.name)}`, text: describeGuard(guard), guards: (fn.guards as unknown[]).map(guardToPlain) };
    }
    if (fn.name === 'stateIn') return { type: 'xstate.stateIn', stateValue: toPlain(fn.stateValue) };
    return { type: describeGuard(guard) };
  }
  return toPlain(guard);
}

/**
 * The machine definition (`machine.definition`) as pretty JSON with keys sorted at every level, so the
 * text only changes when the machine does.
 *
 * @param machine - the machine to serialise.
 * @returns JSON text ending with a newline.
 */
export function machineToJSON(machine: AnyStateMachine): string {
  const definition = toPlain(machine.definition);
  addAlways(definition, machine.root as unknown as NodeView);
  return `${stableStringify(definition, 2)}\n`;
}

interface NodeView {
  states: Record<string, NodeView>;
  always?: readonly unknown[];
}

/** `machine.definition` has no `always` (eventless transitions live outside `on`): add them back. */
function addAlways(plain: unknown, node: NodeView): void {
  if (plain === null || typeof plain !== 'object') return;
  const target = plain as { always?: unknown; states?: Record<string, unknown> };
  if (node.always && node.always.length > 0) target.always = node.always.map((t) => toPlain(t));
  for (const [key, child] of Object.entries(node.states)) addAlways(target.states?.[key], child);
}
