import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The adopter fixture runs from an installed package, in its own project (test/testing/adopter-fixture.test.ts).
    exclude: ['**/node_modules/**', 'test/package/adopter/**'],
    // The CLI processes the tests start keep their V8 code cache here, not in the developer's ~/.cache
    // (each checkout is its own installation there, and nothing would ever remove its caches).
    env: { FIRST_RUN_CODE_CACHE_DIR: join(tmpdir(), `first-run-test-code-cache-${userInfo().uid}`) },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // At least two test files at once. The slowest files (test/process, test/package, the MBT) mostly wait
    // on child processes and configured timeouts, not on the CPU, and every bound in them is on work, not
    // wall time; vitest's default (cores - 1) would run them one by one on a 2-core machine, which alone
    // took the suite past 5 minutes there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
