/**
 * The state dir is the product's whole memory — the ledger, the lock, the journal, the hand-off — so
 * whoever can write into it (or rename it) can make the app restart twice: move the ledger away and the
 * next launch is a first run again. Before anything is read or written there:
 *
 * - it must be a directory (not a file, not under a file, not a path the OS refuses as too long): else a
 *   {@link StateDirError} naming the path, and nothing is created;
 * - it (the directory a symlink points to, when it is one) must be owned by this user: someone else's
 *   directory is refused, never "fixed";
 * - it must not be group/world-writable: when we own it, it is tightened to 0700 (and reported). A
 *   directory others may only read (an app's 0755 `userData`) is left as its owner chose;
 * - no directory above it may let another user rename it away: each ancestor is owned by this user or
 *   root, and is not group/world-writable unless it is sticky (`/tmp`: only an entry's owner may rename
 *   it). The same rule as OpenSSH's StrictModes.
 *
 * Not covered: root (who can do anything), and a file system that ignores ownership (FAT, some network
 * mounts), where every check passes vacuously.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StateDirError } from '../errors.js';
import { takeHandoffCwd } from '../relaunch/successor-environment.js';

/** What {@link prepareStateDir} did. */
export interface PreparedStateDir {
  /** The state dir, absolute (as given; a symlink stays a symlink). */
  path: string;
  /** It did not exist and was created 0700. */
  created: boolean;
  /** It was group/world-writable and was tightened to 0700: the mode it had. */
  tightenedFrom: number | null;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

function myUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

function createIt(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    if (code(error) !== 'ENOENT') throw unusable(dir, error);
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return true;
  } catch (error) {
    throw unusable(dir, error);
  }
}

function unusable(dir: string, error: unknown): StateDirError {
  const why: Record<string, string> = {
    ENOTDIR: 'a part of the path above it is a file, not a directory',
    EEXIST: 'it exists and is not a directory',
    ENAMETOOLONG: 'the path is too long for this file system',
    EACCES: 'permission denied on a directory above it',
    EROFS: 'the file system is read-only',
    ELOOP: 'too many symbolic links on the way',
  };
  const reason = why[code(error) ?? ''] ?? `${code(error) ?? String(error)}`;
  return new StateDirError(dir, `Cannot use ${dir} as the state dir: ${reason}. Pass another --state-dir (stateDir) that is a directory of yours; nothing was written.`, { cause: error });
}

function checkOwned(dir: string, real: string, stat: fs.Stats, uid: number | null): void {
  if (uid === null || stat.uid === uid) return;
  const shown = real === dir ? dir : `${dir} (→ ${real})`;
  throw new StateDirError(
    dir,
    `Refusing the state dir ${shown}: it is owned by uid ${stat.uid}, not by this user (uid ${uid}), so its owner could move the ledger away and make the app restart twice. Use a directory of your own (--state-dir); nothing was written.`,
  );
}

function checkAncestors(dir: string, real: string, uid: number | null): void {
  for (let current = path.dirname(real); ; current = path.dirname(current)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(current);
    } catch (error) {
      throw unusable(dir, error);
    }
    const trustedOwner = uid === null || stat.uid === uid || stat.uid === 0;
    const othersMayWrite = (stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0;
    if (!trustedOwner || othersMayWrite) {
      const who = !trustedOwner ? `is owned by uid ${stat.uid}` : `is ${octal(stat.mode)} (group/world-writable, not sticky)`;
      throw new StateDirError(
        dir,
        `Refusing the state dir ${dir}: the directory above it, ${current}, ${who}, so another user could rename the state dir away and make the app restart twice. Use a state dir under a directory only you (or root) can write; nothing was written.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/** The longest prefix of `dir` that exists (stops at the first entry that is missing or unreadable). */
function nearestExisting(dir: string): string {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      fs.lstatSync(current);
      return current;
    } catch (error) {
      if (code(error) !== 'ENOENT' || current === path.dirname(current)) return current;
    }
  }
}

/** The real path of `dir` when it exists; `null` when it does not (ENOENT, or a missing part of it). */
function existingReal(dir: string): string | null {
  try {
    return fs.realpathSync.native(dir);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw unusable(dir, error);
  }
}

function realOf(dir: string, existing: string): string {
  try {
    return fs.realpathSync(existing);
  } catch (error) {
    throw unusable(dir, error);
  }
}

let handoffCwd: string | undefined;

/**
 * The directory the run started in: for a relaunched successor (started in `/`), its predecessor's
 * (`FIRST_RUN_HANDOFF_CWD`); else the working directory; `undefined` when that is gone. What a host's
 * relative paths — a relative state dir, a module found from the working directory — meant to the run.
 */
export function runStartDir(): string | undefined {
  handoffCwd ??= takeHandoffCwd() ?? '';
  if (handoffCwd !== '') return handoffCwd;
  try {
    return process.cwd();
  } catch {
    return undefined; // a deleted working directory (uv_cwd)
  }
}

/**
 * `stateDir` made absolute, once, when a run starts (HE-3): every later use takes this path, so a host's
 * `process.chdir()` during the run changes nothing.
 * @throws {StateDirError} when it is relative and the working directory no longer exists.
 */
export function pinStateDir(stateDir: string): string {
  if (stateDir.startsWith('/')) return path.resolve(stateDir);
  // A successor starts in `/`: a relative state dir means what it meant to the predecessor's run.
  handoffCwd ??= takeHandoffCwd() ?? '';
  if (handoffCwd !== '') return path.resolve(handoffCwd, stateDir);
  try {
    return path.resolve(process.cwd(), stateDir);
  } catch (error) {
    throw new StateDirError(stateDir, `Cannot use the relative state dir ${JSON.stringify(stateDir)}: the working directory no longer exists (${code(error) ?? String(error)}). Pass an absolute state dir; nothing was written.`, { cause: error });
  }
}

/**
 * Make sure `stateDir` is a safe state dir: create it 0700 when missing (with `create`), refuse a file, a
 * path under a file, a path that is too long, or a directory that is not ours or sits under a directory
 * others can write; tighten our own group/world-writable directory to 0700.
 * @throws {StateDirError} naming the path and the reason; nothing is created or written then.
 */
export function prepareStateDir(stateDir: string, options: { create?: boolean } = {}): PreparedStateDir {
  const dir = pinStateDir(stateDir);
  const uid = myUid();
  // Every launch but the first: it exists, and one realpath(3) finds what it is (Node's own realpath
  // walks the path with an lstat per component).
  let real = existingReal(dir);
  let created = false;
  if (real === null) {
    // Above a directory that does not exist yet: check where it would be made before making it.
    const existing = nearestExisting(dir);
    if (existing !== dir) checkAncestors(dir, path.join(realOf(dir, existing), 'x'), uid);
    created = options.create === false || existing === dir ? false : createIt(dir);
  }
  let stat: fs.Stats;
  try {
    real ??= fs.realpathSync(dir);
    stat = fs.statSync(real);
  } catch (error) {
    throw unusable(dir, error);
  }
  if (!stat.isDirectory()) throw unusable(dir, Object.assign(new Error('not a directory'), { code: 'EEXIST' }));
  checkOwned(dir, real, stat, uid);
  checkAncestors(dir, real, uid);
  let tightenedFrom: number | null = null;
  if ((stat.mode & 0o022) !== 0) {
    try {
      fs.chmodSync(real, 0o700);
    } catch (error) {
      throw new StateDirError(dir, `The state dir ${dir} is ${octal(stat.mode)} and cannot be tightened to 0700 (${code(error) ?? String(error)}); fix its mode by hand.`, { cause: error });
    }
    tightenedFrom = stat.mode & 0o7777;
  }
  return { path: dir, created, tightenedFrom };
}

/** The journal payload of a state dir {@link prepareStateDir} tightened: `{ path, from: '0777', to: '0700' }`. */
export function tightenedPayload(prepared: PreparedStateDir): { path: string; from: string; to: string } {
  return { path: prepared.path, from: octal(prepared.tightenedFrom ?? 0), to: '0700' };
}
