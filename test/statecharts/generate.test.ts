import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { generateStatecharts, machineToJSON, machineToMarkdown } from '../../src/statecharts/index.js';
import { createKitchenSinkMachine, kitchenSinkMachine } from './fixtures/kitchen-sink.machine.js';

describe('machineToJSON', () => {
  const json = machineToJSON(kitchenSinkMachine);

  it('should be pretty, parseable and without functions', () => {
    const parsed = JSON.parse(json) as { id: string; states: Record<string, unknown> };
    expect(parsed.id).toBe('kitchen-sink');
    expect(Object.keys(parsed.states)).toEqual(['done', 'failed', 'idle', 'working']);
    expect(json).not.toContain('toJSON');
    expect(json).toContain('\n  "');
  });

  it('should keep guard combinators and eventless transitions', () => {
    expect(json).toContain('"type": "xstate.not"');
    expect(json).toContain('"text": "isOnline and !isDenied"');
    expect(json).toContain('"type": "xstate.stateIn"');
    expect(json).toContain('"always": [');
  });

  it('should be deterministic', () => {
    expect(machineToJSON(createKitchenSinkMachine())).toBe(json);
  });
});

describe('machineToMarkdown', () => {
  const md = machineToMarkdown(kitchenSinkMachine);

  it('should have a heading, the description, a mermaid block and both tables', () => {
    expect(md.startsWith('# `kitchen-sink` state machine\n')).toBe(true);
    expect(md).toContain('A fixture that exercises every statechart construct.');
    expect(md).toMatch(/```mermaid\nstateDiagram-v2\n[\s\S]+\n```\n/);
    expect(md).toContain('| `working.probe.reading` | atomic | — | — | `readStatus` (id `readStatus`) | — |');
    expect(md).toContain('| `idle` | `user.start` | `isOnline and !isDenied` | `working` | — |');
    expect(md).toContain('| `idle` | `permission.changed` | — | (internal — no state change) | `recordStatus` |');
    expect(md).toContain('| `failed` | atomic | — | — | — | meta: `{"severity":"error"}` |');
  });
});

describe('generateStatecharts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'statecharts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const files = (names: string[]): string[] =>
    names.flatMap((n) => ['json', 'md', 'mmd', 'svg'].map((ext) => `${n}.${ext}`)).concat('index.md').sort();
  const rel = (paths: string[]): string[] => paths.map((p) => p.slice(dir.length + 1)).sort();

  it('should report everything stale and write nothing in check mode on an empty folder', async () => {
    const result = await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine }, outDir: join(dir, 'out'), check: true });
    expect(result.written).toEqual([]);
    expect(result.unchanged).toEqual([]);
    expect(result.stale.map((p) => p.slice(join(dir, 'out').length + 1)).sort()).toEqual(files(['kitchen-sink']));
    await expect(readFile(join(dir, 'out', 'index.md'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('should write, then find everything unchanged, then detect a changed machine', async () => {
    const simple = createMachine({ id: 'simple', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { type: 'final' } } });
    const first = await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine, simple }, outDir: dir });
    expect(rel(first.written)).toEqual(files(['kitchen-sink', 'simple']));

    const again = await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine, simple }, outDir: dir, check: true });
    expect(again.stale).toEqual([]);
    expect(rel(again.unchanged)).toEqual(files(['kitchen-sink', 'simple']));

    const changed = createKitchenSinkMachine({ stepTimeout: 20000 });
    const check = await generateStatecharts({ machines: { 'kitchen-sink': changed, simple }, outDir: dir, check: true });
    // The delay value shows in the diagram, page and SVG; the JSON holds only the delay name.
    expect(rel(check.stale)).toEqual(['kitchen-sink.md', 'kitchen-sink.mmd', 'kitchen-sink.svg']);
    expect(check.written).toEqual([]);
    expect(await readFile(join(dir, 'kitchen-sink.mmd'), 'utf8')).toContain('after 15000ms (stepTimeout)');

    const rewrite = await generateStatecharts({ machines: { 'kitchen-sink': changed, simple }, outDir: dir });
    expect(rel(rewrite.written)).toEqual(['kitchen-sink.md', 'kitchen-sink.mmd', 'kitchen-sink.svg']);
    expect(await readFile(join(dir, 'kitchen-sink.mmd'), 'utf8')).toContain('after 20000ms (stepTimeout)');
  });

  it('should detect a hand-edited file and a missing machine file, and accept CRLF', async () => {
    await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine }, outDir: dir });
    const mmd = join(dir, 'kitchen-sink.mmd');
    await writeFile(mmd, (await readFile(mmd, 'utf8')).replace(/\n/g, '\r\n'));
    await writeFile(join(dir, 'kitchen-sink.svg'), '<svg/>');
    await rm(join(dir, 'kitchen-sink.json'));
    const check = await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine }, outDir: dir, check: true });
    expect(rel(check.stale)).toEqual(['kitchen-sink.json', 'kitchen-sink.svg']);
  });

  it('should list the machines in index.md', async () => {
    await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine }, outDir: dir });
    const index = await readFile(join(dir, 'index.md'), 'utf8');
    expect(index).toContain('[kitchen-sink.md](./kitchen-sink.md)');
    expect(index).toContain('[kitchen-sink.svg](./kitchen-sink.svg)');
  });

  it('should reject a name that is not a file name', async () => {
    await expect(generateStatecharts({ machines: { '../x': kitchenSinkMachine }, outDir: dir })).rejects.toThrow(
      /Expected machine names to be file names .*got `\.\.\/x`/,
    );
  });

  it('should produce identical files on two runs', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await generateStatecharts({ machines: { 'kitchen-sink': kitchenSinkMachine }, outDir: a });
    await generateStatecharts({ machines: { 'kitchen-sink': createKitchenSinkMachine() }, outDir: b });
    for (const f of files(['kitchen-sink'])) expect(await readFile(join(b, f), 'utf8')).toBe(await readFile(join(a, f), 'utf8'));
  });
});
