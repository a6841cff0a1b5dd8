import { beforeAll, describe, expect, it } from 'vitest';
import { buildChartModel, layoutStatechart, machineToSvg, textWidth, transitionLabel, type SvgLayout } from '../../src/statecharts/index.js';
import { isSelfTransition, runText, transitionLabelLines } from '../../src/statecharts/layout.js';
import { createKitchenSinkMachine, kitchenSinkMachine } from './fixtures/kitchen-sink.machine.js';

/** A tiny XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>/, '');
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m !== null; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    expect(between, 'no stray < or unescaped &').not.toMatch(/<|&(?!amp;|lt;|gt;|quot;|#\d+;)/);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name ?? '');
  }
  expect(body.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The text of each label `<text>` (its tspans joined) and of each state line. */
function textsOf(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((m) => unescape((m[1] ?? '').replace(/<tspan x="[^"]*" y="[^"]*">(?=[\s\S])/g, '\n').replace(/<[^>]+>/g, '')).replace(/^\n/, ''));
}

describe('machineToSvg', () => {
  let svg = '';
  let layout: SvgLayout;
  const model = buildChartModel(kitchenSinkMachine);
  beforeAll(async () => {
    svg = await machineToSvg(kitchenSinkMachine);
    layout = await layoutStatechart(model);
  });

  it('should be well-formed XML with an svg root', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    assertWellFormed(svg);
  });

  it('should show every state', () => {
    const texts = textsOf(svg);
    for (const state of model.states) {
      expect(svg).toContain(`data-state="${state.id}"`);
      expect(texts).toContain(state.type === 'history' ? `${state.key} (history)` : state.key);
    }
  });

  it('should show every transition: self-transitions inside the box, the others in the label of their arrow', () => {
    const texts = textsOf(svg);
    for (const t of model.transitions) {
      const label = transitionLabel(t);
      const shown = texts.some((x) => x === `\u21bb ${label}` || x.replace(/\n\s*/g, ' ') === label);
      expect(shown, label).toBe(true);
    }
  });

  it('should draw one arrow per source and target, naming both and every event for the live viewer', () => {
    const arrows = [...svg.matchAll(/<g class="transition" data-edge="(e\d+)" data-source="([^"]+)" data-target="([^"]+)"/g)].map((m) => `${m[2]} -> ${m[3]}`);
    expect(new Set(arrows).size).toBe(arrows.length);
    const expected = new Set(model.transitions.filter((t) => !isSelfTransition(t)).flatMap((t) => t.targets.map((target) => `${t.source} -> ${target}`)));
    expect(new Set(arrows)).toEqual(expected);
    // Both `done(readStatus)` transitions of `reading` are listed, each line naming its event.
    expect(svg).toContain('data-event="xstate.done.actor.readStatus"');
    expect(svg).toContain('data-event="xstate.error.actor.readStatus"');
  });

  it('should draw initial dots, the root anchor, final markers, dashed regions and dashed eventless arrows', () => {
    expect(svg.match(/<path class="initial-arrow"/g)).toHaveLength(3); // root, probe, tray (a parallel state has none)
    expect(svg.match(/<circle class="initial"/g)).toHaveLength(3);
    // `tray.quit_clicked` on the root targets its child `done`: the arrow starts at the root's anchor.
    expect(svg.match(/<circle class="anchor" data-state="kitchen-sink"/g)).toHaveLength(1);
    expect(svg.match(/<g class="state state-compound region" data-state="[^"]+">\n<rect [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('class="state state-final"');
    const failedToDone = /<g class="transition"[^>]*data-source="kitchen-sink.failed" data-target="kitchen-sink.done"[^>]*>\n<path [^>]*>/.exec(svg)?.[0];
    expect(failedToDone).toContain('stroke-dasharray');
  });

  it('should keep text inside its box', () => {
    for (const box of layout.boxes) {
      for (const line of box.lines) expect(textWidth(line) + 20, `${box.id}: ${line}`).toBeLessThanOrEqual(box.w);
      expect(box.lines.length * 16).toBeLessThanOrEqual(box.headerH + 4);
    }
    for (const e of layout.edges) {
      const lines = e.transitions.flatMap(transitionLabelLines).map(runText);
      for (const line of lines) expect(textWidth(line), line).toBeLessThan(e.lw);
      expect(lines.length * 16).toBeLessThanOrEqual(e.lh);
    }
  });

  it('should nest children inside their parents, below the header', () => {
    const byId = new Map(layout.boxes.map((b) => [b.id, b]));
    for (const state of model.states) {
      if (state.parent === undefined) continue;
      const child = byId.get(state.id);
      const parent = byId.get(state.parent);
      if (!child || !parent) throw new Error(`missing box for ${state.id}`);
      expect(child.x).toBeGreaterThanOrEqual(parent.x);
      expect(child.y).toBeGreaterThanOrEqual(parent.y + parent.headerH);
      expect(child.x + child.w).toBeLessThanOrEqual(parent.x + parent.w);
      expect(child.y + child.h).toBeLessThanOrEqual(parent.y + parent.h);
    }
  });

  it('should be deterministic', async () => {
    expect(await machineToSvg(createKitchenSinkMachine())).toBe(svg);
  });
});
