import { describe, expect, it } from 'vitest';
import {
  buildChartModel,
  layoutStatechart,
  machineToSvg,
  textWidth,
  transitionLabel,
} from '../../src/statecharts/index.js';
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

describe('machineToSvg', () => {
  const svg = machineToSvg(kitchenSinkMachine);
  const model = buildChartModel(kitchenSinkMachine);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => unescape(m[1] ?? ''));

  it('should be well-formed XML with an svg root', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    assertWellFormed(svg);
  });

  it('should show every state', () => {
    for (const state of model.states) {
      expect(svg).toContain(`data-state="${state.id}"`);
      expect(texts).toContain(state.type === 'history' ? `${state.key} (history)` : state.key);
    }
  });

  it('should show every transition label, self-transitions inside the box', () => {
    for (const t of model.transitions) {
      const label = transitionLabel(t);
      expect(texts.some((x) => x === label || x === `\u21bb ${label}`), label).toBe(true);
    }
  });

  it('should draw initial dots, final markers and region separators', () => {
    expect(svg.match(/<g class="initial">/g)).toHaveLength(3); // root, probe, tray (a parallel state has none)
    expect(svg).toContain('class="region-separator"');
    expect(svg).toContain('class="state state-final"');
  });

  it('should keep text inside its box', () => {
    const layout = layoutStatechart(model);
    for (const box of layout.boxes) {
      for (const line of box.lines) expect(textWidth(line) + 20, `${box.id}: ${line}`).toBeLessThanOrEqual(box.w);
      expect(box.lines.length * 16).toBeLessThanOrEqual(box.headerH);
    }
    for (const e of layout.edges) expect(textWidth(e.label)).toBeLessThan(e.lw);
  });

  it('should nest children inside their parents', () => {
    const layout = layoutStatechart(model);
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

  it('should be deterministic', () => {
    expect(machineToSvg(createKitchenSinkMachine())).toBe(svg);
  });
});
