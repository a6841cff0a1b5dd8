/**
 * HE-4 and HE-8: the package inside an app's bundled main process, and on Electron's Node.
 *
 * A CommonJS project installs the packed tarball (test/package/packed.ts); its main process is the
 * plain-Node embedding (docs/examples/node-main.ts), bundled with everything in it — xstate and this
 * package included — the way an app bundles its Electron main, with no plugin for this package:
 * - esbuild, CommonJS and ESM output (`bundle`, `platform: 'node'`, nothing else);
 * - rollup, CommonJS and ESM output, split into chunks (our lazy `import()`s become chunk files), with
 *   only `@rollup/plugin-node-resolve` to find packages in node_modules.
 * Each bundle is written outside the project, into a directory with no node_modules above it, and runs a
 * whole first run (the simulated TCC) through one real relaunch of itself to COMPLETED: the ledger says
 * COMPLETED with restart_count 1, the journal shows one executed restart and no failed write.
 *
 * Then the same on Node 20.18.0 (Electron 33's; test/package/electron-node.ts): `require()` and
 * `import` of the installed package, and the CommonJS bundles' first runs.
 */
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { build, transform } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollup, type RollupLog } from 'rollup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journal, ledgerPhase, QUICK_DB, quickConfig, type Sandbox } from '../support/processes.js';
import { electronNode, ELECTRON_NODE_VERSION } from './electron-node.js';
import { createConsumerProject, REPO_ROOT, runCommand, type CommandResult, type ConsumerProject } from './packed.js';

/** An install, four bundles, and first runs with a relaunch each (they run at once). */
const SLOW = 240_000;

type BundleKind = 'esbuild-cjs' | 'esbuild-esm' | 'rollup-cjs' | 'rollup-esm';
const KINDS: readonly BundleKind[] = ['esbuild-cjs', 'esbuild-esm', 'rollup-cjs', 'rollup-esm'];

let project: ConsumerProject | undefined;
/** Each bundle's main file, in its own directory outside the project. */
const bundles = new Map<BundleKind, string>();
/** What rollup said while bundling: an app's build would show it. */
const rollupWarnings: string[] = [];
const scratch: string[] = [];

function explain(result: CommandResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** Bundle the host main with `kind`; returns the bundle's main file (under `outDir`). */
async function bundleHost(kind: BundleKind, dir: string, outDir: string): Promise<string> {
  const format = kind.endsWith('-cjs') ? 'cjs' : 'esm';
  const ext = format === 'cjs' ? 'cjs' : 'mjs';
  if (kind.startsWith('esbuild')) {
    const outfile = join(outDir, `main.${ext}`);
    // What an app's build script says, and nothing for this package: no externals, defines or plugins.
    const result = await build({ entryPoints: [join(dir, 'node-main.ts')], bundle: true, platform: 'node', format, outfile, logLevel: 'silent' });
    expect(result.warnings.map((w) => w.text), `${kind}: esbuild warned`).toEqual([]);
    return outfile;
  }
  const bundle = await rollup({
    input: join(dir, 'node-main.mjs'),
    plugins: [nodeResolve({ preferBuiltins: true })],
    external: (id) => id.startsWith('node:'),
    onLog: (level, log: RollupLog) => {
      if (level === 'warn') rollupWarnings.push(`${kind}: ${log.code ?? ''} ${log.message}`);
    },
  });
  try {
    await bundle.write({ dir: outDir, format, entryFileNames: `main.${ext}`, chunkFileNames: `[name]-[hash].${ext}` });
  } finally {
    await bundle.close();
  }
  return join(outDir, `main.${ext}`);
}

beforeAll(async () => {
  project = await createConsumerProject('cjs');
  scratch.push(project.dir);
  // The host main as the docs quote it; rollup gets it as JavaScript (an app's TypeScript step).
  const source = readFileSync(join(REPO_ROOT, 'docs', 'examples', 'node-main.ts'), 'utf8');
  writeFileSync(join(project.dir, 'node-main.ts'), source);
  writeFileSync(join(project.dir, 'node-main.mjs'), (await transform(source, { loader: 'ts', format: 'esm' })).code);
  for (const kind of KINDS) {
    const outDir = scratchDir(`first-run-bundle-${kind}-`);
    bundles.set(kind, await bundleHost(kind, project.dir, outDir));
  }
}, SLOW);

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function bundleOf(kind: BundleKind): string {
  const main = bundles.get(kind);
  if (!main) throw new Error(`the ${kind} bundle was not built (see beforeAll)`);
  return main;
}

/** A fresh state dir, scenario and config for one run: a prompt, and a grant that needs the restart. */
function runBox(): Sandbox {
  const dir = scratchDir('first-run-bundled-run-');
  const box = { dir, stateDir: join(dir, 'state'), simDb: join(dir, 'tcc.json'), config: join(dir, 'config.json') };
  writeFileSync(box.simDb, JSON.stringify(QUICK_DB));
  writeFileSync(box.config, JSON.stringify(quickConfig({ handoffSec: 10 })));
  return box;
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Run the bundle with `node` from its own directory (no node_modules anywhere above it), through the
 * relaunch, and check the whole first run: two processes, handed off then COMPLETED, and the state on disk.
 */
async function expectBundledFirstRun(node: string, main: string): Promise<void> {
  const box = runBox();
  const result = await runCommand(node, [main, '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config], join(main, '..'));
  expect(result.code, explain(result)).toBe(0);
  const lines = jsonLines(result.stdout);
  expect(lines.map((line) => line.outcome), explain(result)).toEqual(['handed_off', 'completed']);
  expect(lines[1]).toMatchObject({ phase: 'COMPLETED', restart_count: 1 });
  expect(lines[1]!.pid).not.toBe(lines[0]!.pid);
  expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
  const types = journal(box).map((line) => line.type);
  expect(types.filter((type) => type === 'restart.executed')).toHaveLength(1);
  expect(types.filter((type) => type === 'ledger.write_failed'), 'no ledger write may fail').toEqual([]);
}

describe('a host main process bundled with the package (HE-4)', () => {
  it('should bundle with no warning from esbuild or rollup, and leave nothing to load from node_modules', () => {
    expect(rollupWarnings).toEqual([]);
    for (const kind of KINDS) {
      const files = readdirSync(join(bundleOf(kind), '..'));
      expect(files.some((name) => name === 'node_modules'), kind).toBe(false);
      // Nothing of ours is loaded by path at run time: only Node's own modules are required or imported.
      for (const file of files) {
        const code = readFileSync(join(bundleOf(kind), '..', file), 'utf8');
        const loaded = [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)|\bimport\(\s*["']([^"']+)["']\s*\)|^import\s[^'"]*["']([^"']+)["']/gm)].map(
          (m) => m[1] ?? m[2] ?? m[3] ?? '',
        );
        expect(loaded.filter((spec) => !spec.startsWith('node:') && !spec.startsWith('./')), `${kind}/${file}`).toEqual([]);
      }
    }
  });

  it.concurrent.each(KINDS)(
    'should run a whole first run from the %s bundle through one real relaunch to COMPLETED',
    async (kind) => {
      await expectBundledFirstRun(process.execPath, bundleOf(kind));
    },
    SLOW,
  );
});

describe(`the package on Node ${ELECTRON_NODE_VERSION}, Electron 33's (HE-8)`, () => {
  let node = '';
  beforeAll(async () => {
    node = await electronNode();
  }, SLOW);

  function installed(): ConsumerProject {
    if (!project) throw new Error('the consumer project was not installed (see beforeAll)');
    return project;
  }

  it('should require() the runtime entry (no require of ES modules on this Node) and import every subpath', async () => {
    const required = await runCommand(node, ['-e', "const m = require('first-run-orchestrator'); console.log(typeof m.runFirstRun, typeof m.createSimBackend, process.version)"], installed().dir);
    expect(required.code, explain(required)).toBe(0);
    expect(required.stdout.trim()).toBe(`function function v${ELECTRON_NODE_VERSION}`);
    const script = `
      const main = await import('first-run-orchestrator');
      const { machines } = await import('first-run-orchestrator/machines');
      const { generateStatecharts } = await import('first-run-orchestrator/statecharts');
      console.log(typeof main.runFirstRun, typeof machines.orchestrator, typeof generateStatecharts);`;
    const imported = await runCommand(node, ['--input-type=module', '-e', script], installed().dir);
    expect(imported.code, explain(imported)).toBe(0);
    expect(imported.stdout.trim()).toBe('function object function');
  });

  it.concurrent.each(['esbuild-cjs', 'rollup-cjs'] as const)(
    'should run a whole first run from the %s bundle through one real relaunch to COMPLETED',
    async (kind) => {
      await expectBundledFirstRun(node, bundleOf(kind));
    },
    SLOW,
  );

  it('should run the installed CLI: first-run status', async () => {
    const dir = scratchDir('first-run-node20-status-');
    const bin = join(installed().dir, 'node_modules', 'first-run-orchestrator', 'bin', 'first-run.js');
    const result = await runCommand(node, [bin, 'status', '--state-dir', join(dir, 'state'), '--json'], installed().dir);
    expect(result.code, explain(result)).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ phase: 'NONE', restart_count: 0 });
  });
});
