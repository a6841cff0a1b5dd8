/**
 * HE-4 and HE-8: the package inside an app's bundled main process, and on Electron's Node.
 *
 * A CommonJS project installs the packed tarball (test/package/packed.ts); its main process is the
 * plain-Node embedding (docs/examples/node-main.ts), bundled with everything in it — xstate and this
 * package included — the way an app bundles its Electron main, with no plugin for this package:
 * - esbuild, CommonJS and ESM output (`bundle`, `platform: 'node'`, nothing else);
 * - rollup, CommonJS and ESM output, split into chunks (our lazy `import()`s become chunk files), with
 *   only `@rollup/plugin-node-resolve` to find packages in node_modules;
 * - webpack, CommonJS and ESM output (`target: 'node'`), in chunks too.
 * Each bundle is written outside the project, into a directory with no node_modules above it, and runs a
 * whole first run (the simulated TCC) through one real relaunch of itself to COMPLETED: the ledger says
 * COMPLETED with restart_count 1, the journal shows one executed restart and no failed write.
 *
 * The macOS backend's optional native package stays outside any bundle (an app ships native modules in
 * its node_modules): a probe main bundled the same ways loads it — a fake with the real package's
 * functions (test/backend/fixtures) — from the node_modules next to the bundle, on the main thread and in
 * an activation worker.
 *
 * Then the same on Node 20.18.0 (Electron 33's; test/package/electron-node.ts): `require()` and
 * `import` of the installed package, and the CommonJS bundles' first runs.
 */
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { build, transform } from 'esbuild';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rollup, type RollupLog } from 'rollup';
import { webpack, type Configuration } from 'webpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFakeNative } from '../backend/fixtures/fake-native.js';
import { journal, ledgerPhase, QUICK_DB, quickConfig, type Sandbox } from '../support/processes.js';
import { electronNode, ELECTRON_NODE_VERSION } from './electron-node.js';
import { createConsumerProject, REPO_ROOT, runCommand, type CommandResult, type ConsumerProject, explain } from './packed.js';

/** An install, a dozen bundles, and first runs with a relaunch each (they run at once). */
const SLOW = 240_000;

type BundleKind = 'esbuild-cjs' | 'esbuild-esm' | 'rollup-cjs' | 'rollup-esm' | 'webpack-cjs' | 'webpack-esm';
const KINDS: readonly BundleKind[] = ['esbuild-cjs', 'esbuild-esm', 'rollup-cjs', 'rollup-esm', 'webpack-cjs', 'webpack-esm'];
type HostMain = 'node-main' | 'mac-probe';

/**
 * A host main that loads the macOS backend as an app does (`createMacBackend()`, no path given), reads a
 * status and starts one activation (in a worker thread), then prints what it found.
 */
const MAC_PROBE = `
import { createMacBackend, type MacActivationReport } from 'first-run-orchestrator';
async function main(): Promise<void> {
  let answered: (report: MacActivationReport) => void = () => {};
  const settled = new Promise<MacActivationReport>((resolve) => (answered = resolve));
  const backend = createMacBackend({ platform: 'darwin', onActivationReport: (report) => report.event !== 'handed_off' && answered(report) });
  try {
    const status = await backend.getStatus('microphone');
    await backend.activate('microphone');
    const bound = setTimeout(() => answered({ permission: 'microphone', call: 'askForMicrophoneAccess', event: 'failed', error: 'no answer within 20 s' }), 20_000);
    const report = await settled;
    clearTimeout(bound);
    console.log(JSON.stringify({ modulePath: backend.modulePath, status, activation: report.event, value: report.value ?? report.error }));
  } finally {
    await backend.close?.();
  }
}
main().catch((error: unknown) => {
  process.exitCode = 1;
  console.error(error);
});
`;

let project: ConsumerProject | undefined;
/** Each bundle's main file, in its own directory outside the project. */
const bundles = new Map<`${HostMain}:${BundleKind}`, string>();
/** What the bundlers said while bundling: an app's build would show it. */
const bundlerWarnings: string[] = [];
const scratch: string[] = [];

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** Bundle `<dir>/<main>.ts` (esbuild) or its JavaScript `<main>.mjs` (rollup, webpack) with `kind`; returns the bundle's main file. */
async function bundleHost(kind: BundleKind, dir: string, main: HostMain, outDir: string): Promise<string> {
  const format = kind.endsWith('-cjs') ? 'cjs' : 'esm';
  const ext = format === 'cjs' ? 'cjs' : 'mjs';
  const outfile = join(outDir, `main.${ext}`);
  if (kind.startsWith('esbuild')) {
    // What an app's build script says, and nothing for this package: no externals, defines or plugins.
    const result = await build({ entryPoints: [join(dir, `${main}.ts`)], bundle: true, platform: 'node', format, outfile, logLevel: 'silent' });
    bundlerWarnings.push(...result.warnings.map((w) => `${kind}: ${w.text}`));
    return outfile;
  }
  if (kind.startsWith('rollup')) {
    const bundle = await rollup({
      input: join(dir, `${main}.mjs`),
      plugins: [nodeResolve({ preferBuiltins: true })],
      external: (id) => id.startsWith('node:'),
      onLog: (level, log: RollupLog) => {
        if (level === 'warn') bundlerWarnings.push(`${kind}: ${log.code ?? ''} ${log.message}`);
      },
    });
    try {
      await bundle.write({ dir: outDir, format, entryFileNames: `main.${ext}`, chunkFileNames: `[name]-[hash].${ext}` });
    } finally {
      await bundle.close();
    }
    return outfile;
  }
  const config: Configuration = {
    mode: 'production',
    target: 'node',
    devtool: false,
    entry: join(dir, `${main}.mjs`),
    optimization: { minimize: false },
    output:
      format === 'cjs'
        ? { path: outDir, filename: `main.${ext}`, chunkFilename: `[name].${ext}` }
        : { path: outDir, filename: `main.${ext}`, chunkFilename: `[name].${ext}`, module: true, chunkFormat: 'module' },
    ...(format === 'esm' ? { experiments: { outputModule: true } } : {}),
  };
  const stats = await new Promise<import('webpack').Stats>((resolveBuild, reject) =>
    webpack(config, (error, result) => (error || !result ? reject(error ?? new Error(`${kind}: webpack gave no stats`)) : resolveBuild(result))),
  );
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  if (stats.hasErrors()) throw new Error(`${kind}: webpack failed:\n${(info.errors ?? []).map((e) => e.message).join('\n')}`);
  bundlerWarnings.push(...(info.warnings ?? []).map((w) => `${kind}: ${w.message}`));
  return outfile;
}

/** The fake `node-mac-permissions` in `<dir>/node_modules`, where an app keeps its native modules. */
function installFakeMacPermissions(dir: string): void {
  const pkg = join(dir, 'node_modules', 'node-mac-permissions');
  mkdirSync(pkg, { recursive: true });
  installFakeNative(pkg, { statuses: { microphone: 'authorized' }, microphone: 'authorized' });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'node-mac-permissions', version: '2.5.0', main: 'fake-native.cjs' }));
}

beforeAll(async () => {
  project = await createConsumerProject('cjs');
  scratch.push(project.dir);
  // The host mains as TypeScript (the embedding as the docs quote it) and as JavaScript for rollup and
  // webpack (what an app's TypeScript step hands them).
  const sources: Record<HostMain, string> = { 'node-main': readFileSync(join(REPO_ROOT, 'docs', 'examples', 'node-main.ts'), 'utf8'), 'mac-probe': MAC_PROBE };
  for (const [main, source] of Object.entries(sources)) {
    writeFileSync(join(project.dir, `${main}.ts`), source);
    writeFileSync(join(project.dir, `${main}.mjs`), (await transform(source, { loader: 'ts', format: 'esm' })).code);
  }
  for (const kind of KINDS) {
    bundles.set(`node-main:${kind}`, await bundleHost(kind, project.dir, 'node-main', scratchDir(`first-run-bundle-${kind}-`)));
    // The probe's app dir: the bundle in app/, the native package in node_modules/ beside it.
    const appRoot = scratchDir(`first-run-mac-probe-${kind}-`);
    installFakeMacPermissions(appRoot);
    bundles.set(`mac-probe:${kind}`, await bundleHost(kind, project.dir, 'mac-probe', join(appRoot, 'app')));
  }
}, SLOW);

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function bundleOf(kind: BundleKind, main: HostMain = 'node-main'): string {
  const file = bundles.get(`${main}:${kind}`);
  if (!file) throw new Error(`the ${main} ${kind} bundle was not built (see beforeAll)`);
  return file;
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
  it('should bundle with no warning from esbuild, rollup or webpack, and leave nothing to load from node_modules', () => {
    expect(bundlerWarnings).toEqual([]);
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

describe('the optional native package beside a bundled host main (HE-4)', () => {
  it.concurrent.each(KINDS)(
    'should load node-mac-permissions from the node_modules beside the %s bundle, on the main thread and in a worker',
    async (kind) => {
      const main = bundleOf(kind, 'mac-probe');
      const appRoot = join(main, '..', '..');
      const result = await runCommand(process.execPath, [main], appRoot);
      expect(result.code, explain(result)).toBe(0);
      const native = join(appRoot, 'node_modules', 'node-mac-permissions', 'fake-native.cjs');
      expect(JSON.parse(result.stdout)).toEqual({ modulePath: native, status: 'granted', activation: 'settled', value: 'authorized' });
      const calls = readFileSync(join(native, '..', 'fake-native.calls.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { fn: string; mainThread: boolean });
      expect(calls.map((call) => [call.fn, call.mainThread])).toEqual([
        ['getAuthStatus', true],
        ['askForMicrophoneAccess', false],
      ]);
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

  it.concurrent.each(['esbuild-cjs', 'rollup-cjs', 'webpack-cjs'] as const)(
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
