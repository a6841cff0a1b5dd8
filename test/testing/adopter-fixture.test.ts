/**
 * The adopter example passes from the installed package (issue 12): `npm pack` of this checkout is
 * installed into a fresh ES-module project with vitest (test/package/packed.ts), and the adopter
 * fixture (test/package/adopter/adopter.mbt.test.ts) runs there with that project's vitest. It imports
 * only `first-run-orchestrator/testing` and `first-run-orchestrator/machines`, so only what the package
 * ships and exports can be reached; it generates and replays paths for a custom configuration and
 * checks that a sabotaged machine makes the same helper report failures.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsumerProject, installedVersion, REPO_ROOT, type ConsumerProject } from '../package/packed.js';

const FIXTURE = join(REPO_ROOT, 'test', 'package', 'adopter', 'adopter.mbt.test.ts');
let project: ConsumerProject | null = null;
afterAll(() => {
  if (project) rmSync(project.dir, { recursive: true, force: true });
});

describe('adopter fixture, from the installed package', () => {
  it('should generate and replay paths for a custom configuration, and catch a sabotaged machine', { timeout: 600_000 }, async () => {
    project = await createConsumerProject('esm', { devDependencies: { vitest: installedVersion('vitest') } });
    copyFileSync(FIXTURE, join(project.dir, 'adopter.mbt.test.ts'));
    const vitest = join(project.dir, 'node_modules', 'vitest', 'vitest.mjs');
    const result = await project.run(process.execPath, [vitest, 'run', '--reporter', 'verbose', '--testTimeout', '240000']);
    // vitest colours its report.
    const output = `${result.stdout}\n${result.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    console.log(output.split('\n').filter((line) => /paths, \d+ replays|^sabotaged:/.test(line.trim())).join('\n'));
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/Tests\s+4 passed/);
    expect(output).toMatch(/adopter total: \d+ paths, \d+ replays, 0 failures/);
  });
});
