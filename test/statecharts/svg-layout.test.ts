/**
 * The ELK layout, checked as a picture (issue 22): over the generated SVG of every machine, no label
 * box overlaps another label, a state or an edge other than its own, and no edge passes through a
 * state it does not enter (`svg-geometry.ts` reads all of that back from the SVG text). The same
 * checks find plenty on the SVGs of the previous generator (`fixtures/legacy/`, what `statecharts/`
 * held before ELK), so they are not vacuous.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.js';
import { statechartMachines } from '../../src/cli/commands/statecharts.js';
import { buildChartModel, layoutStatechart, machineToSvg, type ChartModel, type SvgLayout } from '../../src/statecharts/index.js';
import { orthogonalize, runText, siblingRanks, toElkGraph, transitionLabelLines, type ElkGraphNode } from '../../src/statecharts/layout.js';
import { kitchenSinkMachine } from './fixtures/kitchen-sink.machine.js';
import { checkChartGeometry, geometryCounts, parseChartSvg, type GeometryReport } from './svg-geometry.js';

const LEGACY = join(import.meta.dirname, 'fixtures', 'legacy');
const charts: Record<string, () => Promise<string>> = {
  ...Object.fromEntries(Object.entries(statechartMachines()).map(([name, machine]) => [name, () => machineToSvg(machine)])),
  'kitchen-sink (fixture)': () => machineToSvg(kitchenSinkMachine),
};

const total = (report: GeometryReport): number => Object.values(geometryCounts(report)).reduce((a, b) => a + b, 0);

describe('the generated SVG of every machine, as a picture', () => {
  const reports = new Map<string, GeometryReport>();
  const sizes = new Map<string, { states: number; edges: number }>();
  beforeAll(async () => {
    for (const [name, render] of Object.entries(charts)) {
      const chart = parseChartSvg(await render());
      sizes.set(name, { states: chart.states.length, edges: chart.edges.length });
      reports.set(name, checkChartGeometry(chart));
    }
    console.log(
      ['overlaps in the generated SVGs:', ...[...reports].map(([name, r]) => `  ${name.padEnd(24)} ${JSON.stringify(sizes.get(name))} ${JSON.stringify(geometryCounts(r))}`)].join('\n'),
    );
  });

  it.each(Object.keys(charts))('should have no label over a label, a state or another edge, and no edge through a state it does not enter (%s)', (name) => {
    const report = reports.get(name)!;
    expect(sizes.get(name)!.edges).toBeGreaterThan(0);
    expect(report).toEqual({ labelOverLabel: [], labelOverState: [], labelOverEdge: [], edgeThroughState: [] });
  });
});

describe('the geometry check', () => {
  it('should find the overlaps of the previous generator in every one of its SVGs', () => {
    const lines: string[] = [];
    const files = readdirSync(LEGACY).filter((f) => f.endsWith('.svg')).sort();
    expect(files).toHaveLength(5);
    const counts = Object.fromEntries(
      files.map((file) => {
        const report = checkChartGeometry(parseChartSvg(readFileSync(join(LEGACY, file), 'utf8')));
        lines.push(`  ${file.padEnd(24)} ${JSON.stringify(geometryCounts(report))}`);
        return [file, report];
      }),
    );
    console.log(['overlaps in the previous generator\'s SVGs:', ...lines].join('\n'));
    for (const file of files) expect(total(counts[file]!), file).toBeGreaterThan(0);
    // The examples: a label on another arrow, a label over a state's box, an arrow through a state.
    const orchestrator = counts['orchestrator.svg']!;
    expect(orchestrator.labelOverEdge).toContain('label of orchestrator.PRECHECK → orchestrator.COMPLETED over edge orchestrator.PRECHECK → orchestrator.PIPELINE');
    expect(orchestrator.labelOverState.length).toBeGreaterThan(0);
    expect(orchestrator.edgeThroughState).toContain('edge orchestrator.PIPELINE.next → orchestrator.DECISION through state orchestrator.PIPELINE.step');
  });

  it('should catch each kind of overlap in a drawn example', () => {
    const svg = [
      '<g class="state state-compound" data-state="m"><rect x="0" y="0" width="400" height="300"/><text x="10" y="20">m</text></g>',
      '<g class="state state-atomic" data-state="m.a"><rect x="20" y="40" width="80" height="30"/><text x="30" y="60">a</text></g>',
      '<g class="state state-atomic" data-state="m.b"><rect x="20" y="200" width="80" height="30"/><text x="30" y="220">b</text></g>',
      '<g class="state state-atomic" data-state="m.c"><rect x="200" y="100" width="80" height="30"/><text x="210" y="120">c</text></g>',
      '<g class="state state-atomic" data-state="m.d"><rect x="120" y="100" width="40" height="30"/><text x="125" y="120">d</text></g>',
      '<g class="transition" data-edge="e0" data-source="m.a" data-target="m.b"><path d="M60,70 L60,200"/></g>',
      '<g class="transition" data-edge="e1" data-source="m.c" data-target="m.a"><path d="M240,100 L240,55 L100,55"/></g>',
      // Straight through d.
      '<g class="transition" data-edge="e2" data-source="m.a" data-target="m.c"><path d="M60,70 L60,115 L200,115"/></g>',
      // Around everything, inside m (an ancestor of both ends: allowed).
      '<g class="transition" data-edge="e3" data-source="m.b" data-target="m.c"><path d="M20,215 L10,215 L10,5 L240,5 L240,100"/></g>',
      '<g class="label" data-edge="e0"><rect x="40" y="140" width="60" height="18"/></g>',
      // Over a's box.
      '<g class="label" data-edge="e1"><rect x="90" y="45" width="60" height="18"/></g>',
      // Over e0's label and over e0's arrow.
      '<g class="label" data-edge="e2"><rect x="50" y="145" width="60" height="18"/></g>',
      // Across m's border.
      '<g class="label" data-edge="e3"><rect x="-10" y="90" width="30" height="18"/></g>',
    ].join('\n');
    expect(checkChartGeometry(parseChartSvg(svg))).toEqual({
      labelOverLabel: ['label of m.a → m.b over label of m.a → m.c'],
      labelOverState: ['label of m.c → m.a over state m.a', 'label of m.b → m.c over state m'],
      labelOverEdge: ['label of m.a → m.c over edge m.a → m.b'],
      edgeThroughState: ['edge m.a → m.c through state m.d'],
    });
  });
});

/** The box of each state. */
function boxes(layout: SvgLayout): Map<string, SvgLayout['boxes'][number]> {
  return new Map(layout.boxes.map((b) => [b.id, b]));
}

describe('the ELK layout', () => {
  const models: [string, ChartModel][] = Object.values(machines).map((m) => [m.id, buildChartModel(m)]);

  it.each(models)('should draw every arrow forward in reading order downwards, and each initial dot above its state (%s)', async (_name, model) => {
    const layout = await layoutStatechart(model);
    const byId = boxes(layout);
    const ranks = siblingRanks(model);
    const index = new Map(model.states.map((s) => [s.id, s]));
    const upwards: string[] = [];
    for (const e of layout.edges) {
      const [source, target] = [byId.get(e.source)!, byId.get(e.target)!];
      const [a, b] = [index.get(e.source)!, index.get(e.target)!];
      if (a.parent === undefined || a.parent !== b.parent) continue;
      if ((ranks.get(a.id) ?? 0) < (ranks.get(b.id) ?? 0) && target.y < source.y + source.h) upwards.push(`${e.source} → ${e.target}`);
    }
    expect(upwards).toEqual([]);
    for (const arrow of layout.initials) {
      const dot = layout.markers.find((m) => m.kind === 'initial' && m.state === arrow.state)!;
      expect(dot.cy, arrow.state).toBeLessThan(byId.get(arrow.target)!.y);
      expect(arrow.points.at(-1)!.y).toBe(byId.get(arrow.target)!.y);
    }
  });

  it.each(models)('should start and end every arrow on the border of its states (%s)', async (_name, model) => {
    const layout = await layoutStatechart(model);
    const byId = boxes(layout);
    const onBorder = (p: { x: number; y: number }, id: string): boolean => {
      const b = byId.get(id)!;
      const near = (u: number, v: number) => Math.abs(u - v) <= 1;
      const inX = p.x >= b.x - 1 && p.x <= b.x + b.w + 1;
      const inY = p.y >= b.y - 1 && p.y <= b.y + b.h + 1;
      return (inX && (near(p.y, b.y) || near(p.y, b.y + b.h))) || (inY && (near(p.x, b.x) || near(p.x, b.x + b.w)));
    };
    for (const e of layout.edges) {
      expect(onBorder(e.points[0]!, e.source), `${e.id} starts on ${e.source}`).toBe(true);
      expect(onBorder(e.points.at(-1)!, e.target), `${e.id} ends on ${e.target}`).toBe(true);
      // Orthogonal: every segment is horizontal or vertical.
      for (let i = 1; i < e.points.length; i++) {
        const [p, q] = [e.points[i - 1]!, e.points[i]!];
        expect(p.x === q.x || p.y === q.y, `${e.id} segment ${i}`).toBe(true);
      }
    }
  });

  it('should give each machine the same SVG whatever was laid out before it in the process', async () => {
    // ELK is one shared instance: state it kept from a layout (identity hash codes, say) must not leak
    // into the next one. (Across processes, `statecharts --check` of the committed files checks it.)
    const names = Object.keys(machines) as (keyof typeof machines)[];
    const forward = new Map<string, string>();
    for (const name of names) forward.set(name, await machineToSvg(machines[name]));
    await machineToSvg(kitchenSinkMachine);
    for (const name of [...names].reverse()) expect(await machineToSvg(machines[name]), name).toBe(forward.get(name));
  });

  it('should straighten the jogs where the sections of an arrow meet, keeping real bends', () => {
    // ELK's sections of an arrow leaving a container meet half a pixel apart.
    expect(
      orthogonalize([
        { x: 100.5, y: 10 },
        { x: 101, y: 40 },
        { x: 101, y: 50 },
        { x: 200, y: 50 },
        { x: 200, y: 50 },
        { x: 200, y: 80 },
        { x: 200, y: 120 },
      ]),
    ).toEqual([
      { x: 101, y: 10 },
      { x: 101, y: 50 },
      { x: 200, y: 50 },
      { x: 200, y: 120 },
    ]);
  });

  it('should put the actions of a long label on a line of their own', () => {
    const model = buildChartModel(machines.orchestrator);
    const lines = (source: string, trigger: string) =>
      transitionLabelLines(model.transitions.find((t) => t.source === source && t.trigger === trigger)!).map(runText);
    expect(lines('orchestrator.PIPELINE.step', 'done(step)')).toEqual(['done(step) / recordStepResult']);
    expect(lines('orchestrator.PRECHECK', 'done(precheck)')).toEqual(['done(precheck) [isAllGranted]', '  / recordStatuses, assign']);
  });

  it('should declare each edge in the lowest common ancestor of its ends, and a container-to-descendant arrow from its anchor', () => {
    const graph = toElkGraph(buildChartModel(kitchenSinkMachine));
    const holder = new Map<string, { node: string; sources: string[]; targets: string[] }>();
    const walk = (node: ElkGraphNode): void => {
      for (const e of node.edges ?? []) holder.set(`${e.sources[0]} -> ${e.targets[0]}`, { node: node.id, sources: e.sources, targets: e.targets });
      for (const child of node.children ?? []) walk(child);
    };
    walk(graph);
    expect(holder.get('kitchen-sink.working.probe.reading -> kitchen-sink.failed')?.node).toBe('kitchen-sink');
    expect(holder.get('kitchen-sink.working.probe.reading -> kitchen-sink.working.probe.granted')?.node).toBe('kitchen-sink.working.probe');
    expect(holder.get('kitchen-sink.failed -> kitchen-sink.working.probe.hist')?.node).toBe('kitchen-sink');
    expect(holder.get('kitchen-sink#anchor -> kitchen-sink.done')?.node).toBe('kitchen-sink');
    expect(graph.layoutOptions?.['elk.randomSeed']).toBe('1');
  });
});
