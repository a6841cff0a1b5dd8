#!/usr/bin/env node
/**
 * `prestart`: build only when `dist/` is older than what it is built from, so `npm start` runs the demo
 * at once on a built checkout (a build takes ~30 s on two cores) and still builds on a fresh clone, or
 * after any edit, pull or checkout of a source.
 *
 * Stale when any build output is missing, or when the oldest output is older than the newest input:
 * - outputs: the last file each step of `npm run build` writes — `dist/src/cli/main.js` (tsc),
 *   `dist/cjs/index.cjs` (scripts/build-cjs.mjs), `dist/cli-bundle/first-run.cjs` (the `postbuild`
 *   bundle). A build that failed half-way leaves a later step's output older, so it runs again.
 * - inputs: every file under `machines/` and `src/`, the tsconfigs, `package.json`, `package-lock.json`
 *   (a changed dependency changes the bundles) and the two build scripts.
 * Modification times, not contents: git gives a file it checks out the current time, so switching
 * branches or pulling rebuilds. (A file restored with an old mtime — `cp -p`, `touch -d` — is not seen:
 * `npm run build` forces a build.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `npm run build` writes last in each of its steps (relative to the package root). */
export const BUILD_OUTPUTS = ['dist/src/cli/main.js', 'dist/cjs/index.cjs', 'dist/cli-bundle/first-run.cjs'];
/** What the build reads: directories (walked) and files (relative to the package root). */
export const BUILD_INPUTS = ['machines', 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json', 'scripts/build-cjs.mjs', 'bench/bundle-cli.mjs'];

/** The newest file under `entry` (a file or a directory, walked): `{ file, mtimeMs }`, or `null` when there is none. */
function newestUnder(entry) {
  let stats;
  try {
    stats = statSync(entry);
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
  if (!stats.isDirectory()) return { file: entry, mtimeMs: stats.mtimeMs };
  let newest = null;
  for (const name of readdirSync(entry)) {
    const found = newestUnder(path.join(entry, name));
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

/**
 * Why `root` needs a build, in words, or `null` when `dist/` is up to date.
 * @param {string} root the package root
 * @returns {string | null}
 */
export function staleReason(root) {
  let oldest = null;
  for (const output of BUILD_OUTPUTS) {
    let mtimeMs;
    try {
      mtimeMs = statSync(path.join(root, output)).mtimeMs;
    } catch (error) {
      if (error.code === 'ENOENT') return `${output} is missing`;
      throw error;
    }
    if (!oldest || mtimeMs < oldest.mtimeMs) oldest = { file: output, mtimeMs };
  }
  for (const input of BUILD_INPUTS) {
    const newest = newestUnder(path.join(root, input));
    if (newest && newest.mtimeMs > oldest.mtimeMs) return `${path.relative(root, newest.file)} is newer than ${oldest.file}`;
  }
  return null;
}

function main() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const reason = staleReason(root);
  if (reason === null) {
    console.error('prestart: dist/ is up to date (newer than every source); not rebuilding (`npm run build` forces it)');
    return 0;
  }
  console.error(`prestart: building (${reason})`);
  // The npm that runs this script, else the one on the PATH.
  const npm = process.env.npm_execpath;
  const built = npm
    ? spawnSync(process.execPath, [npm, 'run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (built.error) throw built.error;
  return built.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
