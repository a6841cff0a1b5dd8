import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The adopter fixture runs from an installed package, in its own project (test/testing/adopter-fixture.test.ts).
    exclude: ['**/node_modules/**', 'test/package/adopter/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
