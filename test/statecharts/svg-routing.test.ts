import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.js';
import { buildChartModel, layoutStatechart, type SvgBox } from '../../src/statecharts/index.js';

/** Whether the segment (x1,y1)–(x2,y2) passes through the inside of `box` (shrunk by 1 px). */
function crosses(x1: number, y1: number, x2: number, y2: number, box: SvgBox): boolean {
  const r = { x: box.x + 1, y: box.y + 1, w: box.w - 2, h: box.h - 2 };
  let t0 = 0;
  let t1 = 1;
  const dx = x2 - x1;
  const dy = y2 - y1;
  for (const [p, q] of [
    [-dx, x1 - r.x],
    [dx, r.x + r.w - x1],
    [-dy, y1 - r.y],
    [dy, r.y + r.h - y1],
  ] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

describe('SVG arrow routing on our machines', () => {
  it.each(Object.keys(machines))('should draw no arrow between two sibling states over a third sibling (%s)', (id) => {
    const model = buildChartModel(machines[id as keyof typeof machines]);
    const layout = layoutStatechart(model);
    const parentOf = new Map(model.states.map((s) => [s.id, s.parent]));
    const boxes = new Map(layout.boxes.map((b) => [b.id, b]));
    const problems: string[] = [];
    for (const edge of layout.edges) {
      const { source } = edge.transition;
      const parent = parentOf.get(source);
      if (parent === undefined || parentOf.get(edge.target) !== parent) continue;
      const points = edge.points ?? [
        { x: edge.x1, y: edge.y1 },
        { x: edge.x2, y: edge.y2 },
      ];
      const siblings = model.states.filter((s) => s.parent === parent && s.id !== source && s.id !== edge.target);
      for (let i = 1; i < points.length; i++) {
        const a = points[i - 1]!;
        const b = points[i]!;
        // The first and last runs leave and enter boxes of the same row; only the long runs are checked.
        if (edge.points && (i === 1 || i === points.length - 1)) continue;
        for (const sibling of siblings) {
          const box = boxes.get(sibling.id);
          if (box && crosses(a.x, a.y, b.x, b.y, box)) problems.push(`${source} → ${edge.target} crosses ${sibling.id}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
