/**
 * Opening a file that someone else may have planted: check what it is *on the open descriptor* before
 * reading a byte, never after.
 *
 * `readFileSync(path)` on a FIFO blocks until a writer appears (forever, and a blocked main thread
 * ignores SIGTERM); on `/dev/zero` it reads until memory runs out; on a directory it fails with a
 * misleading EISDIR; through a symlink in the state dir it reads whatever the link's author chose. So:
 * `open(O_RDONLY | O_NONBLOCK [| O_NOFOLLOW])` — a FIFO opens at once instead of blocking —, `fstat` the
 * descriptor (no race between the check and the read), refuse anything that is not a regular file or is
 * larger than the caller's bound, then read at most that bound.
 */
import * as fs from 'node:fs';

const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** How a file is opened by {@link readRegularFileSync}. */
export interface RegularFileOptions {
  /** Refuse a larger file (and never read more than this). */
  maxBytes: number;
  /**
   * Refuse a symlink at the path itself (`O_NOFOLLOW`): for files inside the state dir, which only this
   * product writes. A user-named file (`--config`) may be a symlink. @default false
   */
  noFollow?: boolean;
}

/** Why a file was refused before reading: an `Error` with `code` `ENOTREG` or `EFBIG`, or the errno of `open`. */
export class UnsafeFileError extends Error {
  readonly code: 'ENOTREG' | 'EFBIG';
  readonly file: string;
  /** What was found: `a FIFO (named pipe)`, `a directory`, `1048577 bytes`, … */
  readonly found: string;
  constructor(file: string, code: 'ENOTREG' | 'EFBIG', found: string, message: string) {
    super(message);
    this.name = 'UnsafeFileError';
    this.code = code;
    this.file = file;
    this.found = found;
  }
}

/** What kind of thing a stat describes, in words for an error message. */
export function describeFileType(stat: fs.Stats | fs.BigIntStats): string {
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function flagsFor(options: RegularFileOptions): number {
  return O_RDONLY | O_NONBLOCK | (options.noFollow ? O_NOFOLLOW : 0);
}

function check(file: string, stat: fs.Stats | fs.BigIntStats, options: RegularFileOptions): void {
  if (!stat.isFile()) throw new UnsafeFileError(file, 'ENOTREG', describeFileType(stat), `${file} is ${describeFileType(stat)}, expected a regular file`);
  if (stat.size > options.maxBytes) {
    throw new UnsafeFileError(file, 'EFBIG', `${stat.size} bytes`, `${file} is ${stat.size} bytes, expected at most ${options.maxBytes} bytes`);
  }
}

/**
 * Read a small regular file without ever blocking on it or reading more than `maxBytes`.
 * @throws {UnsafeFileError} (`ENOTREG`, `EFBIG`) or the errno error of `open` (`ENOENT`, `ELOOP` for a
 *   symlink with `noFollow`, `EACCES`, …).
 */
export function readRegularFileSync(file: string, options: RegularFileOptions): Buffer {
  return readRegularFileWithIdentitySync(file, options).bytes;
}

/**
 * What tells one version of a file from another without reading it: device, inode, size, mtime and
 * ctime. A replace (rename) always changes it; an in-place rewrite changes it unless it happens within
 * the file system's timestamp tick and keeps the size — so a version is only to be trusted once the
 * file is older than that ({@link isSettledVersion}), as git does with "racily clean" index entries.
 */
export type FileVersion = string;

/** How long after its last change a file's version is trusted to change with its content (timestamps are coarse). */
export const SETTLED_MS = 2_000;

/** Whether `version` was last changed long enough before `now` (epoch ms) to be trusted (see {@link FileVersion}). */
export function isSettledVersion(version: FileVersion, now: number): boolean {
  return now - Number(version.split(':')[3] ?? '0') > SETTLED_MS;
}

/** The version of what is at `file` now (following a symlink, as a read does); `null` when it is not a regular file or not there. */
export function fileVersionSync(file: string): FileVersion | null {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat?.isFile() ? versionOf(stat) : null;
}

/** Numbers, not bigints (cheap on a cold path): `mtimeMs`/`ctimeMs` keep sub-millisecond digits. */
function versionOf(stat: fs.Stats): FileVersion {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/**
 * {@link readRegularFileSync}, with the version of the file it read (from the open descriptor), so a
 * later {@link fileVersionSync} tells whether it changed since.
 */
export function readRegularFileWithIdentitySync(file: string, options: RegularFileOptions): { bytes: Buffer; version: FileVersion } {
  const fd = fs.openSync(file, flagsFor(options));
  try {
    const stat = fs.fstatSync(fd);
    check(file, stat, options);
    // Sized by the file (one byte more, to see it end), grown only if it grows while being read: a
    // buffer of `maxBytes` per read cost more than the read itself.
    let buffer = Buffer.allocUnsafe(Math.min(Number(stat.size), options.maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(Math.min(buffer.length, options.maxBytes + 1 - length))]);
      const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > options.maxBytes) {
        throw new UnsafeFileError(file, 'EFBIG', `more than ${options.maxBytes} bytes`, `${file} grew past ${options.maxBytes} bytes while being read`);
      }
    }
    return { bytes: buffer.subarray(0, length), version: versionOf(stat) };
  } finally {
    fs.closeSync(fd);
  }
}
