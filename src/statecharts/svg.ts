/**
 * XState v5 machine → a standalone SVG, offline (no browser, no mermaid-cli, no network). The layout
 * is ELK's (`layout.ts`); this module only draws it:
 *
 * - a state is a rounded box listing its name, description, entry/exit actions, invokes and
 *   self-transitions (`↻ label`, like UML internal transitions); a compound state is a container with
 *   that header on top and its children below; a region of a parallel state has a dashed border;
 * - a final state has a double border and a bullseye, a history state shows `H` / `H*`;
 * - a container's initial state is marked by a dot with an arrow; a transition between a container and
 *   one of its own descendants starts (or ends) at the container's anchor, a small ring inside it;
 * - all transitions from one state to one target are one arrow whose label lists them, one line each
 *   (`EVENT [guard] / actions`, like the Mermaid output); an arrow standing only for `always` / `after`
 *   transitions is dashed.
 *
 * The SVG carries what the live viewer needs to highlight the machine's state and its last transition
 * on this very picture: `data-state` on every state, `data-source` / `data-target` / `data-events` on
 * every arrow, `data-event` (the XState event type) on every transition's text, in a label or a `↻`
 * line, and an orange arrowhead (`#arrow-last`) for the arrow taken last.
 */
import type { AnyStateMachine } from 'xstate';
import { LABEL_PAD, layoutStatechart, LINE_H, PAD, round, SVG_FONT_SIZE, transitionLabelLines, type LabelRun, type SvgEdge, type SvgLayout, type SvgPoint } from './layout.js';
import { buildChartModel, type ChartModel, type ChartTransition } from './model.js';

export {
  layoutStatechart,
  textWidth,
  SVG_CHAR_WIDTH,
  SVG_FONT_SIZE,
  type SvgBox,
  type SvgEdge,
  type SvgLayout,
  type SvgMarker,
  type SvgInitialArrow,
  type SvgPoint,
} from './layout.js';

const FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";
/** Radius of the rounded corners of an arrow. */
const CORNER = 6;

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An orthogonal polyline as a path with rounded corners (the corner point stays the control point). */
export function roundedPath(points: readonly SvgPoint[]): string {
  const n = round;
  const first = points[0];
  if (!first) return '';
  const parts = [`M${n(first.x)},${n(first.y)}`];
  for (let i = 1; i < points.length; i++) {
    const p = points[i] as SvgPoint;
    const prev = points[i - 1] as SvgPoint;
    const next = points[i + 1];
    if (!next) {
      parts.push(`L${n(p.x)},${n(p.y)}`);
      break;
    }
    const r = Math.min(CORNER, Math.hypot(p.x - prev.x, p.y - prev.y) / 2, Math.hypot(next.x - p.x, next.y - p.y) / 2);
    const towards = (a: SvgPoint, b: SvgPoint, d: number): SvgPoint => {
      const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
      return { x: a.x + ((b.x - a.x) / len) * d, y: a.y + ((b.y - a.y) / len) * d };
    };
    const before = towards(p, prev, r);
    const after = towards(p, next, r);
    parts.push(`L${n(before.x)},${n(before.y)}`, `Q${n(p.x)},${n(p.y)} ${n(after.x)},${n(after.y)}`);
  }
  return parts.join(' ');
}

const RUN_STYLE: Record<LabelRun['kind'], string> = {
  trigger: ' font-weight="bold"',
  guard: ' fill="#8a5300"',
  actions: ' fill="#3d5a80"',
  flags: ' fill="#5b6778"',
};

/** One transition in its arrow's label: a `<text>` of one or two lines, its parts coloured. */
function labelText(t: ChartTransition, x: number, y: number): string {
  const n = round;
  const lines = transitionLabelLines(t).map((line, i) => {
    const runs = line.map((r) => `<tspan class="${r.kind}"${RUN_STYLE[r.kind]}>${escapeXml(r.text)}</tspan>`).join('');
    return `<tspan x="${n(x)}" y="${n(y + i * LINE_H)}">${runs}</tspan>`;
  });
  return `<text data-event="${escapeXml(t.eventType)}" fill="#1d2a3a">${lines.join('')}</text>`;
}

function isDelayed(t: ChartTransition): boolean {
  return t.kind === 'always' || t.kind === 'after';
}

function renderEdge(e: SvgEdge): string[] {
  const dashed = e.transitions.every(isDelayed) ? ' stroke-dasharray="5 4"' : '';
  const events = [...new Set(e.transitions.map((t) => t.eventType))].join(' ');
  return [
    `<g class="transition" data-edge="${e.id}" data-source="${escapeXml(e.source)}" data-target="${escapeXml(e.target)}" data-events="${escapeXml(events)}">`,
    `<path class="edge" d="${roundedPath(e.points)}" fill="none" stroke="#5b6b7f" stroke-width="1.4"${dashed} marker-end="url(#arrow)"/>`,
    '</g>',
  ];
}

function renderLabel(e: SvgEdge): string[] {
  const n = round;
  const out = [`<g class="label" data-edge="${e.id}">`, `<rect x="${n(e.lx)}" y="${n(e.ly)}" width="${n(e.lw)}" height="${n(e.lh)}" rx="4" fill="#ffffff" stroke="#c5d0de" stroke-width="0.8"/>`];
  let line = 0;
  for (const t of e.transitions) {
    out.push(labelText(t, e.lx + LABEL_PAD, e.ly + 2 + (line + 1) * LINE_H - 4));
    line += transitionLabelLines(t).length;
  }
  out.push('</g>');
  return out;
}

function marker(id: string, fill: string): string {
  return `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${fill}"/></marker>`;
}

/** Renders a computed layout to SVG text. */
export function renderSvg(layout: SvgLayout, title: string): string {
  const n = round;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(layout.width)}" height="${n(layout.height)}" viewBox="0 0 ${n(layout.width)} ${n(layout.height)}" font-family="${FONT}" font-size="${SVG_FONT_SIZE}">`,
    `<title>${escapeXml(title)}</title>`,
    // `arrow-last`: the live viewer's arrowhead for the last transition taken.
    `<defs>${marker('arrow', '#5b6b7f')}${marker('arrow-last', '#e08a00')}</defs>`,
    `<rect x="0" y="0" width="${n(layout.width)}" height="${n(layout.height)}" fill="#ffffff"/>`,
  );
  for (const b of layout.boxes) {
    const leaf = b.headerH === b.h;
    out.push(`<g class="state state-${b.type}${b.region ? ' region' : ''}" data-state="${escapeXml(b.id)}">`);
    const fill = leaf ? '#f3f6fa' : b.region ? '#fcfdfe' : '#ffffff';
    const dash = b.region ? ' stroke-dasharray="6 4"' : '';
    out.push(`<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.w)}" height="${n(b.h)}" rx="${b.type === 'history' ? 16 : 8}" fill="${fill}" stroke="#7d8ea3" stroke-width="1.2"${dash}/>`);
    if (b.type === 'final') {
      out.push(`<rect x="${n(b.x + 3)}" y="${n(b.y + 3)}" width="${n(b.w - 6)}" height="${n(b.h - 6)}" rx="6" fill="none" stroke="#7d8ea3" stroke-width="1"/>`);
      out.push(`<circle cx="${n(b.x + b.w - 16)}" cy="${n(b.y + 16)}" r="6" fill="none" stroke="#222"/><circle cx="${n(b.x + b.w - 16)}" cy="${n(b.y + 16)}" r="3.5" fill="#222"/>`);
    }
    const firstSelf = b.lines.length - b.self.length;
    b.lines.forEach((line, i) => {
      const self = b.self[i - firstSelf];
      const attrs = i === 0 ? ' font-weight="bold" fill="#111"' : self ? ` class="self" data-event="${escapeXml(self.eventType)}" fill="#3b4654"` : ' fill="#3b4654"';
      out.push(`<text x="${n(b.x + PAD)}" y="${n(b.y + PAD + (i + 1) * LINE_H - 5)}"${attrs}>${escapeXml(line)}</text>`);
    });
    out.push('</g>');
  }
  for (const a of layout.initials) {
    out.push(`<path class="initial-arrow" data-state="${escapeXml(a.state)}" d="${roundedPath(a.points)}" fill="none" stroke="#222" stroke-width="1.2" marker-end="url(#arrow)"/>`);
  }
  for (const m of layout.markers) {
    const style = m.kind === 'initial' ? 'fill="#222"' : 'fill="#ffffff" stroke="#5b6b7f" stroke-width="1.4"';
    out.push(`<circle class="${m.kind}" data-state="${escapeXml(m.state)}" cx="${n(m.cx)}" cy="${n(m.cy)}" r="${n(m.r - 1)}" ${style}/>`);
  }
  for (const e of layout.edges) out.push(...renderEdge(e));
  for (const e of layout.edges) out.push(...renderLabel(e));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** {@link machineToSvg} on an already-built model. */
export async function modelToSvg(model: ChartModel): Promise<string> {
  return renderSvg(await layoutStatechart(model), model.id);
}

/**
 * Renders a machine as a standalone SVG, offline and deterministically (the same machine gives the
 * same bytes). Loads `elkjs` on the first call.
 *
 * @param machine - the machine to draw.
 * @returns SVG text (valid XML, ending with a newline).
 * @throws {Error} when ELK cannot lay the machine out.
 * @example
 * ```ts
 * import { machineToSvg } from 'first-run-orchestrator/statecharts';
 * await writeFile('chart.svg', await machineToSvg(machine));
 * ```
 */
export async function machineToSvg(machine: AnyStateMachine): Promise<string> {
  return modelToSvg(buildChartModel(machine));
}
