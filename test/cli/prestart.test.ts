/**
 * `npm start` (`prestart`: scripts/build-if-stale.mjs) builds only when dist/ is older than its
 * sources (issue 21: it rebuilt every time, ~30 s on two cores), and still builds on a fresh clone
 * (no dist/) and after any source change. Checked on a temp tree with set modification times, and on
 * this checkout's package.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without declarations
import { BUILD_INPUTS, BUILD_OUTPUTS, staleReason } from '../../scripts/build-if-stale.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const stale = staleReason as (root: string) => string | null;

describe('prestart: build only when dist/ is stale', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A package tree: every input at `inputAt` (seconds), every output at `outputAt` (or missing). */
  function tree(inputAt: number, outputAt: number | null): string {
    const root = mkdtempSync(join(tmpdir(), 'first-run-prestart-'));
    dirs.push(root);
    const write = (file: string, at: number) => {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), '');
      utimesSync(join(root, file), at, at);
    };
    for (const file of ['src/cli/main.ts', 'src/testing/check.ts', 'machines/orchestrator.machine.ts', 'tsconfig.json', 'package.json', 'scripts/build-cjs.mjs']) write(file, inputAt);
    if (outputAt !== null) for (const file of BUILD_OUTPUTS as string[]) write(file, outputAt);
    return root;
  }

  it('should not build when every output is newer than every input', () => {
    expect(stale(tree(1_000, 2_000))).toBeNull();
  });

  it('should build on a fresh clone (no dist/) and after a half-done build', () => {
    expect(stale(tree(1_000, null))).toBe('dist/src/cli/main.js is missing');
    const root = tree(1_000, 2_000);
    rmSync(join(root, 'dist/cli-bundle/first-run.cjs'));
    expect(stale(root)).toBe('dist/cli-bundle/first-run.cjs is missing');
    utimesSync(join(root, 'dist/cjs/index.cjs'), 500, 500); // tsc ran, the CommonJS step did not
    writeFileSync(join(root, 'dist/cli-bundle/first-run.cjs'), '');
    expect(stale(root)).toMatch(/ is newer than dist\/cjs\/index\.cjs$/);
  });

  it.each(['src/cli/main.ts', 'machines/orchestrator.machine.ts', 'src/testing/new-file.ts', 'tsconfig.json', 'package.json'])('should build after %s changed', (file) => {
    const root = tree(1_000, 2_000);
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), 'changed');
    utimesSync(join(root, file), 3_000, 3_000);
    expect(stale(root)).toBe(`${file} is newer than dist/src/cli/main.js`);
  });

  it('should be what `npm start` runs first, and read what `npm run build` reads', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).toBe('node scripts/build-if-stale.mjs');
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json && node scripts/build-cjs.mjs');
    expect(pkg.scripts.postbuild).toBe('node bench/bundle-cli.mjs --quiet');
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    for (const included of tsconfig.include) expect(BUILD_INPUTS).toContain(included);
  });
});
