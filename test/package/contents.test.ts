/**
 * What the tarball carries (issue 11, item 1): what an app needs to run and type-check — compiled JS,
 * `.d.ts`, README, LICENSE, `statecharts/`, the viewer page — and nothing it does not: no tests, no
 * TypeScript sources, no source maps, no screenshots, no second copy of xstate inside a bundle. The docs'
 * examples and the picture docs/inspect.md shows are the exceptions: the shipped docs link to them
 * (shipped-docs.test.ts).
 * Read from `npm pack --dry-run` of this checkout (the `dist/` that `npm test` built).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCommand } from './packed.js';

let files: string[] = [];

beforeAll(async () => {
  const result = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], REPO_ROOT);
  expect(result.code, result.stderr).toBe(0);
  files = (JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
}, 60_000);

describe('the packed tarball', () => {
  it('should carry the entry points, declarations, README, LICENSE, statecharts and the viewer page', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, unknown> };
    const leaves = (value: unknown): string[] => (typeof value === 'string' ? [value] : Object.values(value as object).flatMap(leaves));
    const targets = leaves(pkg.exports).map((target) => target.replace(/^\.\//, ''));
    expect(targets.length).toBeGreaterThan(10);
    expect(targets.filter((target) => !files.includes(target))).toEqual([]);
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', 'statecharts/orchestrator.svg', 'src/inspect/viewer-page/index.html', 'dist/cli-bundle/first-run.cjs']));
  });

  it('should carry no tests, TypeScript sources, source maps or screenshots (but the docs’ examples and the picture they show)', () => {
    const docs = new Set(['docs/viewer.png', 'docs/examples/electron-main.ts', 'docs/examples/node-main.ts']);
    const unwanted = files.filter((path) => !docs.has(path) && /^test\/|(?<!\.d)\.ts$|\.map$|\.png$|^bench\/|^dist\/bench\/|^scripts\/|^machines\/|tsconfig/.test(path));
    expect(unwanted).toEqual([]);
  });

  it('should carry no copy of xstate or of any other dependency inside its bundles (elkjs included: every launch would read it)', () => {
    const copies = files
      .filter((path) => path.endsWith('.js') || path.endsWith('.cjs'))
      .filter((path) => /\/\/ node_modules\/(xstate|@statelyai|superjson|elkjs)\//.test(readFileSync(join(REPO_ROOT, path), 'utf8')));
    expect(copies).toEqual([]);
  });
});
