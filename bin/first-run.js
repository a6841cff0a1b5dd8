#!/usr/bin/env node
'use strict';
// Launcher of the `first-run` CLI. The fast path (docs/performance.md): the build bundles the compiled CLI
// into one classic script, dist/cli-bundle/first-run.cjs (bench/bundle-cli.mjs), and this file compiles it
// with a V8 code cache kept in a private per-user cache dir, so a warm launch neither resolves ~90 ES
// modules nor parses and compiles what earlier launches already compiled. xstate stays in node_modules.
// - The bundle is used in an installed copy, and in a checkout only when it is at least as new as
//   dist/src/cli/main.js (a bare `tsc` run never runs stale code); never with FIRST_RUN_NO_BUNDLE=1 (then
//   dist/ is imported module by module).
// - The code cache: `<cache dir>/<node version>-<arch>-<install tag>-<bundle size>-<bundle mtime>-<kind>.bin` (the tag
//   names this installation, so two apps carrying the package never delete each other's cache); V8 checks it
//   again (source hash, flags) and a rejected or missing one is rebuilt after the run. The cache dir is
//   FIRST_RUN_CODE_CACHE_DIR, else ($XDG_CACHE_HOME or ~/.cache)/first-run-orchestrator. Code cache is
//   executable code: the dir must be ours and private (0700, our uid) and a cache file a regular file of
//   ours, opened without following links — anything else is ignored and never written.
//   FIRST_RUN_NO_CODE_CACHE=1 turns it off.
// CommonJS on purpose (bin/package.json says so): an ES-module entry makes Node start its ES module
// loader — with fs/promises, readline and the streams — before a line of ours runs (~4–5 ms per launch,
// measured). Built-ins come through `require`, never `import`: an ES import of `node:fs` builds its ES
// facade, which reads `fs.ReadStream` and so loads the streams machinery too.
// Output goes to fds 1 and 2 with write(2) (src/cli/io.ts), which also ends quietly on a closed reader
// (`first-run status | head`): `process.stdout` is never built, so a launch never loads Node's streams.
// Anything else that writes through `process.stdout` ends as quietly on a closed reader. Hooked when
// the stream is first used, not here: `process.stdout` is built on first access (1–2 ms: a pipe loads
// `net` and the streams), and a relaunched successor must not pay that before it proves alive.
function guardStdout(stream) {
  stream.on('error', (error) => {
    if (error && error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  return stream;
}
const stdoutDescriptor = Object.getOwnPropertyDescriptor(process, 'stdout');
if (stdoutDescriptor && stdoutDescriptor.configurable && typeof stdoutDescriptor.get === 'function') {
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: stdoutDescriptor.enumerable,
    get() {
      Object.defineProperty(process, 'stdout', stdoutDescriptor); // Node's own lazy getter again
      return guardStdout(process.stdout);
    },
  });
} else {
  guardStdout(process.stdout);
}
const { createRequire } = require('node:module');

const { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { basename, dirname, join, sep } = require('node:path');

// A path, not a URL: `pathToFileURL` costs ~0.2 ms, and only a launch without the bundle needs the URL.
const plain = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const bundle = join(__dirname, '..', 'dist', 'cli-bundle', 'first-run.cjs');

/** Which installation a cache file belongs to: FNV-1a (32 bits, hex) of the bundle's path. */
const INSTALL_TAG = (() => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bundle.length; i++) hash = Math.imul(hash ^ bundle.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
})();

/**
 * An installed copy (under `node_modules`: the path Node resolved this file to, links followed) never
 * changes, and its files' mtimes say only in which order `npm install` extracted them — the bundle before
 * `dist/src/cli/main.js`, so a freshness check there would never pick the bundle. A checkout (or a
 * linked one: `npm link`, a `file:` dependency) is compared by mtime, so a bare `tsc` never runs stale code.
 */
const installed = __dirname.split(sep).includes('node_modules');

function freshBundle() {
  if (process.env.FIRST_RUN_NO_BUNDLE === '1') return null;
  const stats = statSync(bundle, { throwIfNoEntry: false });
  if (!stats) return null;
  if (installed) return stats;
  const source = statSync(plain, { throwIfNoEntry: false });
  return source && stats.mtimeMs >= source.mtimeMs ? stats : null;
}

function cacheDir() {
  if (process.env.FIRST_RUN_NO_CODE_CACHE === '1') return null;
  if (process.env.FIRST_RUN_CODE_CACHE_DIR) return process.env.FIRST_RUN_CODE_CACHE_DIR;
  // The same on every platform (the platform is decided in src/platform.ts only, and this runs before it).
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'first-run-orchestrator');
}

const uid = typeof process.getuid === 'function' ? process.getuid() : null;
const ours = (stats) => (uid === null || stats.uid === uid) && (stats.mode & 0o022) === 0;

/** Whether `dir` is a directory of ours that nobody else can write (a shared one may hold planted files). */
function privateDir(dir) {
  const stats = statSync(dir, { throwIfNoEntry: false });
  return stats !== undefined && stats.isDirectory() && ours(stats) && (stats.mode & 0o077) === 0;
}

/**
 * The cached data, or undefined (missing, not ours, not private, not a regular file). Never throws.
 * (The same checks as `readRegularFileSync` in src/fs/regular-file.ts, written out: this launcher runs
 * before anything of dist/ is loaded.)
 */
function readCache(file) {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || !ours(stats) || stats.size > 64 * 1024 * 1024) return undefined;
    const data = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < stats.size) {
      const n = readSync(fd, data, read, stats.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === stats.size ? data : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Write the cache atomically into a private dir of ours. Best effort: a failure only costs speed. */
function writeCache(dir, file, build, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!privateDir(dir)) return;
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    // read-only home, full disk: the next launch compiles from source again
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
    return;
  }
  // One build at a time: every build (another bundle size or mtime) would otherwise leave its caches behind.
  const ourNames = new RegExp(`^v[\\d.]+-\\w+-(${INSTALL_TAG}-)?\\d+-\\d+(-[a-z]+(-early)?)?\\.bin(\\.\\d+\\.tmp)?$`);
  for (const name of readdirSync(dir)) {
    // Only names this launcher makes: FIRST_RUN_CODE_CACHE_DIR may point at a directory with other files.
    // Only this installation's earlier builds (and untagged names of earlier versions): another app's
    // copy of the package keeps its cache in the same per-user dir, and deleting it would make each of
    // the two compile from source and rewrite its cache at every launch. This build's other caches stay.
    if (name.startsWith(build) || !ourNames.test(name)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // another launch is writing it, or it is gone
    }
  }
}

/**
 * Which cache a run reads and writes, per command kind (`launch`, and every other command). A cache
 * holds every function compiled so far — and every function of the cache the run had read — so which
 * run writes it decides what every later run deserializes:
 * - a run that does not load the machines writes the `complete` cache after it ran, when there is none
 *   (or it was rejected) — for `launch`, only one that settled warm (src/runtime/warm-start.ts);
 * - a run that loads the machines (a first run, its relaunched successor, `demo`, `--stay`) writes, when
 *   there is no cache at all, an `early` one right before they load (`whenMachinesLoad`,
 *   src/runtime/machines-loaded.ts): what it ran up to there, never the machines' code, which a warm
 *   launch would deserialize for nothing (~3 ms of a 30 ms launch, measured).
 * A run reads the complete cache, else the early one; a warm launch that read the early one writes the
 * complete one after it (the early one holds nothing a warm launch does not run, so nothing extra).
 */
function cacheNames(dir, stats) {
  const build = `${process.version}-${process.arch}-${INSTALL_TAG}-${stats.size}-${Math.trunc(stats.mtimeMs)}-`;
  const command = process.argv[2] === 'launch' ? 'launch' : 'other';
  return { build, complete: join(dir, `${build}${command}.bin`), early: join(dir, `${build}${command}-early.bin`) };
}

/** The cache to compile with: the complete one, else the early one (both checked by `readCache`). */
function pickCache(dir, names) {
  if (!names || !privateDir(dir)) return { file: null, data: undefined };
  for (const file of [names.complete, names.early]) {
    const data = readCache(file);
    if (data !== undefined) return { file, data };
  }
  return { file: null, data: undefined };
}

/** Run the bundle like Node's CommonJS loader would, compiled from the code cache when there is one. */
async function runBundle(stats) {
  const vm = require('node:vm');
  const dir = cacheDir();
  const names = dir ? cacheNames(dir, stats) : null;
  const picked = pickCache(dir, names);
  const source = readFileSync(bundle, 'utf8');
  // The bundle's dynamic `import()`s come here (`__import`): a vm.Script has no module loader of its
  // own on Node 20 without --experimental-vm-modules. Its specifiers are packages and absolute URLs.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __import) {${source}\n})`, {
    filename: bundle,
    cachedData: picked.data,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), (specifier) => import(specifier));
  if (!names) return module.exports;
  const usable = picked.data !== undefined && !script.cachedDataRejected;
  let machinesLoaded = false;
  if (typeof module.exports.whenMachinesLoad === 'function') {
    module.exports.whenMachinesLoad(() => {
      machinesLoaded = true;
      if (!usable) writeCache(dir, names.early, names.build, script.createCachedData());
    });
  }
  if (!usable || picked.file === names.early) {
    // After the run, so the functions it compiled lazily are in the cache too — never after the machines.
    process.once('exit', () => {
      // A launch writes it only after it settled warm: one that exited early (another instance holds the
      // lock, a usage error, a held successor told nothing) ran too little of what a warm launch runs.
      const launchRanWarm = typeof module.exports.settledWarm === 'function' && module.exports.settledWarm();
      if (!machinesLoaded && (process.argv[2] !== 'launch' || launchRanWarm)) writeCache(dir, names.complete, names.build, script.createCachedData());
    });
  }
  return module.exports;
}

(async () => {
  const stats = freshBundle();
  const cli = stats ? await runBundle(stats) : await import(require('node:url').pathToFileURL(plain).href);
  await cli.main(process.argv.slice(2));
})();
