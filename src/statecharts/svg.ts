/**
 * XState v5 machine → a standalone SVG, laid out and rendered offline by this module (no browser, no
 * mermaid-cli, no network). The layout is deliberately simple and deterministic:
 *
 * - every state is a rounded box whose text lines are measured with a fixed monospace character width
 *   (the SVG asks for a monospace font, so the estimate holds), so text never overflows its box;
 * - a compound state is a container: its header (name, entry/exit, invokes, self-transitions) on top,
 *   its children in rows below, the row of a child being its BFS rank from the initial child over the
 *   transitions between children; an initial dot sits above the initial child;
 * - a parallel state puts its regions side by side, separated by dashed lines;
 * - a final state has a double border and a bullseye marker; a history state shows `H` / `H*`;
 * - a transition between two boxes is a straight arrow between their borders (parallel arrows between
 *   the same two boxes are spread apart) unless that line would cross another box of the same
 *   container: then it is routed around, through a vertical lane in a gutter of the container (the
 *   right gutter for arrows going up or sideways, the left one for arrows going down), so no arrow
 *   runs over a state; an arrow to or from an enclosing container runs horizontally to the
 *   container's left wall; a self-transition (targetless or to itself) is listed inside the box as
 *   `↻ label`, like UML internal transitions;
 * - labels sit on a white background, nudged along the arrow to avoid other labels and boxes.
 */
import type { AnyStateMachine } from 'xstate';
import { stateLabelLines } from './mermaid.js';
import {
  ancestorsOf,
  buildChartModel,
  indexStates,
  transitionLabel,
  type ChartModel,
  type ChartState,
  type ChartTransition,
} from './model.js';

/** Font size of all text, px. */
export const SVG_FONT_SIZE = 12;
/** Estimated advance of one character at {@link SVG_FONT_SIZE} in a monospace font (0.6 em, rounded up). */
export const SVG_CHAR_WIDTH = 7.4;
const LINE_H = 16;
const PAD = 10;
const GAP_X = 48;
const GAP_Y = 64;
const INITIAL_STRIP = 30;
const MARGIN = 20;
const MIN_W = 90;
const REGION_GAP = 24;
/** Distance between two routing lanes, and from the content to the first lane. */
const LANE = 18;

/** Estimated rendered width of a text line: non-ASCII characters count double (arrows, symbols). */
export function textWidth(text: string): number {
  let units = 0;
  for (const ch of text) units += ch.charCodeAt(0) > 0x7f ? 2 : 1;
  return units * SVG_CHAR_WIDTH;
}

/** One state box of the layout, absolute coordinates. */
export interface SvgBox {
  /** XState id of the state. */
  id: string;
  type: ChartState['type'];
  /** Drawn as a parallel region (no border of its own). */
  region: boolean;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Height of the header (text) part; equals `h` for a state without children. */
  headerH: number;
  /** Text lines in the box header (the first is the name). */
  lines: string[];
}

/** One arrow of the layout. */
export interface SvgEdge {
  transition: ChartTransition;
  target: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  label: string;
  /** Label background rectangle (text is centred in it). */
  lx: number;
  ly: number;
  lw: number;
  lh: number;
  /**
   * For an arrow routed around other states: the corner points of the polyline, first and last being
   * (`x1`, `y1`) and (`x2`, `y2`). Absent for a straight arrow.
   */
  points?: { x: number; y: number }[];
}

/** An initial pseudo-state dot and its arrow. */
export interface SvgInitial {
  cx: number;
  cy: number;
  /** Arrow end (top centre of the initial child). */
  x2: number;
  y2: number;
}

/** The computed layout of a machine (exported for tests and custom renderers). */
export interface SvgLayout {
  width: number;
  height: number;
  boxes: SvgBox[];
  edges: SvgEdge[];
  initials: SvgInitial[];
  /** Dashed separators between parallel regions. */
  separators: { x: number; y1: number; y2: number }[];
}

interface Sized {
  state: ChartState;
  w: number;
  h: number;
  lines: string[];
  headerH: number;
  region: boolean;
  /** Child offsets relative to this box's top-left. */
  children: { sized: Sized; dx: number; dy: number }[];
  /** Initial dot relative position, for compound states. */
  initial?: { cx: number; cy: number; child: Sized };
  separators: { dx: number }[];
  /** Routing lanes between children, by `from\u0000to` (child ids), x relative to this box. */
  lanes: Map<string, { side: 'left' | 'right'; dx: number }>;
}

function segmentHitsRect(x1: number, y1: number, x2: number, y2: number, r: { x: number; y: number; w: number; h: number }): boolean {
  // Liang–Barsky clipping of the segment against the rectangle.
  let t0 = 0;
  let t1 = 1;
  const dx = x2 - x1;
  const dy = y2 - y1;
  const checks: [number, number][] = [
    [-dx, x1 - r.x],
    [dx, r.x + r.w - x1],
    [-dy, y1 - r.y],
    [dy, r.y + r.h - y1],
  ];
  for (const [p, q] of checks) {
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

function isSelf(t: ChartTransition): boolean {
  return t.internal || (t.targets.length === 1 && t.targets[0] === t.source);
}

/**
 * Computes the layout of a model: box sizes from text, rows by BFS rank, then arrows and labels.
 */
export function layoutStatechart(model: ChartModel): SvgLayout {
  const index = indexStates(model);
  const selfLines = new Map<string, string[]>();
  for (const t of model.transitions) {
    if (!isSelf(t)) continue;
    const list = selfLines.get(t.source) ?? [];
    list.push(`\u21bb ${transitionLabel(t)}`);
    selfLines.set(t.source, list);
  }
  // The child of `container` that is `id` or contains it.
  const childUnder = (container: string, id: string): string | undefined => {
    const chain = [id, ...ancestorsOf(id, index)];
    const i = chain.indexOf(container);
    return i > 0 ? chain[i - 1] : undefined;
  };

  const size = (state: ChartState, region: boolean): Sized => {
    const lines = [...stateLabelLines(state), ...(selfLines.get(state.id) ?? [])];
    const textW = Math.max(...lines.map(textWidth)) + 2 * PAD + (state.type === 'final' ? 16 : 0);
    const headerH = lines.length * LINE_H + 2 * PAD;
    const sized: Sized = { state, w: Math.max(MIN_W, textW), h: headerH, lines, headerH, region, children: [], separators: [], lanes: new Map() };
    if (state.children.length === 0) return sized;

    if (state.type === 'parallel') {
      const regions = state.children.map((c) => size(c, true));
      let x = PAD;
      const top = headerH;
      regions.forEach((r, i) => {
        if (i > 0) {
          sized.separators.push({ dx: x + REGION_GAP / 2 - PAD / 2 });
          x += REGION_GAP;
        }
        sized.children.push({ sized: r, dx: x, dy: top });
        x += r.w;
      });
      const contentH = Math.max(...regions.map((r) => r.h));
      sized.w = Math.max(sized.w, x + PAD);
      sized.h = top + contentH + PAD;
      return sized;
    }

    // Compound: rank the children by BFS from the initial child.
    const kids = state.children.map((c) => size(c, false));
    const keyOf = new Map(kids.map((k) => [k.state.id, k]));
    const adjacency = new Map<string, string[]>(kids.map((k) => [k.state.id, []]));
    for (const t of model.transitions) {
      const from = childUnder(state.id, t.source);
      if (from === undefined) continue;
      for (const target of t.targets) {
        const to = childUnder(state.id, target);
        if (to !== undefined && to !== from) adjacency.get(from)?.push(to);
      }
    }
    const rank = new Map<string, number>();
    const bfs = (start: string, r0: number): void => {
      const queue: string[] = [start];
      rank.set(start, r0);
      while (queue.length > 0) {
        const id = queue.shift() as string;
        const r = rank.get(id) ?? 0;
        for (const next of adjacency.get(id) ?? []) {
          if (!rank.has(next)) {
            rank.set(next, r + 1);
            queue.push(next);
          }
        }
      }
    };
    bfs(state.initial ?? kids[0]?.state.id ?? '', 0);
    for (const k of kids) {
      if (!rank.has(k.state.id)) bfs(k.state.id, Math.max(...rank.values()) + 1);
    }
    const rows: Sized[][] = [];
    for (const k of kids) {
      const r = rank.get(k.state.id) ?? 0;
      (rows[r] ??= []).push(k);
    }
    const dense = rows.filter((row) => row !== undefined && row.length > 0);
    const rowW = dense.map((row) => row.reduce((sum, k) => sum + k.w, 0) + GAP_X * (row.length - 1));
    const contentW = Math.max(...rowW);
    const denseRank = new Map<string, number>();
    dense.forEach((row, i) => row.forEach((k) => denseRank.set(k.state.id, i)));
    // Room for the labels of the arrows that cross the gap below row `i`.
    const rowGap = (i: number): number => {
      let crossing = 0;
      for (const [from, tos] of adjacency) {
        const a = denseRank.get(from) ?? 0;
        for (const to of tos) {
          const b = denseRank.get(to) ?? 0;
          if (Math.min(a, b) <= i && Math.max(a, b) > i) crossing++;
        }
      }
      return Math.max(GAP_Y, Math.min(240, 24 + crossing * (LINE_H + 6)));
    };
    sized.w = Math.max(sized.w, contentW + 2 * PAD);
    const hasInitial = state.initial !== undefined;
    let y = headerH + (hasInitial ? INITIAL_STRIP : 0);
    dense.forEach((row, i) => {
      let x = (sized.w - (rowW[i] ?? 0)) / 2;
      const rowH = Math.max(...row.map((k) => k.h));
      for (const k of row) {
        sized.children.push({ sized: k, dx: x, dy: y });
        x += k.w + GAP_X;
      }
      y += rowH + (i < dense.length - 1 ? rowGap(i) : 0);
    });
    sized.h = y + PAD;

    // Arrows whose straight line would cross another child get a lane in a gutter.
    const placedKid = new Map(sized.children.map((c) => [c.sized.state.id, c]));
    const laneKeys: { key: string; side: 'left' | 'right' }[] = [];
    for (const [from, tos] of adjacency) {
      for (const to of new Set(tos)) {
        const a = placedKid.get(from);
        const b = placedKid.get(to);
        if (!a || !b) continue;
        const [ax, ay] = [a.dx + a.sized.w / 2, a.dy + a.sized.h / 2];
        const [bx, by] = [b.dx + b.sized.w / 2, b.dy + b.sized.h / 2];
        const blocked = sized.children.some(
          (c) => c !== a && c !== b && segmentHitsRect(ax, ay, bx, by, { x: c.dx - 4, y: c.dy - 4, w: c.sized.w + 8, h: c.sized.h + 8 }),
        );
        if (!blocked) continue;
        // The side whose horizontal runs (box → lane, lane → box) cross the fewest other children;
        // on a tie, up or sideways goes right and down goes left.
        const crossings = (side: 'left' | 'right'): number => {
          let hits = 0;
          for (const end of [a, b]) {
            const y = end.dy + end.sized.h / 2;
            const [xa, xb] = side === 'right' ? [end.dx + end.sized.w, 1e6] : [-1e6, end.dx];
            for (const c of sized.children) {
              if (c !== a && c !== b && segmentHitsRect(xa, y, xb, y, { x: c.dx, y: c.dy, w: c.sized.w, h: c.sized.h })) hits++;
            }
          }
          return hits;
        };
        const down = (denseRank.get(to) ?? 0) > (denseRank.get(from) ?? 0);
        const [left, right] = [crossings('left'), crossings('right')];
        const side = left < right ? 'left' : right < left ? 'right' : down ? 'left' : 'right';
        laneKeys.push({ key: `${from}\u0000${to}`, side });
      }
    }
    if (laneKeys.length > 0) {
      const minLeft = Math.min(...sized.children.map((c) => c.dx));
      const maxRight = Math.max(...sized.children.map((c) => c.dx + c.sized.w));
      const nLeft = laneKeys.filter((l) => l.side === 'left').length;
      const nRight = laneKeys.length - nLeft;
      // The labels of routed arrows sit beside their lane, inside this container: make room for them.
      const labelRoom = { left: 0, right: 0 };
      for (const { key, side } of laneKeys) {
        for (const t of model.transitions) {
          if (isSelf(t) || `${childUnder(state.id, t.source)}\u0000${childUnder(state.id, t.targets[0] ?? '')}` !== key) continue;
          labelRoom[side] = Math.max(labelRoom[side], textWidth(transitionLabel(t)) + 8);
        }
      }
      const shift = nLeft > 0 ? Math.max(0, PAD + nLeft * LANE + LANE + labelRoom.left - minLeft) : 0;
      for (const c of sized.children) c.dx += shift;
      let li = 0;
      let ri = 0;
      for (const { key, side } of laneKeys) {
        const dx = side === 'left' ? minLeft + shift - LANE * ++li : maxRight + shift + LANE * ++ri;
        sized.lanes.set(key, { side, dx });
      }
      sized.w = Math.max(sized.w + shift, maxRight + shift + (nRight + 1) * LANE + labelRoom.right + PAD);
    }
    const initialChild = state.initial !== undefined ? keyOf.get(state.initial) : undefined;
    if (initialChild) {
      const placed = sized.children.find((c) => c.sized === initialChild);
      if (placed) sized.initial = { cx: placed.dx + initialChild.w / 2, cy: headerH + 8, child: initialChild };
    }
    return sized;
  };

  const layout: SvgLayout = { width: 0, height: 0, boxes: [], edges: [], initials: [], separators: [] };
  const rects = new Map<string, SvgBox>();
  const lanes = new Map<string, { side: 'left' | 'right'; x: number }>();
  const place = (s: Sized, x: number, y: number): void => {
    for (const [key, lane] of s.lanes) lanes.set(`${s.state.id}\u0000${key}`, { side: lane.side, x: x + lane.dx });
    const box: SvgBox = { id: s.state.id, type: s.state.type, region: s.region, x, y, w: s.w, h: s.h, headerH: s.headerH, lines: s.lines };
    layout.boxes.push(box);
    rects.set(box.id, box);
    for (const sep of s.separators) layout.separators.push({ x: x + sep.dx, y1: y + s.headerH, y2: y + s.h - PAD / 2 });
    if (s.initial) {
      const child = s.children.find((c) => c.sized === s.initial?.child);
      if (child) layout.initials.push({ cx: x + s.initial.cx, cy: y + s.initial.cy, x2: x + s.initial.cx, y2: y + child.dy });
    }
    for (const c of s.children) place(c.sized, x + c.dx, y + c.dy);
  };
  const root = size(model.root, false);
  place(root, MARGIN, MARGIN);
  layout.width = root.w + 2 * MARGIN;
  layout.height = root.h + 2 * MARGIN;

  // Arrows.
  const isAncestor = (a: string, b: string): boolean => ancestorsOf(b, index).includes(a);
  const pairs = new Map<string, number>();
  const pending: { t: ChartTransition; target: string; s: SvgBox; d: SvgBox; key: string }[] = [];
  for (const t of model.transitions) {
    if (isSelf(t)) continue;
    for (const target of t.targets) {
      const s = rects.get(t.source);
      const d = rects.get(target);
      if (!s || !d) continue;
      const key = [t.source, target].sort().join('\u0000');
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
      pending.push({ t, target, s, d, key });
    }
  }
  const seen = new Map<string, number>();
  const placedLabels: { x: number; y: number; w: number; h: number }[] = [];
  // What a label should not cover: leaf boxes, container headers, initial dots.
  const obstacles = [
    ...layout.boxes.map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.headerH })),
    ...layout.initials.map((i) => ({ x: i.cx - 6, y: i.cy - 6, w: 12, h: 12 })),
  ];
  for (const { t, target, s, d, key } of pending) {
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    const n = pairs.get(key) ?? 1;
    const offset = (k - (n - 1) / 2) * 16;
    let x1: number;
    let y1: number;
    let x2: number;
    let y2: number;
    let points: { x: number; y: number }[] | undefined;
    const lca = t.source === target ? undefined : ancestorsOf(t.source, index).find((a) => a === target || isAncestor(a, target));
    const lane =
      lca === undefined ? undefined : lanes.get(`${lca}\u0000${childUnder(lca, t.source) ?? ''}\u0000${childUnder(lca, target) ?? ''}`);
    if (lane && !isAncestor(t.source, target) && !isAncestor(target, t.source)) {
      // Around the boxes in between: out of the side facing the lane, along the lane, into the target.
      const spread = (k - (n - 1) / 2) * 8;
      const sy = round(s.y + Math.min(s.h - 6, Math.max(6, s.h / 2 + spread)));
      const dy = round(d.y + Math.min(d.h - 6, Math.max(6, d.h / 2 + spread)));
      const sx = lane.side === 'right' ? s.x + s.w : s.x;
      const dx = lane.side === 'right' ? d.x + d.w : d.x;
      points = [
        { x: round(sx), y: sy },
        { x: round(lane.x), y: sy },
        { x: round(lane.x), y: dy },
        { x: round(dx), y: dy },
      ];
      [x1, y1, x2, y2] = [points[0]!.x, sy, points[3]!.x, dy];
    } else if (isAncestor(t.source, target)) {
      // From the container's left wall to the child.
      const y = d.y + d.h / 2 + offset;
      [x1, y1, x2, y2] = [s.x, y, d.x, y];
    } else if (isAncestor(target, t.source)) {
      const y = s.y + s.h / 2 + offset;
      [x1, y1, x2, y2] = [s.x, y, d.x, y];
    } else {
      // Centre to centre, shifted perpendicular for parallel arrows, clipped at both borders.
      const canonical = t.source < target;
      let cx1 = s.x + s.w / 2;
      let cy1 = s.y + s.h / 2;
      let cx2 = d.x + d.w / 2;
      let cy2 = d.y + d.h / 2;
      const len = Math.hypot(cx2 - cx1, cy2 - cy1) || 1;
      const sign = canonical ? 1 : -1;
      const nx = (-(cy2 - cy1) / len) * offset * sign;
      const ny = ((cx2 - cx1) / len) * offset * sign;
      cx1 += nx;
      cy1 += ny;
      cx2 += nx;
      cy2 += ny;
      [x1, y1] = clip(cx1, cy1, cx2, cy2, s);
      [x2, y2] = clip(cx2, cy2, cx1, cy1, d);
    }
    const label = transitionLabel(t);
    const lw = textWidth(label) + 8;
    const lh = LINE_H + 2;
    // Try positions along the arrow and just beside it; take the first free one, else the least covered.
    let best: { x: number; y: number } | undefined;
    let bestScore = Infinity;
    // A routed arrow carries its label on the lane (the long vertical run), beside it.
    const [ax, ay, bx, by] = points ? [points[1]!.x, points[1]!.y, points[2]!.x, points[2]!.y] : [x1, y1, x2, y2];
    const side = points ? (lane?.side === 'left' ? -lw / 2 + 4 : lw / 2 - 4) : 0;
    for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
      for (const shift of [0, -lh, lh, -2 * lh, 2 * lh]) {
        const cand = { x: ax + (bx - ax) * f - lw / 2 + side, y: ay + (by - ay) * f - lh / 2 + shift, w: lw, h: lh };
        let score = 0;
        for (const p of placedLabels) score += 4 * overlapArea(p, cand);
        for (const o of obstacles) score += overlapArea(o, cand);
        score += (Math.abs(shift) / lh) * 0.5 + Math.abs(f - 0.5);
        if (score < bestScore) {
          bestScore = score;
          best = cand;
        }
      }
      if (bestScore < 2) break;
    }
    const at = best ?? { x: (x1 + x2) / 2 - lw / 2, y: (y1 + y2) / 2 - lh / 2 };
    placedLabels.push({ x: at.x, y: at.y, w: lw, h: lh });
    layout.edges.push({ transition: t, target, x1, y1, x2, y2, label, lx: at.x, ly: at.y, lw, lh, ...(points ? { points } : {}) });
    layout.width = Math.max(layout.width, at.x + lw + MARGIN);
    layout.height = Math.max(layout.height, at.y + lh + MARGIN);
  }
  // Labels nudged left of the drawing would be cut off: shift everything right if needed.
  const minX = Math.min(0, ...layout.edges.map((e) => e.lx - MARGIN / 2));
  const minY = Math.min(0, ...layout.edges.map((e) => e.ly - MARGIN / 2));
  if (minX < 0 || minY < 0) translate(layout, -minX, -minY);
  return layout;
}

function translate(layout: SvgLayout, dx: number, dy: number): void {
  for (const b of layout.boxes) {
    b.x += dx;
    b.y += dy;
  }
  for (const e of layout.edges) {
    e.x1 += dx;
    e.x2 += dx;
    e.lx += dx;
    e.y1 += dy;
    e.y2 += dy;
    e.ly += dy;
    for (const p of e.points ?? []) {
      p.x += dx;
      p.y += dy;
    }
  }
  for (const i of layout.initials) {
    i.cx += dx;
    i.x2 += dx;
    i.cy += dy;
    i.y2 += dy;
  }
  for (const s of layout.separators) {
    s.x += dx;
    s.y1 += dy;
    s.y2 += dy;
  }
  layout.width += dx;
  layout.height += dy;
}

function overlapArea(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}


/** The point where the segment from (x, y) (inside `r`) towards (tx, ty) leaves rectangle `r`. */
function clip(x: number, y: number, tx: number, ty: number, r: { x: number; y: number; w: number; h: number }): [number, number] {
  const dx = tx - x;
  const dy = ty - y;
  let t = 1;
  if (dx > 0) t = Math.min(t, (r.x + r.w - x) / dx);
  if (dx < 0) t = Math.min(t, (r.x - x) / dx);
  if (dy > 0) t = Math.min(t, (r.y + r.h - y) / dy);
  if (dy < 0) t = Math.min(t, (r.y - y) / dy);
  return [round(x + dx * Math.max(0, t)), round(y + dy * Math.max(0, t))];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders a computed layout to SVG text. */
export function renderSvg(layout: SvgLayout, title: string): string {
  const n = round;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(layout.width)}" height="${n(layout.height)}" viewBox="0 0 ${n(layout.width)} ${n(layout.height)}" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="${SVG_FONT_SIZE}">`,
    `<title>${escapeXml(title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
    `<rect x="0" y="0" width="${n(layout.width)}" height="${n(layout.height)}" fill="#ffffff"/>`,
  );
  for (const b of layout.boxes) {
    const attrs = `data-state="${escapeXml(b.id)}"`;
    out.push(`<g class="state state-${b.type}${b.region ? ' region' : ''}" ${attrs}>`);
    if (!b.region) {
      const fill = b.type === 'atomic' || b.type === 'final' || b.type === 'history' ? '#f4f7fb' : '#ffffff';
      out.push(`<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.w)}" height="${n(b.h)}" rx="${b.type === 'history' ? 16 : 8}" fill="${fill}" stroke="#456" stroke-width="1.2"/>`);
    }
    if (b.type === 'final') {
      out.push(`<rect x="${n(b.x + 3)}" y="${n(b.y + 3)}" width="${n(b.w - 6)}" height="${n(b.h - 6)}" rx="6" fill="none" stroke="#456" stroke-width="1"/>`);
      out.push(`<circle cx="${n(b.x + b.w - 14)}" cy="${n(b.y + 14)}" r="6" fill="none" stroke="#222"/><circle cx="${n(b.x + b.w - 14)}" cy="${n(b.y + 14)}" r="3.5" fill="#222"/>`);
    }
    b.lines.forEach((line, i) => {
      const weight = i === 0 ? ' font-weight="bold"' : '';
      out.push(`<text x="${n(b.x + PAD)}" y="${n(b.y + PAD + (i + 1) * LINE_H - 4)}"${weight} fill="#111">${escapeXml(line)}</text>`);
    });
    out.push('</g>');
  }
  for (const s of layout.separators) {
    out.push(`<line class="region-separator" x1="${n(s.x)}" y1="${n(s.y1)}" x2="${n(s.x)}" y2="${n(s.y2)}" stroke="#678" stroke-dasharray="6 4"/>`);
  }
  for (const i of layout.initials) {
    out.push(`<g class="initial"><circle cx="${n(i.cx)}" cy="${n(i.cy)}" r="5" fill="#222"/><line x1="${n(i.cx)}" y1="${n(i.cy + 5)}" x2="${n(i.x2)}" y2="${n(i.y2)}" stroke="#222" marker-end="url(#arrow)"/></g>`);
  }
  for (const e of layout.edges) {
    const dashed = e.transition.kind === 'always' || e.transition.kind === 'after' ? ' stroke-dasharray="4 3"' : '';
    out.push(`<g class="transition" data-event="${escapeXml(e.transition.eventType)}">`);
    if (e.points) {
      const points = e.points.map((p) => `${n(p.x)},${n(p.y)}`).join(' ');
      out.push(`<polyline points="${points}" fill="none" stroke="#333" stroke-width="1.2"${dashed} marker-end="url(#arrow)"/>`);
    } else {
      out.push(`<line x1="${n(e.x1)}" y1="${n(e.y1)}" x2="${n(e.x2)}" y2="${n(e.y2)}" stroke="#333" stroke-width="1.2"${dashed} marker-end="url(#arrow)"/>`);
    }
    out.push(`<rect x="${n(e.lx)}" y="${n(e.ly)}" width="${n(e.lw)}" height="${n(e.lh)}" fill="#ffffff" fill-opacity="0.9" stroke="#ccc" stroke-width="0.5" rx="3"/>`);
    out.push(`<text x="${n(e.lx + 4)}" y="${n(e.ly + e.lh - 5)}" fill="#224">${escapeXml(e.label)}</text>`);
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * Renders a machine as a standalone SVG, offline and deterministically.
 *
 * Every state appears as a box with its key, description, entry/exit actions, invokes and
 * self-transitions (`↻ EVENT / action (internal)`); every other transition as an arrow labelled like
 * the Mermaid output (`EVENT [guard] / actions`). `always` and `after` arrows are dashed.
 *
 * @param machine - the machine to draw.
 * @returns SVG text (valid XML, ending with a newline).
 */
export function machineToSvg(machine: AnyStateMachine): string {
  const model = buildChartModel(machine);
  return renderSvg(layoutStatechart(model), model.id);
}

/** {@link machineToSvg} on an already-built model. */
export function modelToSvg(model: ChartModel): string {
  return renderSvg(layoutStatechart(model), model.id);
}
