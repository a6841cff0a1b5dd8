/**
 * The package as an app team installs it (issue 11): `npm pack` of this checkout installed from the
 * tarball into fresh projects (test/package/packed.ts), then
 * - ESM `import` and CommonJS `require()` of the runtime entry, and the tooling subpaths;
 * - `npx first-run --version` and `npx first-run demo` (one real relaunch, COMPLETED) from the install;
 * - the plain-Node embedding example type-checks against the installed types under `module: node16` and
 *   `nodenext` and `bundler`, as strictly as an app may be (the Electron example, with Electron's own
 *   types, and every sample of the docs: doc-samples.test.ts);
 * - the plain-Node embedding (docs/examples/node-main.ts), compiled in the consumer, runs through one
 *   real relaunch to COMPLETED, leaving its state dir 0700 and every file in it 0600.
 *
 * Everything runs from the consumer's `node_modules`, never from this checkout: a file missing from
 * the tarball, an export not exported, a declaration that does not resolve fails here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DB } from '../../src/cli/commands/demo.js';
import { consumerEnv, createConsumerProject, REPO_ROOT, type CommandResult, type ConsumerProject, explain } from './packed.js';

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const EXAMPLES = join(REPO_ROOT, 'docs', 'examples');
/** Installs, a demo with a relaunch and three compilations: bounded by what each command may take. */
const SLOW = 240_000;

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const projects: Partial<Record<'esm' | 'cjs' | 'node16' | 'bundler', ConsumerProject>> = {};
const scratch: string[] = [];

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function project(name: keyof typeof projects): ConsumerProject {
  const found = projects[name];
  if (!found) throw new Error(`the ${name} consumer project was not installed (see beforeAll)`);
  return found;
}

beforeAll(async () => {
  const [esm, cjs, node16, bundler] = await Promise.all([
    createConsumerProject('esm'),
    createConsumerProject('cjs'),
    createConsumerProject('ts-node16'),
    createConsumerProject('ts-bundler'),
  ]);
  Object.assign(projects, { esm, cjs, node16, bundler });
  scratch.push(esm.dir, cjs.dir, node16.dir, bundler.dir);
}, SLOW);

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('the installed package, imported', () => {
  it('should import the runtime entry and every subpath as ES modules', async () => {
    const script = `
      import * as main from 'first-run-orchestrator';
      import { machines } from 'first-run-orchestrator/machines';
      import { relaunchGateShortestPaths } from 'first-run-orchestrator/testing';
      import { generateStatecharts } from 'first-run-orchestrator/statecharts';
      import { createDevRestarter } from 'first-run-orchestrator/dev';
      const checks = [typeof main.runFirstRun, typeof main.readSuccessorInfo, typeof main.createMacBackend, typeof machines.orchestrator, typeof relaunchGateShortestPaths, typeof generateStatecharts, typeof createDevRestarter];
      console.log(JSON.stringify({ checks, tooling: 'createInspectionHooks' in main || 'createDevRestarter' in main }));`;
    const result = await project('esm').run('node', ['--input-type=module', '-e', script]);
    expect(result.code, explain(result)).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ checks: Array(7).fill('function').map((t, i) => (i === 3 ? 'object' : t)), tooling: false });
  });

  it('should require() the runtime entry as CommonJS without require(esm), with xstate from node_modules', async () => {
    const script = `
      const main = require('first-run-orchestrator');
      const resolved = require.resolve('first-run-orchestrator');
      const error = new main.ConfigError('/x.json', [{ path: 'a', message: 'b' }]);
      const xstate = Object.keys(require.cache).filter((f) => f.includes('/node_modules/xstate/'));
      console.log(JSON.stringify({
        resolved: resolved.slice(resolved.indexOf('node_modules/')),
        runFirstRun: typeof main.runFirstRun,
        readSuccessorInfo: main.readSuccessorInfo(['node', 'app', '--successor-of', '42', '--handoff-token', 'a'.repeat(32)]) ?? null,
        errorCode: error instanceof main.FirstRunError ? error.code : null,
        xstateFromNodeModules: xstate.length > 0,
      }));`;
    // As on Node 20.17/20.18 (Electron 33, 34): no require() of ES modules, where the flag exists to say so.
    const noRequireEsm = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : [];
    const result = await project('cjs').run('node', [...noRequireEsm, '-e', script]);
    expect(result.code, explain(result)).toBe(0);
    expect(result.stderr).not.toMatch(/ExperimentalWarning/);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ resolved: 'node_modules/first-run-orchestrator/dist/cjs/index.cjs', runFirstRun: 'function', errorCode: 'ERR_CONFIG', xstateFromNodeModules: true });
  });
});

describe('the installed CLI', () => {
  it('should print the version with npx first-run --version', async () => {
    const result = await project('esm').run('npx', ['--no-install', 'first-run', '--version']);
    expect(result.code, explain(result)).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('should run the installed CLI from its bundle and keep a V8 code cache (the fast path is not for checkouts only)', () => {
    // npm extracts the bundle before dist/src/cli/main.js, so an mtime check would never pick it here.
    const { dir } = project('esm');
    const cache = mkdtempSync(join(tmpdir(), 'fr-consumer-code-cache-'));
    scratch.push(cache);
    const result = spawnSync(process.execPath, [join(dir, 'node_modules', '.bin', 'first-run'), 'status', '--state-dir', join(cache, 'no-state'), '--json'], {
      cwd: dir,
      env: consumerEnv({ FIRST_RUN_CODE_CACHE_DIR: cache }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(cache).filter((name) => name.endsWith('-other.bin'))).toHaveLength(1);
  });

  it('should write npx first-run statecharts to ./statecharts of the working directory, never into node_modules', async () => {
    const { dir, run } = project('esm');
    const installed = join(dir, 'node_modules', 'first-run-orchestrator', 'statecharts');
    const before = readdirSync(installed).map((name) => [name, statSync(join(installed, name)).mtimeMs]);
    const result = await run('npx', ['--no-install', 'first-run', 'statecharts']);
    expect(result.code, explain(result)).toBe(0);
    expect(readdirSync(join(dir, 'statecharts'))).toEqual(expect.arrayContaining(['orchestrator.svg', 'index.md']));
    expect(readdirSync(installed).map((name) => [name, statSync(join(installed, name)).mtimeMs])).toEqual(before);
    const check = await run('npx', ['--no-install', 'first-run', 'statecharts', '--check']);
    expect(check.code, explain(check)).toBe(0);
  });

  it('should serve the offline viewer page shipped in the package (first-run inspect)', async () => {
    const { dir } = project('esm');
    const child = spawn(process.execPath, [join(dir, 'node_modules', '.bin', 'first-run'), 'inspect', '--port', '0', '--json'], { cwd: dir, env: consumerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolveLine, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolveLine(out.slice(0, out.indexOf('\n')));
        });
        child.on('exit', (code) => reject(new Error(`first-run inspect exited with ${code} before printing its URL`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>first-run · live viewer</title>');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });

  it(
    'should run npx first-run demo to COMPLETED with one relaunch, and remove its temp dir',
    async () => {
      const result = await project('esm').run('npx', ['--no-install', 'first-run', 'demo', '--json']);
      expect(result.code, explain(result)).toBe(0);
      const summary = jsonLines(result.stdout).at(-1)!;
      expect(summary).toMatchObject({ phase: 'COMPLETED', restart_count: 1, restarts_executed: 1, kept: false });
      expect((summary.processes as number[]).length).toBe(2);
      expect(statSync(summary.state_dir as string, { throwIfNoEntry: false })).toBeUndefined();
    },
    SLOW,
  );
});

describe('the embedding examples against the installed types', () => {
  // The Electron example needs Electron's own declarations: test/package/doc-samples.test.ts installs them
  // and checks it (as ESM and as CommonJS) with every sample of the docs.
  function copyExamples(dir: string): void {
    copyFileSync(join(EXAMPLES, 'node-main.ts'), join(dir, 'node-main.ts'));
  }

  it(
    'should type-check under module node16 and nodenext, with no diagnostics',
    async () => {
      const { dir, run } = project('node16');
      copyExamples(dir);
      const nodenext = await run('node', [TSC, '-p', '.', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext']);
      expect(nodenext.code, explain(nodenext)).toBe(0);
      const node16 = await run('node', [TSC, '-p', '.']); // emits out/, run by the next test
      expect(node16.code, explain(node16)).toBe(0);
    },
    SLOW,
  );

  it(
    'should type-check under moduleResolution bundler, every declaration file included, with no diagnostics',
    async () => {
      const { dir, run } = project('bundler');
      copyExamples(dir);
      const result = await run('node', [TSC, '-p', '.']);
      expect(result.code, explain(result)).toBe(0);
    },
    SLOW,
  );

  it(
    'should run the plain-Node embedding through one real relaunch to COMPLETED, state dir 0700 and files 0600',
    async () => {
      const { dir, run } = project('node16');
      const compiled = join(dir, 'out', 'node-main.js');
      expect(statSync(compiled, { throwIfNoEntry: false })?.isFile(), 'the node16 type-check emits out/node-main.js').toBe(true);
      const work = mkdtempSync(join(tmpdir(), 'first-run-consumer-run-'));
      scratch.push(work);
      const stateDir = join(work, 'state');
      const simDb = join(work, 'tcc.json');
      const config = join(work, 'config.json');
      writeFileSync(simDb, JSON.stringify(DEMO_DB));
      // Short timeboxes: the scenario answers within 1.5 s; the hand-off is bounded by its own timeout.
      const quick = { default_step_timeout_s: 4, poll_interval_s: 0.25, confirm_interval_s: 0.3, restart: { delay_sec: 0.5, handoff_timeout_s: 10 } };
      writeFileSync(config, JSON.stringify({ integrations: { permissions_v2: quick } }));
      // The successor inherits the predecessor's stdout: the run ends when both closed it.
      const result = await run('node', [compiled, '--state-dir', stateDir, '--sim-db', simDb, '--config', config]);
      expect(result.code, explain(result)).toBe(0);
      const lines = jsonLines(result.stdout);
      expect(lines.map((l) => l.outcome), explain(result)).toEqual(['handed_off', 'completed']);
      expect(lines[1]).toMatchObject({ phase: 'COMPLETED', restart_count: 1 });
      expect(lines[1]!.pid).not.toBe(lines[0]!.pid);

      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      const loose = listFiles(stateDir).filter((file) => (statSync(file).mode & 0o077) !== 0);
      expect(loose).toEqual([]);
    },
    SLOW,
  );
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? [path, ...listFiles(path)] : [path];
  });
}
