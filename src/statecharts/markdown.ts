/**
 * XState v5 machine → a Markdown page: description, the Mermaid diagram (GitHub renders it) and
 * tables of states and transitions.
 */
import type { AnyStateMachine } from 'xstate';
import { machineToMermaid, modelToMermaid, type MermaidOptions } from './mermaid.js';
import { buildChartModel, indexStates, type ChartModel } from './model.js';

/** Options of {@link machineToMarkdown}. */
export interface MarkdownOptions {
  /**
   * Heading text.
   * @default `` `<machine id>` state machine ``
   */
  title?: string;
  /**
   * Text of a generated-file notice put under the heading; none when empty.
   * @default ''
   */
  notice?: string;
  /** Passed to the Mermaid renderer. */
  mermaid?: MermaidOptions;
}

/** Escapes a table cell: pipes and newlines would break the row. */
function cell(text: string): string {
  return text === '' ? '—' : text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text === '' ? '—' : `\`${text.replace(/`/g, "'")}\``;
}

/** `#machine.a.b` → `a.b` (the root shows as `(root)`). */
function pathOf(model: ChartModel, id: string): string {
  const state = indexStates(model).get(id);
  return state && state.path.length > 0 ? state.path.join('.') : '(root)';
}

/**
 * Renders a machine as Markdown: a heading, a paragraph from the machine's `description` (or
 * `meta.description`), the ```mermaid block, a table of states (path, type, entry/exit actions,
 * invokes, description/meta) and a table of transitions (from, event, guard, to, actions).
 *
 * @param machine - the machine to document.
 * @param options - see {@link MarkdownOptions}.
 * @returns Markdown text ending with a newline.
 */
export function machineToMarkdown(machine: AnyStateMachine, options: MarkdownOptions = {}): string {
  return modelToMarkdown(buildChartModel(machine), options, machineToMermaid(machine, options.mermaid));
}

/** {@link machineToMarkdown} on an already-built model. */
export function modelToMarkdown(model: ChartModel, options: MarkdownOptions = {}, mermaid?: string): string {
  const lines: string[] = [`# ${options.title ?? `\`${model.id}\` state machine`}`, ''];
  if (options.notice) lines.push(options.notice, '');
  if (model.description !== undefined) lines.push(model.description, '');
  lines.push('```mermaid', (mermaid ?? modelToMermaid(model, options.mermaid)).trimEnd(), '```', '');

  lines.push('## States', '', '| Path | Type | Entry | Exit | Invokes | Notes |', '| --- | --- | --- | --- | --- | --- |');
  for (const s of model.states) {
    const type = s.type === 'history' ? `history (${s.history ?? 'shallow'})` : s.type;
    const initial = s.initial !== undefined ? `initial: ${code(pathOf(model, s.initial))}` : '';
    const notes = [initial, s.description ?? '', s.meta !== undefined ? `meta: ${code(s.meta)}` : '', s.tags.length > 0 ? `tags: ${s.tags.join(', ')}` : '']
      .filter((x) => x !== '')
      .join('; ');
    const invokes = s.invokes.map((i) => (i.generatedId ? code(i.src) : `${code(i.src)} (id ${code(i.id)})`)).join(', ');
    lines.push(
      `| ${code(pathOf(model, s.id))} | ${type} | ${cell(s.entry.map(code).join(', '))} | ${cell(s.exit.map(code).join(', '))} | ${cell(invokes)} | ${cell(notes)} |`,
    );
  }
  lines.push('', '## Transitions', '', '| From | Event | Guard | To | Actions |', '| --- | --- | --- | --- | --- |');
  for (const t of model.transitions) {
    let to = t.internal ? '(internal — no state change)' : t.targets.map((id) => code(pathOf(model, id))).join(', ');
    if (t.reenter) to += ' (reenter)';
    const event =
      t.kind === 'event' || t.kind === 'wildcard' ? code(t.trigger) : t.kind === 'always' ? 'always' : `${t.trigger} (${code(t.eventType)})`;
    const description = t.description !== undefined ? ` — ${t.description}` : '';
    lines.push(
      `| ${code(pathOf(model, t.source))} | ${cell(event)} | ${cell(t.guard !== undefined ? code(t.guard) : '')} | ${cell(to)} | ${cell(t.actions.map(code).join(', ') + description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
