/**
 * Where the installed package lives, found from this module's URL (never the cwd): the same code runs
 * compiled from `dist/src/inspect/` and as source from `src/inspect/` (vitest), at different depths,
 * so the root is found by walking up to our own `package.json`. Only the tooling needs it (the CLI, the
 * viewer's page, the statecharts), never the runtime entry (SPEC HE-4): those read files shipped in the
 * package, so a copy bundled into an app (where `import.meta.url` is emptied or is the bundle's) says so.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'first-run-orchestrator';
let cached: string | undefined;

/**
 * The absolute path of the package root (the folder holding our `package.json`).
 *
 * @throws {Error} when no ancestor folder of this module holds the package's `package.json`, or this
 *   module was bundled into an app.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const url: unknown = import.meta.url;
  if (typeof url !== 'string' || !url.startsWith('file:')) {
    throw new Error(
      `Cannot find the ${PACKAGE_NAME} package root: this code was bundled (import.meta.url is ${JSON.stringify(url ?? null)}). The CLI, the viewer and the statecharts read files shipped in the package: keep ${PACKAGE_NAME} external to the bundle for them (the runtime entry itself bundles fine).`,
    );
  }
  const start = dirname(fileURLToPath(url));
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
