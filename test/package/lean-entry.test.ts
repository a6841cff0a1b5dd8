/**
 * What a client process loads at every start (issue 11, item 2): the runtime entry
 * (`first-run-orchestrator`, built to `dist/src/index.js` and `dist/cjs/index.cjs`) reaches no tooling
 * through a static import — not the inspector bridge (and so not `@statelyai/inspect`), the viewer,
 * the statechart generator, the dev restarter, the test models or the CLI. Those live behind subpath
 * exports; a lazy `import()` (the macOS backend, for one) is allowed.
 *
 * The graph is read by esbuild from the compiled files the tarball ships (`npm test` builds first).
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './packed.js';

const TOOLING = /^dist\/src\/(inspect|statecharts|dev|testing|cli)\//;

async function staticGraph(entry: string): Promise<{ files: string[]; packages: string[] }> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, platform: 'node', format: 'esm', packages: 'external', metafile: true, logLevel: 'silent', absWorkingDir: REPO_ROOT });
  const inputs: Metafile['inputs'] = result.metafile.inputs;
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [relative(REPO_ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const edge of inputs[file]?.imports ?? []) {
      if (edge.kind !== 'import-statement' && edge.kind !== 'require-call') continue;
      if (edge.external) packages.add(edge.path);
      else queue.push(edge.path);
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}

describe('the runtime entry', () => {
  it('should reach no tooling module and no optional package through a static import', async () => {
    const { files, packages } = await staticGraph(join(REPO_ROOT, 'dist', 'src', 'index.js'));
    expect(files).toContain('dist/src/runtime/run-first-run.js');
    expect(files.filter((file) => TOOLING.test(file))).toEqual([]);
    expect(packages.filter((name) => !name.startsWith('node:'))).toEqual(['xstate']);
  });

  it('should build to one CommonJS file that requires only xstate and Node built-ins', () => {
    const source = readFileSync(join(REPO_ROOT, 'dist', 'cjs', 'index.cjs'), 'utf8');
    const required = [...new Set([...source.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))].filter((name) => !name.startsWith('node:'));
    expect(required.sort()).toEqual(['xstate']);
  });

  it('should declare @statelyai/inspect as an optional peer, never a dependency', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    expect(pkg.dependencies?.['@statelyai/inspect']).toBeUndefined();
    expect(pkg.peerDependencies?.['@statelyai/inspect']).toBeDefined();
    expect(pkg.peerDependenciesMeta?.['@statelyai/inspect']).toEqual({ optional: true });
  });
});
