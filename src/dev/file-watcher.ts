/**
 * A polling file watcher for dev mode: every `intervalMs` it walks the watched roots and compares each
 * file's (mtime, size, inode) with the last walk.
 *
 * Why polling and not `fs.watch({ recursive: true })`: on Linux, Node 20 implements recursive watching in
 * JavaScript with one inotify watch per directory, cannot skip `node_modules` (it watches first and
 * filters after, so a big tree hits `fs.inotify.max_user_watches`), misses directories created during
 * its own setup, and reports editors' atomic saves (write temp + rename) as a mix of `rename` events on
 * names that no longer exist. A walk that skips ignored directories costs well under a millisecond for a
 * few hundred files, reads the same on Linux and macOS, and — because it compares with the process's
 * start time on its first walk — also sees changes made between the process start and the watcher's.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Options of {@link createFileWatcher}. */
export interface FileWatcherOptions {
  /** Files or directories to watch; directories recursively. */
  roots: readonly string[];
  /**
   * File or directory names skipped anywhere in the tree.
   * @default ['node_modules', '.git']
   */
  ignoreNames?: readonly string[];
  /** Absolute paths skipped with everything under them (e.g. the state dir). @default [] */
  ignorePaths?: readonly string[];
  /** How often to walk the roots, in ms. @default 100 */
  intervalMs?: number;
  /**
   * On the first walk, files modified after this time (epoch ms) are reported as changed: the process may
   * have loaded them before the change. @default performance.timeOrigin (this process's start)
   */
  since?: number;
  /** Called with the absolute paths that changed (created, modified or deleted) since the last walk. */
  onChange: (files: string[]) => void;
}

/** A running {@link createFileWatcher}. */
export interface FileWatcher {
  /** The first walk: how many files are watched and which changed since `since`. */
  readonly initial: { files: number; changedSinceStart: string[] };
  /** Stop walking. Safe to call twice. */
  close(): void;
}

type Signature = string;

function signatureOf(stats: Stats): Signature {
  return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
}

function walk(root: string, ignoreNames: ReadonlySet<string>, ignorePaths: readonly string[], into: Map<string, Stats>): void {
  const ignored = (path: string) => ignorePaths.some((prefix) => path === prefix || path.startsWith(prefix + sep));
  const visit = (path: string) => {
    if (ignored(path)) return;
    let stats: Stats;
    try {
      stats = statSync(path);
    } catch {
      return; // gone between readdir and stat: the next walk reports it as deleted
    }
    if (!stats.isDirectory()) {
      into.set(path, stats);
      return;
    }
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (ignoreNames.has(entry.name)) continue;
      // Symlinked directories are not followed (no cycles); symlinked files are watched through the link.
      if (entry.isSymbolicLink()) {
        const target = join(path, entry.name);
        try {
          if (statSync(target).isDirectory()) continue;
        } catch {
          continue;
        }
      }
      visit(join(path, entry.name));
    }
  };
  visit(root);
}

/**
 * Watch files by polling (see the module comment for why). The first walk runs synchronously, so
 * `initial` is ready when this returns.
 */
export function createFileWatcher(options: FileWatcherOptions): FileWatcher {
  const roots = options.roots.map((root) => resolve(root));
  const ignoreNames = new Set(options.ignoreNames ?? ['node_modules', '.git']);
  const ignorePaths = (options.ignorePaths ?? []).map((path) => resolve(path));
  const intervalMs = options.intervalMs ?? 100;
  const since = options.since ?? performance.timeOrigin;

  const scan = () => {
    const found = new Map<string, Stats>();
    for (const root of roots) walk(root, ignoreNames, ignorePaths, found);
    return found;
  };
  const first = scan();
  let known = new Map<string, Signature>();
  for (const [path, stats] of first) known.set(path, signatureOf(stats));
  const changedSinceStart = [...first].filter(([, stats]) => stats.mtimeMs > since).map(([path]) => path);

  let closed = false;
  const timer = setInterval(() => {
    if (closed) return;
    const now = new Map<string, Signature>();
    for (const [path, stats] of scan()) now.set(path, signatureOf(stats));
    const changed: string[] = [];
    for (const [path, signature] of now) if (known.get(path) !== signature) changed.push(path);
    for (const path of known.keys()) if (!now.has(path)) changed.push(path);
    known = now;
    if (changed.length > 0) options.onChange(changed);
  }, intervalMs);
  // The watcher alone does not keep a process alive.
  timer.unref();

  return {
    initial: { files: first.size, changedSinceStart },
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
