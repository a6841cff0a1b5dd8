#!/usr/bin/env node
/**
 * Bundle the compiled CLI (`dist/src/cli/main.js` and everything it imports, lazily or not) into ONE
 * classic script, `dist/cli-bundle/first-run.cjs`, which `bin/first-run.js` compiles with a V8 code cache
 * (`vm.Script` `cachedData`) when it is at least as new as `dist/src/cli/main.js`. Run by `npm run build`
 * (as `postbuild`) and by `npm run bench`. See docs/performance.md for what each part buys.
 *
 * Why one classic script: a warm launch spent most of its time resolving, compiling and linking ES
 * modules. One file is one read; a classic script (unlike an ES module on Node 20) can be compiled from
 * a V8 code cache, so the second launch on skips parsing and compiling what the first one ran.
 *
 * What stays the same as the unbundled `dist/`:
 * - Every lazy `import()` of our own modules stays lazy in *evaluation* (esbuild wraps such modules in
 *   init functions), so `status` still runs no machine code and `--inspect` code runs only with it.
 * - Each of our modules exists once (`instanceof` on our error classes keeps working).
 * - `import.meta.url` in our modules still names the module's own file in `dist/` (rewritten below), so
 *   `package.json`, `bin/first-run.js`, `createRequire` and the inspector's package root resolve as before.
 * - **xstate is not bundled** (nor `@statelyai/inspect`, `node-mac-permissions`, `playwright-core`):
 *   the packaged tarball must not ship a second copy of xstate (issue 11), and an embedding app shares
 *   the one in `node_modules`. It is `require`d at run time (its CommonJS build, the same code its ESM
 *   entry wraps); what that costs is measured by the benchmark (`warm_launch_xstate_load`).
 * - **elkjs is not bundled** either: its 1.6 MB would be read and compiled by every launch, for the
 *   statechart layout only `first-run statecharts` and the viewer's SVGs use (a lazy `import()`).
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
/** The one output file (its name is what `bin/first-run.js` loads). */
const BUNDLE_NAME = 'first-run.cjs';

const EXTERNAL = ['xstate', 'xstate/*', 'node-mac-permissions', '@statelyai/inspect', 'playwright-core', 'elkjs', 'elkjs/*'];

/**
 * Built-ins loaded on first use instead of at start-up: a module of the launch path that imports
 * `child_process` or `worker_threads` only to use them on a rare path (a relaunch, a hung activation)
 * no longer makes every launch load them (~10 ms of CPU for these together, measured). Only the
 * `import_x = require("node:x")` form is rewritten — esbuild's form for named imports, used only as
 * `import_x.name` — so a lazy stand-in that loads the module on the first property read is exact.
 */
const LAZY_BUILTINS = ['child_process', 'worker_threads', 'fs/promises', 'crypto', 'timers/promises', 'perf_hooks', 'readline', 'os', 'http', 'net', 'url', 'util', 'stream', 'events', 'zlib', 'tty'];
const LAZY_REQUIRE = new RegExp(`^(\\s*)(import_[\\w$]+) = require\\("node:(${LAZY_BUILTINS.map((m) => m.replace('/', '\\/')).join('|')})"\\)`, 'gm');
const LAZY_HELPER =
  'const __lazyBuiltin = (id) => { let loaded; return new Proxy({}, { get: (_, key) => (loaded ??= require(id))[key] }); };';

/**
 * `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"), 1)`, which copies every export of
 * the built-in onto a new object as a getter — ~100 for `fs` — in each module that imports it: ~1.5 ms
 * of every launch for the 24 such imports (measured). A built-in's namespace needs no copy: an object
 * whose prototype is the module reads every export live, and `default` is the module itself, as
 * `__toESM` makes it. (Nothing in our code enumerates or spreads a built-in's namespace.)
 */
const BUILTIN_NAMESPACE = /__toESM\(require\("(node:[\w/]+)"\)(, 1)?\)/g;
const NAMESPACE_HELPER = 'const __builtinNamespace = (mod) => Object.create(mod, { default: { value: mod, enumerable: true } });';

/**
 * A dynamic `import()` left in the bundle (external ES-only packages such as `@statelyai/inspect`, a dev
 * module) is called through `__import`, an `import()` made by the launcher that runs the bundle (bin/first-run.js): a
 * script compiled by `vm.Script` has no module loader of its own on Node 20 without
 * `--experimental-vm-modules`. Matches `import(` not preceded by an identifier character or a dot.
 */
const DYNAMIC_IMPORT = /(?<![\w$.])import\(/g;

/**
 * Comment lines that still carry non-ASCII characters (esbuild escapes them in code, not in the comments
 * it keeps): one such character makes V8 hold the whole 440 kB source as a two-byte string, which costs
 * every launch ~0.5 ms more to decode and compile (measured). Only comment lines are touched; anything
 * else non-ASCII is left alone and reported.
 */
function asciiComments(source) {
  const strays = [];
  const text = source.replace(/^.*[^\x00-\x7f].*$/gm, (line) => {
    if (!/^\s*(\/\/|\/\*|\*)/.test(line)) {
      strays.push(line.trim().slice(0, 80));
      return line;
    }
    return line.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  });
  if (strays.length > 0) console.warn(`bundle-cli: non-ASCII code left in the bundle (slower to load): ${strays.join(' | ')}`);
  return text;
}

/** Rewrite eligible built-in requires to {@link LAZY_HELPER} and dynamic imports to `__import`. */
async function rewriteOutput(file) {
  const source = asciiComments(await readFile(file, 'utf8'));
  let lazy = 0;
  let imports = 0;
  const rewritten = source
    .replace(BUILTIN_NAMESPACE, (_, id) => `__builtinNamespace(require("${id}"))`)
    .replace(LAZY_REQUIRE, (_, indent, name, id) => {
      lazy += 1;
      return `${indent}${name} = __lazyBuiltin("node:${id}")`;
    })
    .replace(DYNAMIC_IMPORT, () => {
      imports += 1;
      return '__import(';
    });
  await writeFile(file, rewritten);
  return { lazy, imports };
}
const missing = [];

/** Rewrite `import.meta.url` in each of our dist modules to that module's own URL. */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(b) {
    // A relative import whose target is not in dist/ (not built yet) fails at run time exactly as it
    // would unbundled — and bundling does not fail.
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(dist + path.sep)) return undefined;
      const target = path.resolve(path.dirname(args.importer), args.path);
      if (existsSync(target)) return undefined;
      missing.push(path.relative(root, target));
      return { path: target, external: true };
    });
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      // The bundle sits directly in `outdir`, so a path relative to it names the module's own file.
      const relative = path.relative(outdir, args.path).split(path.sep).join('/');
      const replaced = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, __bundleUrl()).href`);
      return { contents: replaced, loader: 'js' };
    });
  },
};

export async function bundleCli({ quiet = false } = {}) {
  if (!existsSync(entry)) throw new Error(`${path.relative(root, entry)} is missing: run \`npm run build\` (tsc) first.`);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const outfile = path.join(outdir, BUNDLE_NAME);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    logLevel: quiet ? 'error' : 'warning',
    plugins: [keepModuleUrls],
    // `bin/first-run.js` runs the bundle as the body of a function (exports, require, module, __filename,
    // __dirname, __import), like Node's CommonJS loader plus `import()`; `__bundleUrl()` is the bundle's URL, made
    // on first use (`pathToFileURL` costs ~0.2 ms, and a warm launch never needs it).
    banner: { js: `// Generated by bench/bundle-cli.mjs from dist/ -- do not edit.\nlet __bundleHref;\nconst __bundleUrl = () => (__bundleHref ??= require('node:url').pathToFileURL(__filename).href);\n${LAZY_HELPER}\n${NAMESPACE_HELPER}` },
  });
  const { lazy, imports } = await rewriteOutput(outfile);
  if (missing.length > 0) console.warn(`bundle-cli: not in dist/, left as runtime requires: ${[...new Set(missing)].join(', ')}`);
  if (!quiet) console.log(`bundled ${path.relative(root, entry)} → ${path.relative(root, outfile)} (${lazy} built-in imports made lazy, ${imports} dynamic imports through the launcher)`);
  return { outdir, outfile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleCli({ quiet: process.argv.includes('--quiet') }).catch((error) => {
    console.error(`bundle-cli: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
