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
//   names this installation, so two apps carrying the package never delete each other's cache). It never
//   changes behaviour (SPEC HE-5): its header binds it to the bundle file's identity (device, inode, size,
//   mtime, ctime) and carries the cached data twice, both checked before V8 sees a byte (V8's own
//   check compares only the source's length, and has no checksum in release builds); it is written to a
//   temp file of the writer's own and renamed; any error around it means running without it. A rejected
//   or missing one is rebuilt after the run. The cache dir is FIRST_RUN_CODE_CACHE_DIR, else
//   ($XDG_CACHE_HOME or ~/.cache)/first-run-orchestrator. Code cache is executable code: the dir must be
//   ours and private (0700, our uid) and a cache file a regular file of ours, opened without following
//   links — anything else is ignored and never written. FIRST_RUN_NO_CODE_CACHE=1 turns it off;
//   FIRST_RUN_DEBUG_CODE_CACHE=1 says on stderr what was done with each cache file, and why.
// CommonJS on purpose (bin/package.json says so): an ES-module entry makes Node start its ES module
// loader — with fs/promises, readline and the streams — before a line of ours runs (~4–5 ms per launch,
// measured). Built-ins come through `require`, never `import`: an ES import of `node:fs` builds its ES
// facade, which reads `fs.ReadStream` and so loads the streams machinery too.
// Output goes to fds 1 and 2 with write(2) (src/cli/io.ts), which also ends quietly on a closed reader
// (`first-run status | head`): `process.stdout` is never built, so a launch never loads Node's streams.
// Where the stream is used instead (a pipe off Linux), src/cli/io.ts listens for its errors and the
// run goes on (HE-1); anything else that writes through `process.stdout` with no listener of its own
// ends quietly on a closed reader. Hooked when the stream is first used, not here: `process.stdout` is
// built on first access (1–2 ms: a pipe loads `net` and the streams), and a relaunched successor must
// not pay that before it proves alive.
function guardStdout(stream) {
  stream.on('error', (error) => {
    if (stream.listenerCount('error') > 1) return; // another listener (the CLI's output) handles it
    if (error && error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  return stream;
}
function guardStdoutOnFirstUse() {
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
}
const { createRequire } = require('node:module');

const { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } = require('node:fs');
const { homedir } = require('node:os');
const { dirname, join, sep } = require('node:path');

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

// ---------------------------------------------------------------------------------------------------------
// The code cache (SPEC HE-5: a cache never changes behaviour; docs/architecture.md, "Caches"). Every
// function below is best effort: any error means "no cache" (FIRST_RUN_DEBUG_CODE_CACHE=1 says why on
// stderr), never a crash, a stack trace or another result.

/** FIRST_RUN_DEBUG_CODE_CACHE=1: one line on stderr per decision about a cache file (read, rejected, written). */
const debugCache = process.env.FIRST_RUN_DEBUG_CODE_CACHE === '1';
function note(file, what) {
  if (!debugCache) return;
  try {
    writeSync(2, `first-run: code cache ${file}: ${what}\n`);
  } catch {
    // stderr closed: the note is a courtesy
  }
}
const why = (error) => (error && error.code) || String(error);

/**
 * A cache file is this header, then V8's cached data twice (a zero byte between the copies). Every byte
 * is checked before V8 sees one: V8's own check of cached data compares the source's *length*, not its
 * content (another build of the same length ran the old code), and has no checksum in release builds
 * (one damaged block crashed V8 in the deserializer: SIGTRAP, SIGSEGV).
 *   0 u32 magic 'FRCC'    4 u32 format
 *   8 u64 device, 16 u64 inode, 24 u64 size, 32 u64 mtime (ns), 40 u64 ctime (ns) of the bundle file the
 *     cached code was compiled from, read from the descriptor its bytes were read through: its identity.
 *     A replaced bundle has another inode (`rsync -a`, an archive, `npm install`) or another ctime
 *     (`cp -p` rewrites it in place, and nothing but the clock sets a ctime), whatever its size and mtime.
 *     Cheaper than hashing its ~0.5 MB at every launch; what it does not see is a same-size rewrite in
 *     place within one tick of the file system's clock (docs/architecture.md, "Caches").
 *  48 u32 the data's length   52 u32 zero   56 u64 zero
 * Why a second copy rather than a checksum: the check must run at every warm launch, before V8, in a
 * process that has just started. Comparing two copies is one `memcmp` (~0.02 ms for 0.3 MB; reading the
 * second copy ~0.1 ms); a checksum cost ~1 ms more per launch in the median on a busy machine even in
 * WebAssembly (its synchronous compile waits for V8's background threads), a JavaScript loop ~1.5 ms,
 * `node:crypto` and `node:zlib` 1.3–2 ms to load (measured; docs/performance.md). Any damage that is not
 * the same in both copies — a flipped bit, a zeroed or lost block, a torn or truncated write — makes
 * them differ. It guards against accidents, not against someone who can write our private cache dir
 * (who could write code there anyway).
 */
const HEADER_BYTES = 64;
const MAGIC = 0x43435246;
const FORMAT = 3;
const IDENTITY = ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'];

/** The bundle file's identity: the fields of a `{ bigint: true }` fstat the header keeps. */
const identityOf = (bigStats) => IDENTITY.map((key) => BigInt.asUintN(64, bigStats[key]));

/** The file's bytes for `data`, V8's cached data compiled from the bundle file of `identity`. */
function encodeCache(identity, data) {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  const file = Buffer.alloc(HEADER_BYTES + 2 * bytes.length + 1);
  file.writeUInt32LE(MAGIC, 0);
  file.writeUInt32LE(FORMAT, 4);
  identity.forEach((value, i) => file.writeBigUInt64LE(value, 8 + 8 * i));
  file.writeUInt32LE(bytes.length, 48);
  bytes.copy(file, HEADER_BYTES);
  bytes.copy(file, HEADER_BYTES + bytes.length + 1);
  return file;
}

/** The cached data in `file` (a view of it) if it was written for the bundle file of `identity` and is whole, else why not. */
function decodeCache(file, identity) {
  if (file.length < HEADER_BYTES || file.readUInt32LE(0) !== MAGIC || file.readUInt32LE(4) !== FORMAT) return { rejected: 'damaged or an older format (header)' };
  const length = file.readUInt32LE(48);
  if (file.length !== HEADER_BYTES + 2 * length + 1 || file.readUInt32LE(52) !== 0 || file.readBigUInt64LE(56) !== 0n || file[HEADER_BYTES + length] !== 0) return { rejected: 'damaged (length)' };
  if (identity.some((value, i) => file.readBigUInt64LE(8 + 8 * i) !== value)) return { rejected: 'another build of the bundle (or the same one, replaced)' };
  const data = file.subarray(HEADER_BYTES, HEADER_BYTES + length);
  if (!data.equals(file.subarray(HEADER_BYTES + length + 1))) return { rejected: 'damaged (the copies differ)' };
  return { data };
}

function cacheDir() {
  if (process.env.FIRST_RUN_NO_CODE_CACHE === '1') return null;
  // A relative dir would follow the working directory (a relaunched successor starts in `/`): no cache.
  if (process.env.FIRST_RUN_CODE_CACHE_DIR) return process.env.FIRST_RUN_CODE_CACHE_DIR.startsWith('/') ? process.env.FIRST_RUN_CODE_CACHE_DIR : null;
  // The same on every platform (the platform is decided in src/platform.ts only, and this runs before it).
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'first-run-orchestrator');
}

const uid = typeof process.getuid === 'function' ? process.getuid() : null;
const ours = (stats) => (uid === null || stats.uid === uid) && (stats.mode & 0o022) === 0;

/**
 * Whether `dir` is a directory of ours that nobody else can write (a shared one may hold planted files).
 * Throws what `stat` throws for a path that cannot be looked up (ENOTDIR, ELOOP, ENAMETOOLONG, EACCES).
 */
function privateDir(dir) {
  const stats = statSync(dir, { throwIfNoEntry: false });
  return stats !== undefined && stats.isDirectory() && ours(stats) && (stats.mode & 0o077) === 0;
}

/**
 * The file's bytes, or undefined (missing, not ours, not a regular file, unreadable). Never throws.
 * (The same checks as `readRegularFileSync` in src/fs/regular-file.ts, written out: this launcher runs
 * before anything of dist/ is loaded.)
 */
function readCache(file) {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (error.code !== 'ENOENT') note(file, `not read (${why(error)})`);
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || !ours(stats) || stats.size > 128 * 1024 * 1024) {
      note(file, 'not read (not a private regular file of ours)');
      return undefined;
    }
    const data = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < stats.size) {
      const n = readSync(fd, data, read, stats.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return read === stats.size ? data : undefined;
  } catch (error) {
    note(file, `not read (${why(error)})`);
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Our cache files' names (for the clean-up: FIRST_RUN_CODE_CACHE_DIR may point at a dir with other files). */
const OUR_NAMES = new RegExp(`^v[\\d.]+-\\w+-(${INSTALL_TAG}-)?\\d+-\\d+(-[a-z]+(-early)?)?\\.bin(\\.\\d+(\\.[0-9a-f]+)?\\.tmp)?$`);
/** A temp file of ours this old was left by a writer that died (a write takes milliseconds). */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * Write the cache into a private dir of ours: a temp file of this writer's own (pid + random: concurrent
 * writers never share one), renamed over the cache, so a reader sees a whole file, old or new. Not
 * fsynced: a file torn by a crash makes its two copies differ and is only rewritten. Never throws (a read-only
 * home, a full disk, a dir that cannot be listed only cost speed).
 */
function writeCache(dir, file, build, identity, script) {
  const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2, 10)}.tmp`;
  try {
    const bytes = encodeCache(identity, script.createCachedData());
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!privateDir(dir)) return note(file, 'not written (the dir is not a private dir of ours)');
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    note(file, 'written');
  } catch (error) {
    note(file, `not written (${why(error)})`);
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
    return;
  }
  try {
    removeOtherBuilds(dir, build);
  } catch (error) {
    note(dir, `not cleaned up (${why(error)})`);
  }
}

/**
 * One build at a time: every build (another bundle size or mtime) would otherwise leave its caches
 * behind. Only names this launcher makes, and only this installation's earlier builds (and untagged
 * names of earlier versions): another app's copy of the package keeps its cache in the same per-user
 * dir, and deleting it would make each of the two compile from source and rewrite its cache at every
 * launch. This build's other caches stay; its temp files only when a writer that died left them.
 */
function removeOtherBuilds(dir, build) {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!OUR_NAMES.test(name)) continue;
    const full = join(dir, name);
    try {
      if (name.startsWith(build) && !(name.endsWith('.tmp') && now - lstatSync(full).mtimeMs > STALE_TEMP_MS)) continue;
      unlinkSync(full);
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
 * The name (Node version, arch, installation, the bundle's size and mtime) only sorts the files: what
 * binds a cache to the bundle is the bundle file's identity in its header ({@link decodeCache}).
 */
function cacheNames(dir, stats) {
  const build = `${process.version}-${process.arch}-${INSTALL_TAG}-${stats.size}-${Math.trunc(stats.mtimeMs)}-`;
  const command = process.argv[2] === 'launch' ? 'launch' : 'other';
  return { dir, build, complete: join(dir, `${build}${command}.bin`), early: join(dir, `${build}${command}-early.bin`) };
}

/** The cache to compile with, checked: the complete one, else the early one. Never throws. */
function pickCache(names, identity) {
  try {
    if (!privateDir(names.dir)) {
      note(names.dir, 'not used (missing, or not a private dir of ours)');
      return { file: null, data: undefined };
    }
    for (const file of [names.complete, names.early]) {
      const bytes = readCache(file);
      if (bytes === undefined) continue;
      const { data, rejected } = decodeCache(bytes, identity);
      if (data) return { file, data };
      note(file, `rejected: ${rejected}`);
    }
  } catch (error) {
    note(names.dir, `not used (${why(error)})`);
  }
  return { file: null, data: undefined };
}

/** Where the cache goes, or null (off, or no dir can be named: `homedir()` throws without a home). Never throws. */
function cacheNamesFor(stats) {
  try {
    const dir = cacheDir();
    return dir ? cacheNames(dir, stats) : null;
  } catch (error) {
    note('(dir)', `not used (${why(error)})`);
    return null;
  }
}

/** Run the bundle like Node's CommonJS loader would, compiled from the code cache when there is one. */
async function runBundle(stats) {
  const vm = require('node:vm');
  const names = cacheNamesFor(stats);
  // The identity and the bytes through one descriptor: the cache is bound to exactly the file compiled.
  const fd = openSync(bundle, constants.O_RDONLY);
  let identity;
  let source;
  try {
    identity = identityOf(fstatSync(fd, { bigint: true }));
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const picked = names ? pickCache(names, identity) : { file: null, data: undefined };
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
  if (picked.data !== undefined) note(picked.file, usable ? 'accepted' : 'rejected by V8');
  let machinesLoaded = false;
  if (typeof module.exports.whenMachinesLoad === 'function') {
    module.exports.whenMachinesLoad(() => {
      machinesLoaded = true;
      if (!usable) writeCache(names.dir, names.early, names.build, identity, script);
    });
  }
  if (!usable || picked.file === names.early) {
    // After the run, so the functions it compiled lazily are in the cache too — never after the machines.
    process.once('exit', () => {
      // A launch writes it only after it settled warm: one that exited early (another instance holds the
      // lock, a usage error, a held successor told nothing) ran too little of what a warm launch runs.
      const launchRanWarm = typeof module.exports.settledWarm === 'function' && module.exports.settledWarm();
      if (!machinesLoaded && (process.argv[2] !== 'launch' || launchRanWarm)) writeCache(names.dir, names.complete, names.build, identity, script);
    });
  }
  return module.exports;
}

if (require.main === module) {
  guardStdoutOnFirstUse();
  (async () => {
    const stats = freshBundle();
    const cli = stats ? await runBundle(stats) : await import(require('node:url').pathToFileURL(plain).href);
    await cli.main(process.argv.slice(2));
  })();
} else {
  // Required, not run (test/launcher/code-cache-format.test.ts): the cache format, for its tests only.
  module.exports = { encodeCache, decodeCache, identityOf };
}
