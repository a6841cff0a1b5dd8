/**
 * Where the installed package lives, found from this module's URL (never the cwd): the same code runs
 * compiled from `dist/src/inspect/` and as source from `src/inspect/` (vitest), at different depths,
 * so the root is found by walking up to our own `package.json`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'first-run-orchestrator';
let cached: string | undefined;

/**
 * The absolute path of the package root (the folder holding our `package.json`).
 *
 * @throws {Error} when no ancestor folder of this module holds the package's `package.json`.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) {
        cached = dir;
        return dir;
      }
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (dirname(dir) === dir) {
      throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${start}; is the package installed whole?`);
    }
  }
}
