/**
 * The adopter fixture (test/package/adopter/adopter.mbt.test.ts) works from outside: it runs with
 * vitest in a temp project whose node_modules has `first-run-orchestrator` as a link to this package
 * (its built dist/, resolved through package.json's `exports`) — only the public `./testing` and
 * `./machines` entries can be reached. (CI also runs it from the packed tarball: test/package/.)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/inspect/package-root.js';

const ROOT = packageRoot();
const FIXTURE = join(ROOT, 'test', 'package', 'adopter', 'adopter.mbt.test.ts');
const project = mkdtempSync(join(tmpdir(), 'first-run-adopter-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('adopter fixture, run from outside the package', () => {
  it('should generate and replay paths for a custom configuration, and catch a sabotaged machine', { timeout: 240_000 }, () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'testing', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first.');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(ROOT, join(project, 'node_modules', 'first-run-orchestrator'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'), 'dir');
    copyFileSync(FIXTURE, join(project, 'adopter.mbt.test.ts'));

    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const child = spawnSync(process.execPath, [vitest, 'run', '--root', project, '--reporter', 'verbose', '--testTimeout', '200000'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 230_000,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const output = `${child.stdout}\n${child.stderr}`;
    const counts = output.split('\n').filter((line) => /paths, \d+ replays|^sabotaged:/.test(line.trim()));
    console.log(counts.join('\n'));
    expect(child.status, output).toBe(0);
    expect(output).toMatch(/Tests\s+4 passed/);
    expect(output).toMatch(/adopter total: \d+ paths, \d+ replays, 0 failures/);
  });
});
