/**
 * Geometry of a statechart SVG, read back from the SVG text alone (no layout object), so the same
 * checks run on what we generate today and on what the previous generator wrote (its SVGs drew
 * arrows as `<line>` / `<polyline>` with the label in the same `<g class="transition">`; ours draw a
 * `<path>` and a separate `<g class="label" data-edge>`).
 *
 * What is checked (issue 22): no label box overlaps another label, a state box (a leaf at all; a
 * container's border or header), or an edge other than its own (initial arrows included); no edge
 * passes through a state it does not enter (not its source, its target or one of their ancestors).
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ParsedState extends Rect {
  id: string;
  /** Bottom of the header text (the whole box for a leaf). */
  headerBottom: number;
  /** Whether another state's box lies inside this one. */
  container: boolean;
}

export interface ParsedEdge {
  /** An id unique in the SVG. */
  id: string;
  points: { x: number; y: number }[];
  /** XState ids of the ends, read from `data-source`/`data-target` or found from where the arrow starts and ends. */
  source?: string;
  target?: string;
  label?: Rect;
  /** An initial arrow (no label, never checked for crossing states). */
  initial: boolean;
}

export interface ParsedChart {
  states: ParsedState[];
  edges: ParsedEdge[];
}

const num = (attrs: string, name: string): number => {
  const m = new RegExp(`\\b${name}="(-?[\\d.]+)"`).exec(attrs);
  if (!m) throw new Error(`attribute ${name} missing in ${attrs.slice(0, 120)}`);
  return Number(m[1]);
};
const attr = (attrs: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];
const rectOf = (attrs: string): Rect => ({ x: num(attrs, 'x'), y: num(attrs, 'y'), w: num(attrs, 'width'), h: num(attrs, 'height') });

/** Every coordinate pair of a path's `d` (M, L and Q only), in order: for a rounded corner the corner itself is the Q control point. */
function pathPoints(d: string): { x: number; y: number }[] {
  const numbers = [...d.matchAll(/-?[\d.]+/g)].map((m) => Number(m[0]));
  const points: { x: number; y: number }[] = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) points.push({ x: numbers[i]!, y: numbers[i + 1]! });
  return points;
}

function shapePoints(element: string): { x: number; y: number }[] {
  const tag = /^<(\w+)/.exec(element)?.[1];
  if (tag === 'line') return [{ x: num(element, 'x1'), y: num(element, 'y1') }, { x: num(element, 'x2'), y: num(element, 'y2') }];
  if (tag === 'polyline') {
    return (attr(element, 'points') ?? '').trim().split(/\s+/).map((pair) => {
      const [x, y] = pair.split(',').map(Number);
      return { x: x!, y: y! };
    });
  }
  if (tag === 'path') return pathPoints(attr(element, 'd') ?? '');
  throw new Error(`not an edge shape: ${element.slice(0, 80)}`);
}

/** Reads states, edges and labels from an SVG written by this generator (old or new). */
export function parseChartSvg(svg: string): ParsedChart {
  const states: ParsedState[] = [];
  for (const m of svg.matchAll(/<g class="state[^"]*"[^>]*data-state="([^"]+)"[^>]*>([\s\S]*?)<\/g>/g)) {
    const body = m[2]!;
    const rect = /<rect\b[^>]*>/.exec(body)?.[0];
    if (!rect) continue; // an old region: drawn without a box
    const box = rectOf(rect);
    const textYs = [...body.matchAll(/<text\b[^>]*\by="(-?[\d.]+)"/g)].map((t) => Number(t[1]));
    states.push({ id: m[1]!, ...box, headerBottom: textYs.length > 0 ? Math.max(...textYs) + 5 : box.y, container: false });
  }
  for (const s of states) {
    s.container = states.some((o) => o !== s && o.x >= s.x && o.y >= s.y && o.x + o.w <= s.x + s.w && o.y + o.h <= s.y + s.h);
    if (!s.container) s.headerBottom = s.y + s.h;
  }
  const labels = new Map<string, Rect>();
  for (const m of svg.matchAll(/<g class="label" data-edge="([^"]+)">\s*(<rect\b[^>]*>)/g)) labels.set(m[1]!, rectOf(m[2]!));

  const edges: ParsedEdge[] = [];
  let n = 0;
  for (const m of svg.matchAll(/<g class="transition"([^>]*)>([\s\S]*?)<\/g>/g)) {
    const [attrs, body] = [m[1]!, m[2]!];
    const shape = /<(line|polyline|path)\b[^>]*>/.exec(body)?.[0];
    if (!shape) throw new Error(`a transition without a line: ${body.slice(0, 100)}`);
    const id = attr(attrs, 'data-edge') ?? `old${n++}`;
    const inGroup = /<rect\b[^>]*>/.exec(body)?.[0];
    const label = labels.get(id) ?? (inGroup ? rectOf(inGroup) : undefined);
    const edge: ParsedEdge = { id, points: shapePoints(shape), initial: false, ...(label ? { label } : {}) };
    const [source, target] = [attr(attrs, 'data-source'), attr(attrs, 'data-target')];
    if (source !== undefined) edge.source = source;
    if (target !== undefined) edge.target = target;
    edges.push(edge);
  }
  for (const m of svg.matchAll(/<g class="initial">[\s\S]*?(<line\b[^>]*>)[\s\S]*?<\/g>|(<path class="initial-arrow"[^>]*>)/g)) {
    edges.push({ id: `initial${n++}`, points: shapePoints((m[1] ?? m[2])!), initial: true });
  }
  // Old SVGs name no ends: an end is the innermost state whose border the arrow starts or ends on.
  const onBorder = (p: { x: number; y: number }): string | undefined => {
    const near = (a: number, b: number) => Math.abs(a - b) <= 1.5;
    const hits = states.filter((s) => {
      const inX = p.x >= s.x - 1.5 && p.x <= s.x + s.w + 1.5;
      const inY = p.y >= s.y - 1.5 && p.y <= s.y + s.h + 1.5;
      return (inX && (near(p.y, s.y) || near(p.y, s.y + s.h))) || (inY && (near(p.x, s.x) || near(p.x, s.x + s.w)));
    });
    return hits.sort((a, b) => a.w * a.h - b.w * b.h)[0]?.id;
  };
  for (const e of edges) {
    if (e.initial) continue;
    e.source ??= onBorder(e.points[0]!);
    e.target ??= onBorder(e.points[e.points.length - 1]!);
  }
  return { states, edges };
}

/** Area of the intersection of two rectangles, each shrunk by `inset` on every side. */
export function overlap(a: Rect, b: Rect, inset = 0.5): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) - 2 * inset;
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) - 2 * inset;
  return w > 0 && h > 0 ? w * h : 0;
}

/** Whether the segment a–b passes through the inside of `r` shrunk by `inset` (Liang–Barsky). */
export function segmentHits(a: { x: number; y: number }, b: { x: number; y: number }, r: Rect, inset = 1): boolean {
  const box = { x: r.x + inset, y: r.y + inset, w: r.w - 2 * inset, h: r.h - 2 * inset };
  if (box.w <= 0 || box.h <= 0) return false;
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  for (const [p, q] of [
    [-dx, a.x - box.x],
    [dx, box.x + box.w - a.x],
    [-dy, a.y - box.y],
    [dy, box.y + box.h - a.y],
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

function polylineHits(points: readonly { x: number; y: number }[], r: Rect, inset = 1): boolean {
  for (let i = 1; i < points.length; i++) if (segmentHits(points[i - 1]!, points[i]!, r, inset)) return true;
  return false;
}

export interface GeometryReport {
  labelOverLabel: string[];
  labelOverState: string[];
  labelOverEdge: string[];
  edgeThroughState: string[];
}

const isAncestorOrSelf = (ancestor: string, id: string): boolean => id === ancestor || id.startsWith(`${ancestor}.`);

/** Every violation of the rules above, described. */
export function checkChartGeometry(chart: ParsedChart): GeometryReport {
  const report: GeometryReport = { labelOverLabel: [], labelOverState: [], labelOverEdge: [], edgeThroughState: [] };
  const labelled = chart.edges.filter((e): e is ParsedEdge & { label: Rect } => e.label !== undefined);
  const name = (e: ParsedEdge) => `${e.source ?? '?'} → ${e.target ?? '?'}`;
  for (let i = 0; i < labelled.length; i++) {
    const a = labelled[i]!;
    for (let j = i + 1; j < labelled.length; j++) {
      const b = labelled[j]!;
      if (overlap(a.label, b.label) > 0) report.labelOverLabel.push(`label of ${name(a)} over label of ${name(b)}`);
    }
    for (const s of chart.states) {
      const header: Rect = { x: s.x, y: s.y, w: s.w, h: s.headerBottom - s.y };
      const inside = a.label.x >= s.x && a.label.y >= s.y && a.label.x + a.label.w <= s.x + s.w && a.label.y + a.label.h <= s.y + s.h;
      const touches = overlap(a.label, s) > 0;
      if (touches && (!s.container || !inside || overlap(a.label, header) > 0)) report.labelOverState.push(`label of ${name(a)} over state ${s.id}`);
    }
    for (const e of chart.edges) {
      if (e === a) continue;
      if (polylineHits(e.points, a.label)) report.labelOverEdge.push(`label of ${name(a)} over edge ${e.initial ? 'initial arrow' : name(e)}`);
    }
  }
  for (const e of chart.edges) {
    if (e.initial) continue;
    for (const s of chart.states) {
      const entered = [e.source, e.target].some((end) => end !== undefined && isAncestorOrSelf(s.id, end));
      if (!entered && polylineHits(e.points, s)) report.edgeThroughState.push(`edge ${name(e)} through state ${s.id}`);
    }
  }
  return report;
}

/** The counts of a report, in a fixed order. */
export function geometryCounts(report: GeometryReport): Record<keyof GeometryReport, number> {
  return {
    labelOverLabel: report.labelOverLabel.length,
    labelOverState: report.labelOverState.length,
    labelOverEdge: report.labelOverEdge.length,
    edgeThroughState: report.edgeThroughState.length,
  };
}
