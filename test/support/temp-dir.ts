/**
 * Temp dirs a test file makes, removed when the file ends (`afterAll`), whatever its tests did — so the
 * suite leaves nothing in the temp dir (issue 21: thousands of `first-run-test-*` dirs). A process a
 * test left running (a detached successor) may still write there: the removal retries, and never fails
 * the file. `FIRST_RUN_KEEP_TEST_DIRS=1` keeps them, to look into a failure.
 *
 * The `afterAll` is registered when this module is first imported, which is while vitest collects the
 * test file that imports it (directly or through a helper such as `processes.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  if (process.env.FIRST_RUN_KEEP_TEST_DIRS === '1') return;
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch (error) {
      console.warn(`could not remove the test's temp dir ${dir}: ${(error as Error).message}`);
    }
  }
});

/** A new temp dir (`<tmpdir>/<prefix>XXXXXX`, 0700), removed when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
