#!/usr/bin/env node
/**
 * `npm run bench`: make sure `dist/` (and the CLI bundle) is built, compile the benchmark (TypeScript in
 * `bench/`) into `dist/bench/`, and run it. Arguments go to the benchmark (`--json FILE`, `--quick`,
 * `--only a,b`, `--dir DIR`, `--keep-env`); see bench/main.ts.
 *
 * The benchmark imports the library from `src/` for its types; at run time those imports are pointed at
 * the compiled `dist/` files, so what is measured is the code the CLI runs, not a bundled copy of it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mainJs = path.join(root, 'dist', 'src', 'cli', 'main.js');
const bundleJs = path.join(root, 'dist', 'cli-bundle', 'first-run.cjs');

function mtime(file) {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
}

function buildDist() {
  console.error('bench: building dist/ (tsc -p tsconfig.build.json)…');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    // tsc still emits on type errors; a tree someone is editing may have some. Go on if the CLI is there.
    if (!existsSync(mainJs)) throw new Error('tsc failed and dist/src/cli/main.js was not produced; fix the build first.');
    console.error('bench: tsc reported errors (see above) but emitted dist/; measuring what was emitted.');
  }
}

async function main() {
  const sources = ['src', 'machines'].map((dir) => path.join(root, dir));
  if (!existsSync(mainJs) || !existsSync(path.join(root, 'dist', 'machines', 'relaunch-gate.machine.js'))) buildDist();
  else if (newestMtime(sources) > mtime(mainJs)) buildDist();
  if (mtime(bundleJs) < mtime(mainJs)) {
    const { bundleCli } = await import(pathToFileURL(path.join(root, 'bench', 'bundle-cli.mjs')).href);
    await bundleCli({ quiet: true });
  }

  const { build } = await import('esbuild');
  const outdir = path.join(root, 'dist', 'bench');
  const distImports = {
    name: 'dist-imports',
    setup(b) {
      // `../src/x.js` / `../machines/x.js` from a bench file → the compiled file in dist/, kept external.
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = path.resolve(path.dirname(args.importer), args.path);
        const inside = (dir) => target.startsWith(path.join(root, dir) + path.sep);
        if (!inside('src') && !inside('machines')) return undefined;
        const compiled = path.join(root, 'dist', path.relative(root, target));
        return { path: pathToFileURL(compiled).href, external: true };
      });
    },
  };
  await build({
    entryPoints: {
      main: path.join(root, 'bench', 'main.ts'),
      'lock-holder': path.join(root, 'bench', 'children', 'lock-holder.ts'),
      'lock-contender': path.join(root, 'bench', 'children', 'lock-contender.ts'),
      'rss-probe': path.join(root, 'bench', 'children', 'rss-probe.ts'),
      'fsync-probe': path.join(root, 'bench', 'children', 'fsync-probe.ts'),
      'warm-start-trace': path.join(root, 'bench', 'children', 'warm-start-trace.ts'),
    },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [distImports],
  });
  const bench = await import(pathToFileURL(path.join(outdir, 'main.js')).href);
  process.exitCode = await bench.runBench(process.argv.slice(2), { root, childDir: outdir });
}

function newestMtime(dirs) {
  let newest = -1;
  const walk = (dir) => {
    let entries;
    try {
      entries = statSync(dir).isDirectory() ? readdir(dir) : [];
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, mtime(full));
    }
  };
  for (const dir of dirs) walk(dir);
  return newest;
}

function readdir(dir) {
  return readdirSync(dir, { withFileTypes: true });
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
});
