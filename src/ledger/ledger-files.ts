import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkEnvelopeBytes, type LedgerEnvelope, type LedgerProblemReason } from './envelope.js';
import type { LedgerFs } from './ledger-fs.js';
import { writeFileAtomicSync, type AtomicWriteFs } from './write-atomic.js';

/** What identifies one version of a file without reading it: any rewrite, rename-over or chmod changes it. */
export interface FileIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function identityOf(stats: fs.BigIntStats): FileIdentity {
  return { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** One ledger or backup file, read and checked. */
export type ReadLedgerFile =
  | { kind: 'missing' }
  | { kind: 'ok'; envelope: LedgerEnvelope; identity: FileIdentity }
  | { kind: 'bad'; reason: LedgerProblemReason; message: string; generation: number | null };

/**
 * Read and check one ledger file without following a symlink (lstat first, then `O_NOFOLLOW`, and the
 * identity is taken from the open descriptor, so what was checked is what was read). Never throws.
 */
export function readLedgerFile(
  fsx: LedgerFs,
  file: string,
  validateSnapshot?: (snapshot: unknown) => void,
): ReadLedgerFile {
  let stats: fs.BigIntStats | undefined;
  try {
    stats = fsx.lstatSync(file, { bigint: true, throwIfNoEntry: false });
  } catch (error) {
    return unreadable(error);
  }
  if (stats === undefined) return { kind: 'missing' };
  if (stats.isSymbolicLink()) {
    return { kind: 'bad', reason: 'symlink', message: 'is a symbolic link; the ledger is never read through a link', generation: null };
  }
  if (!stats.isFile()) {
    return {
      kind: 'bad',
      reason: 'not_a_file',
      message: `is not a regular file (${stats.isDirectory() ? 'a directory' : 'a FIFO, socket or device'})`,
      generation: null,
    };
  }
  let fd: number | undefined;
  let bytes: Buffer;
  let identity: FileIdentity;
  try {
    fd = fsx.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    identity = identityOf(fsx.fstatSync(fd, { bigint: true }));
    bytes = fsx.readFileSync(fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      return { kind: 'bad', reason: 'symlink', message: 'became a symbolic link while being read', generation: null };
    }
    return unreadable(error);
  } finally {
    if (fd !== undefined) {
      try {
        fsx.closeSync(fd);
      } catch {
        // Nothing to do: the bytes are read.
      }
    }
  }
  const check = checkEnvelopeBytes(bytes, validateSnapshot);
  if (!check.ok) return { kind: 'bad', reason: check.reason, message: check.message, generation: check.generation };
  return { kind: 'ok', envelope: check.envelope, identity };
}

function unreadable(error: unknown): ReadLedgerFile {
  const e = error as NodeJS.ErrnoException;
  return { kind: 'bad', reason: 'unreadable', message: `cannot be read (${e.code ?? 'error'}: ${e.message})`, generation: null };
}

/** `2024-05-01T10-20-30.123Z`: ISO time without colons, safe in file names everywhere. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/:/g, '-');
}

/**
 * Move `file` (as is: a symlink stays a link, a directory stays a directory) into `quarantineDir` as
 * `<stem>.<timestamp>.<reason><ext>`, adding `-2`, `-3`… rather than replace an earlier quarantined file.
 * Nothing is deleted. Returns the new path.
 * @throws the fs error when the move fails.
 */
export function moveToQuarantine(
  fsx: LedgerFs,
  file: string,
  quarantineDir: string,
  names: { stem: string; ext: string },
  reason: LedgerProblemReason,
  now: Date,
): string {
  fsx.mkdirSync(quarantineDir, { recursive: true, mode: 0o700 });
  const base = `${names.stem}.${fileTimestamp(now)}.${reason}`;
  for (let n = 1; ; n += 1) {
    const target = path.join(quarantineDir, `${base}${n === 1 ? '' : `-${n}`}${names.ext}`);
    // Only the lock holder quarantines, so check-then-rename does not race another writer.
    if (fsx.lstatSync(target, { throwIfNoEntry: false }) !== undefined) continue;
    fsx.renameSync(file, target);
    return target;
  }
}

/** The `node:fs` calls the cache flags make, swappable so tests can inject faults. */
export type FlagFs = AtomicWriteFs & Pick<typeof fs, 'lstatSync'>;

/**
 * Write a cache flag for older consumers (LG-5): a small JSON file, 0600, through the ledger's atomic
 * write (a fresh `O_EXCL` temp file, never through a planted link, renamed over the flag). Not fsynced:
 * a flag is a cache nothing decides from; a power loss can only lose one, which a later launch writes
 * again (the flags are checked against the ledger at every start).
 * @throws the fs error (the caller journals it; a flag never fails a run).
 */
export function writeFlagFile(fsx: FlagFs, file: string, content: string): void {
  writeFileAtomicSync(fsx, file, content, { mode: 0o600, fsync: false });
}

/**
 * Remove a cache flag; a missing one is fine. A directory in its place is not removed (the error says so).
 * @throws the fs error other than ENOENT.
 */
export function removeFlagFile(fsx: FlagFs, file: string): void {
  try {
    fsx.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Whether a regular file (not a link, directory, FIFO…) is at `file`. Never throws. */
export function isRegularFile(fsx: FlagFs, file: string): boolean {
  try {
    return fsx.lstatSync(file, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
}
