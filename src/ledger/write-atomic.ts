/**
 * The ledger's atomic write, by hand: temp file → write → fsync → rename (the caller fsyncs the
 * directory once, after everything it renamed in it).
 *
 * Why not `write-file-atomic` (used before): it cannot reach the floor of the mechanism (SPEC §5,
 * ≤ 1.2× the bare sequence). Per write it resolves the real path (lstat per path component), builds a
 * sha1 temp name, chowns and chmods the temp file, registers and removes a `signal-exit` handler (which
 * loads and unloads listeners for ~15 signals unless pinned), and it never fsyncs the directory (its
 * issue #64), which the ledger must do anyway. Measured here: ~0.11 ms per write over the bare
 * sequence, 1.28–1.41× in all; this function is the bare sequence plus one `fstat`. What we keep of
 * what it did: the temp file is in the same directory (so the rename is atomic), created 0600, removed
 * when the write fails. What we do not need: its in-process queue (the store has one), chown (the
 * process writes its own files), an exit handler (a temp left by a crash has a fixed name, so the next
 * write reuses it instead of leaving garbage).
 *
 * Hostile files: the temp path is opened with `O_NOFOLLOW | O_NONBLOCK` and must be a regular file once
 * open: a symbolic link planted there is never followed, a FIFO neither blocks nor is written — either is
 * removed (the name is ours alone) and the write goes on.
 */
import { constants } from 'node:fs';
import type { LedgerFs } from './ledger-fs.js';

/** Options of {@link writeFileAtomicSync}. */
export interface AtomicWriteOptions {
  /** Mode of the file. */
  mode: number;
  /** fsync the temp file before the rename (the caller fsyncs the directory). */
  fsync: boolean;
}

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The temp file of `file`: fixed, in the same directory, so a crash's leftover is reused, not piled up. */
export function tempPathOf(file: string): string {
  return `${file}.tmp`;
}

/**
 * Write `data` to `file` atomically: readers see the old content or the new one, never a mix; with
 * `fsync`, the new content is on disk before it replaces the old (the rename itself is made durable by
 * the caller's directory fsync). Only one writer per file at a time (the instance lock guarantees it).
 * @throws the `node:fs` error of the step that failed; the temp file is removed, `file` is untouched.
 */
export function writeFileAtomicSync(fsx: LedgerFs, file: string, data: string, options: AtomicWriteOptions): void {
  const tmp = tempPathOf(file);
  const fd = openTemp(fsx, tmp, options.mode);
  try {
    try {
      if ((fsx.fstatSync(fd).mode & 0o777) !== options.mode) fsx.fchmodSync(fd, options.mode); // a leftover made otherwise
      const bytes = Buffer.from(data, 'utf8');
      for (let offset = 0; offset < bytes.length; ) offset += fsx.writeSync(fd, bytes, offset, bytes.length - offset);
      if (options.fsync) fsx.fsyncSync(fd);
    } finally {
      fsx.closeSync(fd);
    }
    fsx.renameSync(tmp, file);
  } catch (error) {
    try {
      fsx.unlinkSync(tmp);
    } catch {
      // already gone: the original error is what matters
    }
    throw error;
  }
}

/**
 * Open the temp file for writing. Something that is not a regular file at its path — a symbolic link
 * (ELOOP with O_NOFOLLOW), a FIFO (ENXIO with O_NONBLOCK and no reader; or a reader, caught by fstat), a
 * socket — is junk at a name that is ours alone: it is unlinked (never followed, never written) and the
 * open is tried once more.
 */
function openTemp(fsx: LedgerFs, tmp: string, mode: number): number {
  for (let attempt = 0; ; attempt++) {
    let fd: number | null = null;
    try {
      fd = fsx.openSync(tmp, OPEN_FLAGS, mode);
      if (fsx.fstatSync(fd).isFile()) return fd;
      fsx.closeSync(fd);
      fd = null;
      if (attempt > 0) throw Object.assign(new Error(`${tmp} is not a regular file; move it away`), { code: 'EFTYPE' });
    } catch (error) {
      if (fd !== null) fsx.closeSync(fd);
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt > 0 || (code !== 'ELOOP' && code !== 'ENXIO' && code !== 'EMLINK')) throw error;
    }
    fsx.unlinkSync(tmp);
  }
}
