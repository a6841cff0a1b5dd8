#!/usr/bin/env node
/**
 * Bundle the compiled CLI (`dist/src/cli/main.js` and everything it imports, lazily or not) into
 * `dist/cli-bundle/`, which `bin/first-run.js` prefers when it is at least as new as `dist/src/cli/main.js`.
 * Run by `npm run build` (as `postbuild`) and by `npm run bench`.
 *
 * Why: a warm launch spends most of its time resolving and compiling ~90 ES modules (ours and xstate's);
 * one bundle with code splitting loads the launch path as a handful of files. See docs/performance.md.
 *
 * What stays the same as the unbundled `dist/`:
 * - Every lazy `import()` stays lazy (code splitting: one chunk per split point), so `status` still loads
 *   no machines and `--inspect` code loads only with `--inspect`.
 * - Each of our modules exists once (no mixing of bundled and unbundled copies: `instanceof` on our
 *   error classes keeps working).
 * - `import.meta.url` in our modules still names the module's own file in `dist/` (rewritten below), so
 *   `package.json`, `bin/first-run.js` and `createRequire` resolve exactly as before.
 * - write-file-atomic is bundled; xstate is not (the published package must not carry a second copy of
 *   it: the app's own copy in node_modules is the one loaded). The `signal-exit`
 *   pin of `src/ledger/write-atomic.ts` looks write-file-atomic's copy up with `createRequire`, which in a
 *   bundle would find the copy in node_modules, not the bundled one: that one lookup is rewritten to the
 *   bundled copy (`pinBundledSignalExit`). If the source no longer matches, write-file-atomic is left
 *   external instead (slower, same behaviour). Native `node-mac-permissions` and `@statelyai/inspect`
 *   (only with `--inspect`) stay external.
 *
 * Opt out at run time with `FIRST_RUN_NO_BUNDLE=1`.
 */
import { build } from 'esbuild';
import { readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'src', 'cli', 'main.js');
const outdir = path.join(dist, 'cli-bundle');

const missing = [];
// xstate stays external: the published package must not carry a second copy of it (issue 11).
const EXTERNAL = ['xstate', 'node-mac-permissions', '@statelyai/inspect', 'playwright-core', 'proper-lockfile'];

const writeAtomicJs = path.join(dist, 'src', 'ledger', 'write-atomic.js');
const PIN_LOOKUP = /const fromWfa = createRequire\(createRequire\(import\.meta\.url\)\.resolve\('write-file-atomic'\)\);\s*const signalExit = fromWfa\('signal-exit'\);/;
const PIN_MODULE = 'first-run-bundle:write-file-atomic-signal-exit';

/** Point the pin at the bundled write-file-atomic's own `signal-exit` (the module its `require` gets). */
const pinBundledSignalExit = {
  name: 'pin-bundled-signal-exit',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${PIN_MODULE}$`) }, async () => {
      const wfa = await b.resolve('write-file-atomic', { kind: 'require-call', resolveDir: root });
      const signalExit = await b.resolve('signal-exit', { kind: 'require-call', resolveDir: path.dirname(wfa.path) });
      if (signalExit.errors.length > 0) return { errors: signalExit.errors };
      return { path: signalExit.path };
    });
  },
};

function rewritePin(source) {
  return `import * as __wfaSignalExit from ${JSON.stringify(PIN_MODULE)};\n${source.replace(PIN_LOOKUP, 'const signalExit = __wfaSignalExit;')}`;
}

/** Rewrite `import.meta.url` in each of our dist modules to that module's own URL. */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    // A relative import whose target is not in dist/ (not built yet) stays a runtime import of the same
    // file, so using it fails exactly as it would unbundled — and bundling does not fail.
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(dist + path.sep)) return undefined;
      const target = path.resolve(path.dirname(args.importer), args.path);
      if (existsSync(target)) return undefined;
      missing.push(path.relative(root, target));
      return { path: `./${path.relative(outdir, target).split(path.sep).join('/')}`, external: true };
    });
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) {
        // Bundled CommonJS that reads `__filename`/`__dirname` (write-file-atomic seeds its temp names with
        // it) gets the values it has unbundled: its own file in node_modules.
        const source = await readFile(args.path, 'utf8');
        if (!/\b__(file|dir)name\b/.test(source)) return undefined;
        const relative = path.relative(outdir, args.path).split(path.sep).join('/');
        const header =
          `var __filename = require('node:url').fileURLToPath(new URL(${JSON.stringify(relative)}, __bundleModuleUrl));\n` +
          `var __dirname = require('node:path').dirname(__filename);\n`;
        return { contents: header + source, loader: 'js' };
      }
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      let source = await readFile(args.path, 'utf8');
      if (args.path === writeAtomicJs && PIN_LOOKUP.test(source)) source = rewritePin(source);
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      // Every output file sits directly in `outdir`, so a path relative to it is the same from any chunk.
      const relative = path.relative(outdir, args.path).split(path.sep).join('/');
      const replaced = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`);
      return { contents: replaced, loader: 'js' };
    });
  },
};

export async function bundleCli({ quiet = false } = {}) {
  if (!existsSync(entry)) throw new Error(`${path.relative(root, entry)} is missing: run \`npm run build\` (tsc) first.`);
  const pinMatches = PIN_LOOKUP.test(await readFile(writeAtomicJs, 'utf8').catch(() => ''));
  if (!pinMatches) console.warn('bundle-cli: the signal-exit pin in dist/src/ledger/write-atomic.js changed; write-file-atomic stays external.');
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: { main: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: pinMatches ? EXTERNAL : [...EXTERNAL, 'write-file-atomic'],
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
    plugins: [pinBundledSignalExit, keepModuleUrls],
    // Bundled CommonJS (write-file-atomic, signal-exit) calls `require` for Node built-ins.
    banner: {
      js: "// Generated by bench/bundle-cli.mjs from dist/ — do not edit.\nimport { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);\nconst __bundleModuleUrl = import.meta.url;",
    },
  });
  const outputs = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js'));
  await writeFile(path.join(outdir, 'package.json'), '{ "type": "module" }\n');
  if (missing.length > 0) console.warn(`bundle-cli: not in dist/, left as runtime imports: ${[...new Set(missing)].join(', ')}`);
  if (!quiet) console.log(`bundled ${path.relative(root, entry)} → ${path.relative(root, outdir)}/ (${outputs.length} files)`);
  return { outdir, outputs };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleCli({ quiet: process.argv.includes('--quiet') }).catch((error) => {
    console.error(`bundle-cli: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
