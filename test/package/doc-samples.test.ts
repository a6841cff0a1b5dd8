/**
 * Every sample of the shipped docs, as an app team pastes it (issue 21): the code blocks of README.md and
 * docs/*.md (test/docs/doc-blocks.ts says how a block is marked) and the complete examples of
 * docs/examples/, compiled in a fresh project where the packed tarball is installed (test/package/packed.ts)
 * together with Electron 33's own type declarations — `electron@33` installed with `--ignore-scripts`, so
 * its postinstall never downloads the binary (only the npm registry is reachable in CI). Then:
 * - every `runnable` and `compile` block and both examples compile, strictly, under `module: node16`
 *   and `nodenext` (the Electron example also as a CommonJS `.cts`) and `moduleResolution: bundler`;
 * - every `runnable` block runs, in an empty temp dir as its working directory, and exits 0 — a block that
 *   imports `vitest` is a test file: `vitest run` runs it, with vitest's defaults (timeouts included);
 * - every `excerpt` begins with a comment saying so;
 * - a TypeScript project on `module: commonjs` + `moduleResolution: node` (node10) finds the declarations
 *   of the main entry and of every subpath (package.json `typesVersions`);
 * - a CommonJS file compiled under `module: node16` keeps `await import()` of a subpath as an `import()`,
 *   which loads the ES-module subpaths where `require()` of ES modules does not exist (Node 20.18,
 *   Electron 33 and 34) — what README.md advises.
 * A compiler diagnostic is reported at its line in the markdown file.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCode, JS_LANGS, markerProblem, readDocBlocks, shippedDocs, type DocBlock } from '../docs/doc-blocks.js';
import { consumerEnv, createConsumerProject, installedVersion, REPO_ROOT, runCommand, type CommandResult, type ConsumerProject, explain } from './packed.js';

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Electron 33 (Node 20.18): the oldest Electron the package supports (README, "Supported versions"). */
const ELECTRON_TYPES = '33.4.11';
/** An install with Electron's types, several compilations and the runnable samples. */
const SLOW = 240_000;
/** Every subpath export (package.json `exports`), each with one of its values. */
const SUBPATH_IMPORTS = [
  "import { runFirstRun } from 'first-run-orchestrator';",
  "import type { machines } from 'first-run-orchestrator/machines';",
  "import type { createInspectionHooks } from 'first-run-orchestrator/inspect';",
  "import type { generateStatecharts } from 'first-run-orchestrator/statecharts';",
  "import type { createDevRestarter } from 'first-run-orchestrator/dev';",
  "import type { relaunchGateShortestPaths } from 'first-run-orchestrator/testing';",
];

const blocks: DocBlock[] = shippedDocs(REPO_ROOT).flatMap((file) => readDocBlocks(REPO_ROOT, file));
const codeBlocks = blocks.filter(isCode);
const compiled = codeBlocks.filter((b) => b.marker === 'runnable' || b.marker === 'compile');
let project: ConsumerProject | undefined;

/** The file a block is written to in the project: its doc and line in the name (`README.md_L88.ts`). */
function sampleFile(block: DocBlock): string {
  // A test file is named as vitest's default `include` wants it.
  const test = /from ['"]vitest['"]/.test(block.body) ? '.test' : '';
  const ext = block.lang === 'cts' ? 'cts' : block.lang === 'mts' ? 'mts' : JS_LANGS.has(block.lang) ? (block.lang === 'cjs' ? 'cjs' : 'mjs') : 'ts';
  return `${block.file.replace(/\//g, '__')}_L${block.line}${test}.${ext}`;
}

/** `samples/docs__inspect.md_L12.ts(3,7): error …` → `docs/inspect.md:15:7 (the block at line 12): error …`. */
function toDocLines(output: string): string {
  return output.replace(/samples\/([\w.-]+?)_L(\d+)(?:\.test)?\.[cm]?ts\((\d+),(\d+)\)/g, (_all, name: string, fence: string, row: string, col: string) => {
    return `${name.replace(/__/g, '/')}:${Number(fence) + Number(row)}:${col} (the block at line ${fence})`;
  });
}

function tsconfig(name: string, compilerOptions: Record<string, unknown>, include: string[]): string {
  writeFileSync(join(project!.dir, name), `${JSON.stringify({ extends: './tsconfig.json', compilerOptions, include }, null, 2)}\n`);
  return name;
}

async function tsc(config: string, extra: string[] = []): Promise<CommandResult> {
  const result = await project!.run('node', [TSC, '-p', config, ...extra]);
  return { ...result, stdout: toDocLines(result.stdout) };
}

/**
 * How a runnable block runs: a test file (it imports `vitest`) by `vitest run` in the project, with
 * vitest's defaults; any other program by `node`, compiled, in `cwd`.
 */
function runnerOf(block: DocBlock, cwd: string): [string, string[], string] {
  const { dir } = project!;
  if (/from ['"]vitest['"]/.test(block.body)) {
    return ['node', [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir, '--dir', 'samples', join('samples', sampleFile(block))], dir];
  }
  const file = sampleFile(block);
  const emitted = JS_LANGS.has(block.lang) ? join(dir, 'samples', file) : join(dir, 'out', 'samples', file.replace(/\.ts$/, '.js').replace(/\.cts$/, '.cjs').replace(/\.mts$/, '.mjs'));
  return ['node', [emitted], cwd];
}

beforeAll(async () => {
  // With the optional peer `@statelyai/inspect`, which docs/inspect.md tells its readers to install, and
  // vitest, which the test samples (docs/testing.md) use.
  const devDependencies = { electron: ELECTRON_TYPES, '@statelyai/inspect': installedVersion('@statelyai/inspect'), vitest: installedVersion('vitest') };
  project = await createConsumerProject('ts-node16', { devDependencies, ignoreScripts: true });
  const { dir } = project;
  mkdirSync(join(dir, 'samples'));
  mkdirSync(join(dir, 'examples'));
  for (const block of compiled) writeFileSync(join(dir, 'samples', sampleFile(block)), `${block.body}\n`);
  for (const file of ['electron-main.ts', 'node-main.ts']) copyFileSync(join(REPO_ROOT, 'docs', 'examples', file), join(dir, 'examples', file));
  // The Electron main process as most apps have it: CommonJS (a .cts file: `require` conditions).
  copyFileSync(join(REPO_ROOT, 'docs', 'examples', 'electron-main.ts'), join(dir, 'examples', 'electron-main-cjs.cts'));
}, SLOW);

afterAll(() => {
  if (project) rmSync(project.dir, { recursive: true, force: true });
});

describe('the code blocks of README.md and docs/*.md', () => {
  it('should each say what they are (runnable, compile, excerpt), an excerpt in its first line', () => {
    expect(codeBlocks.length).toBeGreaterThan(20);
    const problems = codeBlocks.map(markerProblem);
    expect(problems.filter((p) => p !== null)).toEqual([]);
  });

  it('should have runnable blocks and blocks that only compile', () => {
    expect(compiled.filter((b) => b.marker === 'runnable').length).toBeGreaterThan(0);
    expect(compiled.filter((b) => b.marker === 'compile').length).toBeGreaterThan(0);
  });
});

describe('the samples and examples against the installed package and the real Electron 33 types', () => {
  const tsSamples = (): string[] => compiled.filter((b) => !JS_LANGS.has(b.lang)).map((b) => `samples/${sampleFile(b)}`);

  it(
    'should use Electron’s own declarations, installed without the binary',
    () => {
      const installed = JSON.parse(readFileSync(join(project!.dir, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string; types: string };
      expect(installed).toMatchObject({ version: ELECTRON_TYPES, types: 'electron.d.ts' });
      // The postinstall did not run: no `path.txt`, no `dist/` with the binary.
      expect(() => readFileSync(join(project!.dir, 'node_modules', 'electron', 'path.txt'))).toThrow(/ENOENT/);
    },
    SLOW,
  );

  it(
    'should compile every runnable and compile block and both examples under module node16 (emitting them) and nodenext',
    async () => {
      const config = tsconfig('tsconfig.samples.json', { outDir: 'out', rootDir: '.' }, [...tsSamples(), 'examples']);
      const node16 = await tsc(config);
      expect(node16.code, explain(node16)).toBe(0);
      const nodenext = await tsc(config, ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext']);
      expect(nodenext.code, explain(nodenext)).toBe(0);
    },
    SLOW,
  );

  it(
    'should compile them under moduleResolution bundler',
    async () => {
      const config = tsconfig('tsconfig.samples-bundler.json', { module: 'preserve', moduleResolution: 'bundler', noEmit: true }, [...tsSamples(), 'examples/electron-main.ts', 'examples/node-main.ts']);
      const result = await tsc(config);
      expect(result.code, explain(result)).toBe(0);
    },
    SLOW,
  );

  it(
    'should check the JavaScript blocks’ syntax with node --check',
    async () => {
      const js = compiled.filter((b) => JS_LANGS.has(b.lang));
      const failures: string[] = [];
      for (const block of js) {
        const result = await project!.run('node', ['--check', join('samples', sampleFile(block))]);
        if (result.code !== 0) failures.push(`${block.file}:${block.line}: ${result.stderr}`);
      }
      expect(failures).toEqual([]);
    },
    SLOW,
  );

  it(
    'should run every runnable block to exit 0, each in an empty working directory',
    async () => {
      const runnable = compiled.filter((b) => b.marker === 'runnable');
      const failures: string[] = [];
      for (const block of runnable) {
        const cwd = mkdtempSync(join(tmpdir(), 'first-run-doc-sample-'));
        try {
          const [cmd, args, where] = runnerOf(block, cwd);
          const result = await runCommand(cmd, args, where, consumerEnv());
          if (result.code !== 0) failures.push(`${block.file}:${block.line}: ${explain(result)}`);
        } finally {
          rmSync(cwd, { recursive: true, force: true });
        }
      }
      expect(failures).toEqual([]);
    },
    SLOW,
  );
});

describe('older TypeScript settings and CommonJS hosts', () => {
  it(
    'should find the declarations of the main entry and every subpath under module commonjs + moduleResolution node (node10)',
    async () => {
      mkdirSync(join(project!.dir, 'node10'), { recursive: true });
      writeFileSync(join(project!.dir, 'node10', 'subpaths.ts'), `${SUBPATH_IMPORTS.join('\n')}\nexport const used = [typeof runFirstRun];\nexport type Used = [typeof machines, typeof createInspectionHooks, typeof generateStatecharts, typeof createDevRestarter, typeof relaunchGateShortestPaths];\n`);
      const config = tsconfig('tsconfig.node10.json', { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '5.0', noEmit: true }, ['node10']);
      const result = await tsc(config);
      expect(result.code, explain(result)).toBe(0);
    },
    SLOW,
  );

  it(
    'should load a subpath from CommonJS with import() compiled under module node16, where require() of ES modules does not exist',
    async () => {
      const { dir } = project!;
      mkdirSync(join(dir, 'cjs'), { recursive: true });
      writeFileSync(
        join(dir, 'cjs', 'load-subpath.cts'),
        [
          "const main = require('first-run-orchestrator') as typeof import('first-run-orchestrator');",
          'async function load(): Promise<void> {',
          "  const { machines } = await import('first-run-orchestrator/machines');",
          '  console.log(JSON.stringify({ main: typeof main.runFirstRun, orchestrator: typeof machines.orchestrator }));',
          '}',
          'load().catch((error: unknown) => { console.error(error); process.exitCode = 1; });',
          '',
        ].join('\n'),
      );
      const config = tsconfig('tsconfig.cjs.json', { outDir: 'out-cjs', rootDir: 'cjs' }, ['cjs']);
      const compiledCjs = await tsc(config);
      expect(compiledCjs.code, explain(compiledCjs)).toBe(0);
      expect(readFileSync(join(dir, 'out-cjs', 'load-subpath.cjs'), 'utf8')).toContain("import('first-run-orchestrator/machines')");
      // As on Node 20.18 (Electron 33, 34): no require() of ES modules, where the flag exists to say so.
      const noRequireEsm = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : [];
      const result = await project!.run('node', [...noRequireEsm, join('out-cjs', 'load-subpath.cjs')]);
      expect(result.code, explain(result)).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ main: 'function', orchestrator: 'object' });
    },
    SLOW,
  );
});
