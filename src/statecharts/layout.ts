/**
 * The layout of a statechart, computed by ELK (the Eclipse Layout Kernel, `elkjs`): the layered
 * algorithm over the whole state tree at once (`hierarchyHandling: INCLUDE_CHILDREN`), so a compound
 * state is a container its children are laid out in, an arrow may leave and enter containers, edges
 * are orthogonal, and every transition label is a node of the layout (ELK's centre edge labels become
 * label dummies in a layer of their own), so the layout keeps labels off states and edges instead of a
 * second pass nudging them.
 *
 * The model → ELK graph → {@link SvgLayout} steps are pure ({@link toElkGraph}, {@link fromElkGraph});
 * only {@link layoutStatechart} runs ELK. ELK is loaded on the first layout (`import()`), never by a
 * module that merely imports this one, so nothing on the launch path pays for its ~1.6 MB.
 *
 * Determinism: ELK's only randomness is the seeded generator of the layered crossing minimisation
 * (`elk.randomSeed`, fixed here), so the same model gives the same coordinates; they are rounded to
 * 0.1 px before rendering.
 */
import type { ChartModel, ChartState, ChartTransition } from './model.js';
import { ancestorsOf, indexStates, transitionLabel } from './model.js';
import { stateLabelLines } from './mermaid.js';

/** Font size of all text, px. */
export const SVG_FONT_SIZE = 12;
/** Estimated advance of one character at {@link SVG_FONT_SIZE} in a monospace font (0.6 em, rounded up). */
export const SVG_CHAR_WIDTH = 7.4;
/** Height of one text line, px. */
export const LINE_H = 16;
/** Padding between a box's border and its text, px. */
export const PAD = 10;
/** Horizontal padding of a transition label's box, px. */
export const LABEL_PAD = 5;
/** Extra width of a final state's box, for its bullseye marker. */
const FINAL_MARKER_W = 20;
/** Padding of a container on the sides without its header, px. */
const CONTAINER_PAD = 16;
const MIN_W = 90;
const MARGIN = 16;
/** Diameter of the initial dot and of a container's own anchor. */
export const DOT = 12;

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
  /** A region of a parallel state (drawn with a dashed border). */
  region: boolean;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Height of the header (text) part; equals `h` for a state without children. */
  headerH: number;
  /** Text lines in the box header (the first is the name). */
  lines: string[];
  /** The self-transitions, whose `↻` lines end {@link lines}, in the same order. */
  self: ChartTransition[];
}

/** A point of a polyline. */
export interface SvgPoint {
  x: number;
  y: number;
}

/**
 * One arrow of the layout: every transition from one state to one target, drawn once, its label one
 * line per transition.
 */
export interface SvgEdge {
  /** Stable id within the layout (`e0`, `e1`, … in model order). */
  id: string;
  /** XState id of the source state. */
  source: string;
  /** XState id of the target state. */
  target: string;
  /** The transitions this arrow stands for, in model order (one label line each). */
  transitions: ChartTransition[];
  /** The label lines (`transitionLabel` of each transition). */
  lines: string[];
  /**
   * The polyline, start on the source's border (or the source container's anchor), end on the
   * target's border; orthogonal segments.
   */
  points: SvgPoint[];
  /** The label box (text inside, one line per transition). */
  lx: number;
  ly: number;
  lw: number;
  lh: number;
}

/**
 * A small marker inside a container: its initial dot (`kind: 'initial'`), or its anchor
 * (`kind: 'anchor'`), where transitions between the container and its own descendants start or end.
 */
export interface SvgMarker {
  kind: 'initial' | 'anchor';
  /** XState id of the container. */
  state: string;
  /** Centre and radius. */
  cx: number;
  cy: number;
  r: number;
}

/** The arrow from a container's initial dot to its initial child. */
export interface SvgInitialArrow {
  /** XState id of the container. */
  state: string;
  /** XState id of the initial child. */
  target: string;
  points: SvgPoint[];
}

/** The computed layout of a machine (exported for tests and custom renderers). */
export interface SvgLayout {
  width: number;
  height: number;
  /** Every state, parents before children. */
  boxes: SvgBox[];
  edges: SvgEdge[];
  markers: SvgMarker[];
  initials: SvgInitialArrow[];
}

/** The parts of ELK's JSON graph used here (`elkjs/lib/elk-api` declares the same shapes). */
export interface ElkGraphNode {
  id: string;
  width?: number;
  height?: number;
  x?: number;
  y?: number;
  layoutOptions?: Record<string, string>;
  children?: ElkGraphNode[];
  edges?: ElkGraphEdge[];
}

/** An edge of ELK's JSON graph. */
export interface ElkGraphEdge {
  id: string;
  layoutOptions?: Record<string, string>;
  sources: string[];
  targets: string[];
  labels?: { id: string; text: string; width: number; height: number; x?: number; y?: number; layoutOptions?: Record<string, string> }[];
  sections?: { startPoint: SvgPoint; endPoint: SvgPoint; bendPoints?: SvgPoint[] }[];
}

/**
 * The options of the layout run. Layered, top to bottom, orthogonal edges, the whole hierarchy in one
 * run, document order as the tie-breaker of cycle breaking and crossing minimisation (so a chart reads
 * like its machine), a fixed random seed, and every coordinate absolute.
 */
export const ELK_OPTIONS: Readonly<Record<string, string>> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.randomSeed': '1',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  // A node may move for its ports to line up: straight arrows (relaunch gate: 14 bends instead of 34).
  'elk.layered.nodePlacement.networkSimplex.nodeFlexibility.default': 'PORT_POSITION',
  'elk.layered.edgeLabels.sideSelection': 'SMART_DOWN',
  'elk.spacing.nodeNode': '28',
  'elk.layered.spacing.nodeNodeBetweenLayers': '28',
  'elk.spacing.edgeNode': '18',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.spacing.edgeEdge': '12',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
  'elk.spacing.edgeLabel': '6',
  'elk.spacing.labelNode': '6',
};

/** Whether a transition is shown inside its state's box (`↻ …`) rather than as an arrow. */
export function isSelfTransition(t: ChartTransition): boolean {
  return t.internal || (t.targets.length === 1 && t.targets[0] === t.source);
}

/** The transitions of a state drawn inside its box. */
export function selfTransitionsOf(state: ChartState, model: ChartModel): ChartTransition[] {
  return model.transitions.filter((t) => t.source === state.id && isSelfTransition(t));
}

/** The lines of a state's box: its {@link stateLabelLines}, then `↻ label` per self-transition. */
export function boxLines(state: ChartState, model: ChartModel): string[] {
  return [...stateLabelLines(state), ...selfTransitionsOf(state, model).map((t) => `\u21bb ${transitionLabel(t)}`)];
}

/** One arrow before layout: the transitions from `source` to `target`. */
interface PlannedEdge {
  id: string;
  source: string;
  target: string;
  transitions: ChartTransition[];
}

/** Groups the non-self transitions by (source, target), in model order. */
export function planEdges(model: ChartModel): PlannedEdge[] {
  const byPair = new Map<string, PlannedEdge>();
  for (const t of model.transitions) {
    if (isSelfTransition(t)) continue;
    for (const target of t.targets) {
      const key = `${t.source}\u0000${target}`;
      let edge = byPair.get(key);
      if (!edge) {
        edge = { id: `e${byPair.size}`, source: t.source, target, transitions: [] };
        byPair.set(key, edge);
      }
      edge.transitions.push(t);
    }
  }
  return [...byPair.values()];
}

const INITIAL_SUFFIX = '#initial';
/** An edge ELK should keep pointing down: the initial arrow, and arrows forward in reading order. */
const FORWARD = { 'elk.layered.priority.direction': '10' };
const ANCHOR_SUFFIX = '#anchor';

/** A label longer than this many characters puts its actions on a line of their own. */
export const LABEL_SPLIT = 36;

/** One transition's part of a label: its lines, each a list of styled runs. */
export type LabelRun = { kind: 'trigger' | 'guard' | 'actions' | 'flags'; text: string };

/**
 * The lines of one transition in its arrow's label: `trigger [guard] / actions (flags)` on one line,
 * or, when longer than {@link LABEL_SPLIT}, the actions on a second line.
 */
export function transitionLabelLines(t: ChartTransition): LabelRun[][] {
  const head: LabelRun[] = [{ kind: 'trigger', text: t.trigger }];
  if (t.guard !== undefined) head.push({ kind: 'guard', text: ` [${t.guard}]` });
  const flags = `${t.reenter ? ' (reenter)' : ''}${t.internal ? ' (internal)' : ''}`;
  if (t.actions.length === 0) return [flags === '' ? head : [...head, { kind: 'flags', text: flags }]];
  const actions: LabelRun = { kind: 'actions', text: `/ ${t.actions.join(', ')}` };
  const tail: LabelRun[] = flags === '' ? [] : [{ kind: 'flags', text: flags }];
  if (transitionLabel(t).length <= LABEL_SPLIT) return [[...head, { ...actions, text: ` ${actions.text}` }, ...tail]];
  return [head, [{ ...actions, text: `  ${actions.text}` }, ...tail]];
}

/** The text of a line of runs. */
export function runText(line: readonly LabelRun[]): string {
  return line.map((r) => r.text).join('');
}

/** Size of the label box of these transitions. */
export function labelSize(transitions: readonly ChartTransition[]): { width: number; height: number } {
  const lines = transitions.flatMap(transitionLabelLines).map(runText);
  return { width: Math.ceil(Math.max(...lines.map(textWidth)) + 2 * LABEL_PAD), height: lines.length * LINE_H + 4 };
}

/** Size of a state's header (its whole box for a leaf). */
function headerSize(state: ChartState, lines: readonly string[]): { width: number; height: number } {
  const width = Math.max(MIN_W, Math.ceil(Math.max(...lines.map(textWidth)) + 2 * PAD + (state.type === 'final' ? FINAL_MARKER_W : 0)));
  return { width, height: lines.length * LINE_H + 2 * PAD - 4 };
}

/**
 * The reading order of each container's children: the BFS rank of every state among its siblings,
 * from the container's initial child over the transitions between them (a transition from or into a
 * descendant counts for the child containing it); children not reached follow, in document order.
 */
export function siblingRanks(model: ChartModel): Map<string, number> {
  const index = indexStates(model);
  const rank = new Map<string, number>();
  const childUnder = (container: string, id: string): string | undefined => {
    const chain = [id, ...ancestorsOf(id, index)];
    const i = chain.indexOf(container);
    return i > 0 ? chain[i - 1] : undefined;
  };
  for (const state of model.states) {
    if (state.children.length === 0) continue;
    const next = new Map<string, string[]>(state.children.map((c) => [c.id, []]));
    for (const t of model.transitions) {
      const from = childUnder(state.id, t.source);
      for (const target of from === undefined ? [] : t.targets) {
        const to = childUnder(state.id, target);
        if (to !== undefined && to !== from) next.get(from as string)?.push(to);
      }
    }
    let r = 0;
    for (const start of [state.initial, ...state.children.map((c) => c.id)]) {
      if (start === undefined || rank.has(start)) continue;
      const queue = [start];
      rank.set(start, r++);
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        for (const to of next.get(id) ?? []) {
          if (rank.has(to)) continue;
          rank.set(to, r++);
          queue.push(to);
        }
      }
    }
  }
  return rank;
}

/** Where an arrow is attached in the ELK graph. */
interface ArrowEnds {
  edge: PlannedEdge;
  /** ELK node ids of its ends: the states, or a container's anchor. */
  source: string;
  target: string;
  /** The node the edge is declared in (the lowest common ancestor); `undefined`: the root graph. */
  container: string | undefined;
  /** The container whose anchor it starts or ends at, if any. */
  anchor: string | undefined;
  /** Forward in reading order between the children of `container`. */
  forward: boolean;
}

/**
 * An arrow's ends in the ELK graph: a transition between a container and one of its descendants runs
 * from (or to) the container's anchor, declared in the container; any other in the lowest common
 * ancestor of its states, as ELK expects.
 */
function arrowEnds(edge: PlannedEdge, index: Map<string, ChartState>, ranks: Map<string, number>): ArrowEnds {
  const isAncestor = (a: string, b: string): boolean => ancestorsOf(b, index).includes(a);
  if (isAncestor(edge.source, edge.target)) {
    return { edge, source: edge.source + ANCHOR_SUFFIX, target: edge.target, container: edge.source, anchor: edge.source, forward: true };
  }
  if (isAncestor(edge.target, edge.source)) {
    return { edge, source: edge.source, target: edge.target + ANCHOR_SUFFIX, container: edge.target, anchor: edge.target, forward: false };
  }
  const targetChain = new Set(ancestorsOf(edge.target, index));
  const container = ancestorsOf(edge.source, index).find((id) => targetChain.has(id));
  // The children of the container that hold each end.
  const [a, b] = [edge.source, edge.target].map((id) => [id, ...ancestorsOf(id, index)].find((x) => index.get(x)?.parent === container));
  const forward = a !== undefined && b !== undefined && (ranks.get(a) ?? 0) < (ranks.get(b) ?? 0);
  return { edge, source: edge.source, target: edge.target, container, anchor: undefined, forward };
}

/** A state's ELK node: a leaf sized by its text; a container with its header as top padding, its initial dot, its anchor, its children. */
function stateNode(state: ChartState, model: ChartModel, anchors: ReadonlySet<string>, nodes: Map<string, ElkGraphNode>): ElkGraphNode {
  const header = headerSize(state, boxLines(state, model));
  const node: ElkGraphNode = { id: state.id };
  nodes.set(state.id, node);
  if (state.children.length === 0) return Object.assign(node, header);
  node.layoutOptions = { 'elk.padding': `[top=${header.height + 8},left=${CONTAINER_PAD},bottom=${CONTAINER_PAD},right=${CONTAINER_PAD}]` };
  // Wide enough for the header. (ELK squares the root graph given a minimum size: the root is widened after.)
  if (state.parent !== undefined) {
    node.layoutOptions['elk.nodeSize.constraints'] = 'MINIMUM_SIZE';
    node.layoutOptions['elk.nodeSize.minimum'] = `(${header.width},${header.height + 2 * CONTAINER_PAD})`;
  }
  node.children = [];
  node.edges = [];
  if (state.initial !== undefined) {
    node.children.push({ id: state.id + INITIAL_SUFFIX, width: DOT, height: DOT, layoutOptions: { 'elk.layered.layering.layerConstraint': 'FIRST' } });
    node.edges.push({ id: `${state.id}${INITIAL_SUFFIX}>`, sources: [state.id + INITIAL_SUFFIX], targets: [state.initial], layoutOptions: { ...FORWARD } });
  }
  if (anchors.has(state.id)) node.children.push({ id: state.id + ANCHOR_SUFFIX, width: DOT, height: DOT });
  for (const child of state.children) node.children.push(stateNode(child, model, anchors, nodes));
  return node;
}

/**
 * The ELK graph of a model. Nodes have the ids of the states (plus `<id>#initial` for an initial dot
 * and `<id>#anchor` for a container's anchor); the machine's root is ELK's root graph, which carries
 * the options of the run ({@link ELK_OPTIONS}).
 */
export function toElkGraph(model: ChartModel): ElkGraphNode {
  const index = indexStates(model);
  const ranks = siblingRanks(model);
  const arrows = planEdges(model).map((edge) => arrowEnds(edge, index, ranks));
  const nodes = new Map<string, ElkGraphNode>();
  const root = stateNode(model.root, model, new Set(arrows.flatMap((a) => (a.anchor === undefined ? [] : [a.anchor]))), nodes);
  for (const { edge, source, target, container, forward } of arrows) {
    const size = labelSize(edge.transitions);
    const text = edge.transitions.map((t) => transitionLabel(t)).join('\n');
    const holder = (container === undefined ? undefined : nodes.get(container)) ?? root;
    (holder.edges ??= []).push({
      id: edge.id,
      sources: [source],
      targets: [target],
      ...(forward ? { layoutOptions: { ...FORWARD } } : {}),
      labels: [{ id: `${edge.id}.label`, text, ...size, layoutOptions: { 'elk.edgeLabels.placement': 'CENTER', 'elk.edgeLabels.inline': 'true' } }],
    });
  }
  root.layoutOptions = { ...ELK_OPTIONS, ...root.layoutOptions };
  return root;
}

/** A coordinate as drawn: rounded to 0.1 px. */
export function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A coordinate of ELK's result in the drawing: rounded to 0.1 px, moved right and down by the margin. */
function at(v: number): number {
  return round(v + MARGIN);
}

/** Below this, a difference of coordinates is ELK's rounding (where the sections of an arrow crossing a container's border meet), not a bend. */
const JOG = 2;

/**
 * Makes a polyline exactly orthogonal: a run of segments that are vertical (or horizontal) but for a
 * jog under {@link JOG} px gets one x (or y), the one of its first point inside the line (an end may
 * slide along the border it sits on); then repeated and collinear points are dropped.
 */
export function orthogonalize(input: readonly SvgPoint[]): SvgPoint[] {
  const points = input.map((p) => ({ ...p }));
  for (const axis of ['x', 'y'] as const) {
    for (let i = 1; i < points.length; i++) {
      if (Math.abs(points[i]![axis] - points[i - 1]![axis]) >= JOG) continue;
      let j = i;
      while (j + 1 < points.length && Math.abs(points[j + 1]![axis] - points[j]![axis]) < JOG) j++;
      const inner = points.slice(Math.max(1, i - 1), Math.min(points.length - 1, j + 1));
      const value = (inner[0] ?? points[i - 1]!)[axis];
      for (let k = i - 1; k <= j; k++) points[k]![axis] = value;
      i = j;
    }
  }
  const out: SvgPoint[] = [];
  for (const p of points) {
    const [a, b] = [out[out.length - 2], out[out.length - 1]];
    if (b && b.x === p.x && b.y === p.y) continue;
    if (a && b && ((a.x === b.x && b.x === p.x) || (a.y === b.y && b.y === p.y))) out.pop();
    out.push(p);
  }
  return out;
}

function sectionPoints(edge: ElkGraphEdge): SvgPoint[] {
  const points: SvgPoint[] = [];
  for (const section of edge.sections ?? []) {
    for (const p of [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]) points.push({ x: at(p.x), y: at(p.y) });
  }
  return orthogonalize(points);
}

/**
 * Reads ELK's result back into an {@link SvgLayout}.
 *
 * @throws {Error} when ELK left a node or an edge without coordinates (it never should).
 */
export function fromElkGraph(model: ChartModel, graph: ElkGraphNode): SvgLayout {
  const placed = new Map<string, ElkGraphNode>();
  const placedEdges = new Map<string, ElkGraphEdge>();
  const walk = (node: ElkGraphNode): void => {
    placed.set(node.id, node);
    for (const e of node.edges ?? []) placedEdges.set(e.id, e);
    for (const child of node.children ?? []) walk(child);
  };
  walk(graph);
  const need = (id: string): { x: number; y: number; width: number; height: number } => {
    const n = placed.get(id);
    // The root graph has no position of its own: it is the origin.
    const [x, y] = n === graph ? [n.x ?? 0, n.y ?? 0] : [n?.x, n?.y];
    if (n?.width === undefined || n.height === undefined || x === undefined || y === undefined) {
      throw new Error(`ELK returned no position for node \`${id}\` of machine \`${model.id}\`.`);
    }
    return { x, y, width: n.width, height: n.height };
  };
  const size = need(graph.id);
  const rootWidth = Math.max(size.width, headerSize(model.root, boxLines(model.root, model)).width);
  const layout: SvgLayout = { width: round(rootWidth + 2 * MARGIN), height: round(size.height + 2 * MARGIN), boxes: [], edges: [], markers: [], initials: [] };
  const regions = new Set(model.states.filter((s) => s.type === 'parallel').flatMap((s) => s.children.map((c) => c.id)));
  for (const state of model.states) {
    const n = need(state.id);
    const lines = boxLines(state, model);
    const headerH = state.children.length === 0 ? round(n.height) : headerSize(state, lines).height;
    const w = state === model.root ? rootWidth : n.width;
    layout.boxes.push({ id: state.id, type: state.type, region: regions.has(state.id), x: at(n.x), y: at(n.y), w: round(w), h: round(n.height), headerH, lines, self: selfTransitionsOf(state, model) });
    for (const [suffix, kind] of [[INITIAL_SUFFIX, 'initial'], [ANCHOR_SUFFIX, 'anchor']] as const) {
      if (!placed.has(state.id + suffix)) continue;
      const m = need(state.id + suffix);
      layout.markers.push({ kind, state: state.id, cx: at(m.x + m.width / 2), cy: at(m.y + m.height / 2), r: DOT / 2 });
    }
    if (state.initial !== undefined) {
      const arrow = placedEdges.get(`${state.id}${INITIAL_SUFFIX}>`);
      if (arrow) layout.initials.push({ state: state.id, target: state.initial, points: sectionPoints(arrow) });
    }
  }
  for (const planned of planEdges(model)) {
    const e = placedEdges.get(planned.id);
    const label = e?.labels?.[0];
    if (!e || !label || label.x === undefined || label.y === undefined) {
      throw new Error(`ELK returned no route or label position for the transition ${planned.source} → ${planned.target} of machine \`${model.id}\`.`);
    }
    layout.edges.push({
      id: planned.id,
      source: planned.source,
      target: planned.target,
      transitions: planned.transitions,
      lines: planned.transitions.map((t) => transitionLabel(t)),
      points: sectionPoints(e),
      lx: at(label.x),
      ly: at(label.y),
      lw: label.width,
      lh: label.height,
    });
  }
  return layout;
}

/** The subset of elkjs's API used here. */
interface ElkEngine {
  layout(graph: ElkGraphNode): Promise<ElkGraphNode>;
}

let engine: Promise<ElkEngine> | undefined;

/** ELK, loaded on first use (a statechart generation or the viewer's first SVG), then reused. */
function loadElk(): Promise<ElkEngine> {
  engine ??= import('elkjs/lib/elk.bundled.js').then((m) => {
    const ELK = (m as unknown as { default: new () => ElkEngine }).default;
    return new ELK();
  });
  return engine;
}

/**
 * Lays out a model with ELK.
 *
 * @throws {Error} when ELK fails (its message, with the machine id).
 */
export async function layoutStatechart(model: ChartModel): Promise<SvgLayout> {
  const elk = await loadElk();
  let result: ElkGraphNode;
  try {
    result = await elk.layout(toElkGraph(model));
  } catch (error) {
    throw new Error(`ELK could not lay out machine \`${model.id}\`: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return fromElkGraph(model, result);
}
