/**
 * XState v5 machine → Mermaid `stateDiagram-v2` text (renders on GitHub in a ```mermaid block).
 *
 * Layout of the text, chosen so Mermaid's parser and renderer are happy:
 * - the root is always a composite state named after the machine, so transitions declared on the root
 *   (`on` at the machine level) have a box to start from;
 * - every state is declared with `state "key" as <safeId>` before any arrow mentions it — Mermaid ids
 *   are global to the diagram, so ids are the full XState path made safe (`machine.a.b` → `machine_a_b`);
 * - a transition is written inside the innermost composite block containing both ends, hoisted out of
 *   parallel blocks (text after a `--` would otherwise land in the last region).
 */
import type { AnyStateMachine } from 'xstate';
import {
  ancestorsOf,
  buildChartModel,
  indexStates,
  transitionLabel,
  type ChartModel,
  type ChartState,
  type ChartTransition,
} from './model.js';

/** Options of {@link machineToMermaid}. */
export interface MermaidOptions {
  /**
   * Diagram direction (`direction TB` …); omitted from the text when not given (Mermaid's default is TB).
   * @default undefined
   */
  direction?: 'TB' | 'BT' | 'LR' | 'RL';
  /**
   * Show entry/exit actions in state labels and transition actions after ` / ` in arrow labels.
   * @default true
   */
  actions?: boolean;
  /**
   * Indentation unit.
   * @default '  '
   */
  indent?: string;
}

// Words the stateDiagram lexer treats as keywords at the start of a line or anywhere (case-insensitive).
const RESERVED_IDS = new Set([
  'state', 'note', 'class', 'classdef', 'direction', 'scale', 'hide', 'end', 'default', 'acctitle', 'accdescr',
  'stateDiagram', 'statediagram-v2',
]);

/**
 * Mermaid-safe ids for every state, unique and deterministic: the XState id with every character other
 * than `[A-Za-z0-9_]` replaced by `_`; a clash (e.g. `a.b` vs `a_b`) gets `_2`, `_3`, … in document
 * order; a keyword gets a trailing `_`.
 */
export function mermaidIds(model: ChartModel): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const state of model.states) {
    let base = state.id.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]/.test(base)) base = `s_${base}`;
    if (RESERVED_IDS.has(base.toLowerCase())) base = `${base}_`;
    let id = base;
    for (let n = 2; used.has(id.toLowerCase()); n++) id = `${base}_${n}`;
    used.add(id.toLowerCase());
    ids.set(state.id, id);
  }
  return ids;
}

/** Text inside `state "…"`: no double quotes (Mermaid has no escape there but HTML entities). */
function quoteLabel(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/\r?\n/g, '<br/>');
}

/**
 * Text after ` : ` on an arrow: the lexer ends the label at `:` or `;` and at a newline, and entities
 * would need a `;`, so those characters are replaced by look-alikes.
 */
export function mermaidArrowLabel(text: string): string {
  return text.replace(/:/g, '\u2236').replace(/;/g, ',').replace(/\r?\n/g, ' ');
}

/** The lines shown in a state's box: key, description, entry/exit, invokes. */
export function stateLabelLines(state: ChartState, options: { actions?: boolean } = {}): string[] {
  const lines: string[] = [];
  if (state.type === 'history') lines.push(state.history === 'deep' ? 'H*' : 'H');
  lines.push(state.type === 'history' ? `${state.key} (history)` : state.key);
  if (state.description !== undefined) lines.push(state.description);
  if (options.actions ?? true) {
    if (state.entry.length > 0) lines.push(`entry / ${state.entry.join(', ')}`);
    if (state.exit.length > 0) lines.push(`exit / ${state.exit.join(', ')}`);
  }
  for (const inv of state.invokes) {
    lines.push(inv.generatedId ? `invoke: ${inv.src}` : `invoke: ${inv.src} (${inv.id})`);
  }
  return lines;
}

/**
 * Where each transition is drawn: the XState id of the composite block that holds the arrow, or
 * `undefined` for the top level of the diagram.
 */
function transitionContainers(model: ChartModel): Map<ChartTransition, string | undefined> {
  const index = indexStates(model);
  const out = new Map<ChartTransition, string | undefined>();
  for (const t of model.transitions) {
    const sourceChain = [t.source, ...ancestorsOf(t.source, index)];
    let container: string | undefined;
    const targets = t.targets.length > 0 ? t.targets : [t.source];
    // The deepest state that is a proper ancestor of the source and of every target.
    for (const candidate of sourceChain) {
      if (candidate === t.source) continue;
      if (targets.every((target) => target !== candidate && ancestorsOf(target, index).includes(candidate))) {
        container = candidate;
        break;
      }
    }
    while (container !== undefined && index.get(container)?.type === 'parallel') {
      container = index.get(container)?.parent;
    }
    out.set(t, container);
  }
  return out;
}

/**
 * Renders a machine as a Mermaid `stateDiagram-v2`.
 *
 * | construct | output |
 * | --- | --- |
 * | compound state | `state "key" as id` then `state id { … }` |
 * | parallel state | `state id { region1 … -- region2 … }` |
 * | initial state | `[*] --> id` inside the parent block |
 * | final state | `id --> [*]` inside the parent block |
 * | guarded transition | `a --> b : EVENT [isReady]`, `[!isReady]`, `[isA and (isB or !isC)]` |
 * | eventless | `a --> b : always [guard]` |
 * | delayed | `a --> b : after 15000ms (stepTimeout)`, `after 500ms`, `after retry (dynamic)` |
 * | invoke | state label line `invoke: readStatus (id)`; `done(id)` / `error(id)` arrows |
 * | targetless | self-arrow `a --> a : EVENT / action (internal)` |
 * | `reenter: true` | label suffix `(reenter)` |
 * | history | `state "H*<br/>key (history)" as id` |
 *
 * @param machine - the machine to draw.
 * @param options - see {@link MermaidOptions}.
 * @returns the diagram text, ending with a newline; the same machine always gives the same text.
 * @example
 * ```ts
 * const text = machineToMermaid(launchMachine);
 * // stateDiagram-v2
 * //   state "launch" as launch
 * //   [*] --> launch
 * //   state launch { … }
 * ```
 */
export function machineToMermaid(machine: AnyStateMachine, options: MermaidOptions = {}): string {
  return modelToMermaid(buildChartModel(machine), options);
}

/** {@link machineToMermaid} on an already-built model. */
export function modelToMermaid(model: ChartModel, options: MermaidOptions = {}): string {
  const unit = options.indent ?? '  ';
  const showActions = options.actions ?? true;
  const ids = mermaidIds(model);
  const idOf = (stateId: string): string => ids.get(stateId) ?? stateId;
  const containers = transitionContainers(model);
  const byContainer = new Map<string | undefined, ChartTransition[]>();
  for (const t of model.transitions) {
    const key = containers.get(t);
    const list = byContainer.get(key) ?? [];
    list.push(t);
    byContainer.set(key, list);
  }

  const lines: string[] = ['stateDiagram-v2'];
  if (options.direction) lines.push(`${unit}direction ${options.direction}`);

  const arrows = (container: string | undefined, pad: string): void => {
    for (const t of byContainer.get(container) ?? []) {
      const label = mermaidArrowLabel(transitionLabel(t, { actions: showActions }));
      const targets = t.targets.length > 0 ? t.targets : [t.source];
      for (const target of targets) lines.push(`${pad}${idOf(t.source)} --> ${idOf(target)} : ${label}`);
    }
  };

  const declare = (state: ChartState, depth: number): void => {
    const pad = unit.repeat(depth);
    const id = idOf(state.id);
    lines.push(`${pad}state "${quoteLabel(stateLabelLines(state, { actions: showActions }).join('\n'))}" as ${id}`);
    if (state.children.length === 0) return;
    lines.push(`${pad}state ${id} {`);
    const inner = unit.repeat(depth + 1);
    if (state.type === 'parallel') {
      state.children.forEach((region, i) => {
        if (i > 0) lines.push(`${inner}--`);
        declare(region, depth + 1);
      });
    } else {
      for (const child of state.children) declare(child, depth + 1);
      if (state.initial !== undefined) lines.push(`${inner}[*] --> ${idOf(state.initial)}`);
      arrows(state.id, inner);
      for (const child of state.children) {
        if (child.type === 'final') lines.push(`${inner}${idOf(child.id)} --> [*]`);
      }
    }
    lines.push(`${pad}}`);
  };

  declare(model.root, 1);
  lines.push(`${unit}[*] --> ${idOf(model.root.id)}`);
  arrows(undefined, unit);
  return `${lines.join('\n')}\n`;
}
