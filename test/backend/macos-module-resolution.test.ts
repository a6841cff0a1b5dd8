/**
 * Where the macOS backend finds `node-mac-permissions` (HE-4): as a `require()` in the host's main script
 * would — from that script, then the working directory — never from this module's own URL, which a
 * bundler empties or freezes. A copy npm nested under this package's own install (the app pins another
 * version) comes first. Real processes in a temp dir, with the fake native layer as the package.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { moduleSearchBases } from '../../src/backend/macos-backend.js';
import { assertBuilt } from '../support/processes.js';
import { installFakeNative } from './fixtures/fake-native.js';

const DIST_ENTRY = pathToFileURL(resolve(import.meta.dirname, '../../dist/src/index.js')).href;
let root = '';

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = '';
});

/** A fake `node-mac-permissions` package in `<dir>/node_modules`; returns its main file. */
function fakePackage(dir: string): string {
  const pkg = join(dir, 'node_modules', 'node-mac-permissions');
  mkdirSync(pkg, { recursive: true });
  const fake = installFakeNative(pkg, { statuses: { microphone: 'authorized' } });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'node-mac-permissions', version: '2.5.0', main: 'fake-native.cjs' }));
  return fake.path;
}

/** Run a host main at `main` (ESM, importing the built package by URL) from `cwd`; returns what it printed. */
function hostMain(main: string, cwd: string, env: NodeJS.ProcessEnv = process.env): { modulePath?: string; status?: string; error?: string } {
  mkdirSync(join(main, '..'), { recursive: true });
  writeFileSync(
    main,
    `import { createMacBackend } from ${JSON.stringify(DIST_ENTRY)};
     try {
       const backend = createMacBackend({ platform: 'darwin' });
       console.log(JSON.stringify({ modulePath: backend.modulePath, status: await backend.getStatus('microphone') }));
       await backend.close();
     } catch (error) { console.log(JSON.stringify({ error: error.message })); }`,
  );
  const run = spawnSync(process.execPath, [main], { cwd, env, encoding: 'utf8', timeout: 30_000 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { modulePath?: string; status?: string; error?: string };
}

describe('moduleSearchBases', () => {
  it.each([
    [{ mainFilename: '/app/main.cjs', argv1: '/app/main.cjs', cwd: '/home/u' }, ['/app/main.cjs', '/home/u/noop.js']],
    [{ argv1: '/app/main.mjs', cwd: '/home/u' }, ['/app/main.mjs', '/home/u/noop.js']],
    // `electron .`: argv[1] is the app dir as typed, relative; a packaged app has none.
    [{ mainFilename: '/App.app/Contents/Resources/app.asar/main.js', argv1: '.', cwd: '/' }, ['/App.app/Contents/Resources/app.asar/main.js', '/noop.js']],
    // A deleted working directory: only the main script.
    [{ argv1: '/app/main.mjs', cwd: undefined }, ['/app/main.mjs']],
    [{}, []],
  ])('should search %j in the order %j', (host, bases) => {
    expect(moduleSearchBases(host)).toEqual(bases);
  });
});

describe("createMacBackend's default module (real processes)", () => {
  beforeAll(() => assertBuilt());

  it("should load the copy in the app's node_modules, next to the main script (a bundled main: no install of ours)", () => {
    root = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-'));
    const native = fakePackage(root);
    expect(hostMain(join(root, 'dist', 'main.mjs'), tmpdir())).toEqual({ modulePath: native, status: 'granted' });
  });

  it('should prefer a copy npm nested under our own install to the app\'s own version', () => {
    root = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-'));
    fakePackage(root); // the app's own, other version
    const ours = join(root, 'node_modules', 'first-run-orchestrator');
    mkdirSync(ours, { recursive: true });
    writeFileSync(join(ours, 'package.json'), JSON.stringify({ name: 'first-run-orchestrator', version: '0.1.0', exports: { './package.json': './package.json' } }));
    const nested = fakePackage(ours);
    expect(hostMain(join(root, 'main.mjs'), tmpdir())).toEqual({ modulePath: nested, status: 'granted' });
  });

  it('should fall back to the working directory when the main script has no node_modules above it', () => {
    root = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-'));
    const app = join(root, 'app');
    const native = fakePackage(app);
    const elsewhere = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-main-'));
    try {
      expect(hostMain(join(elsewhere, 'main.mjs'), app)).toEqual({ modulePath: native, status: 'granted' });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('should find it in a relaunched successor too, which starts in / with the run\'s directory handed over (HE-1)', () => {
    root = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-'));
    const app = join(root, 'app');
    const native = fakePackage(app);
    const elsewhere = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-main-'));
    try {
      // The predecessor found it from its working directory; the successor must find the same copy.
      expect(hostMain(join(elsewhere, 'main.mjs'), '/', { ...process.env, FIRST_RUN_HANDOFF_CWD: app })).toEqual({ modulePath: native, status: 'granted' });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('should name every place it looked when the package is nowhere', () => {
    root = mkdtempSync(join(tmpdir(), 'fr-mac-resolve-'));
    const main = join(root, 'main.mjs');
    const { error } = hostMain(main, root);
    expect(error).toContain(`node-mac-permissions cannot be resolved from ${main}, ${join(root, 'noop.js')}`);
    expect(error).toMatch(/npm rebuild node-mac-permissions.*`modulePath`/s);
  });
});
