/**
 * The ledger's atomic write, by hand: temp file → write → fsync → rename (the caller fsyncs the
 * directory once, after everything it renamed in it).
 *
 * Why not `write-file-atomic` (used before): it cannot reach the floor of the mechanism (SPEC §5,
 * ≤ 1.2× the bare sequence). Per write it resolves the real path (lstat per path component), builds a
 * sha1 temp name, chowns and chmods the temp file, registers and removes a `signal-exit` handler (which
 * loads and unloads listeners for ~15 signals unless pinned), and it never fsyncs the directory (its
 * issue #64), which the ledger must do anyway. Measured here: ~0.11 ms per write over the bare
 * sequence, 1.28–1.41× in all; this function is the bare sequence (its temp created `O_EXCL | O_NOFOLLOW`). What we keep of
 * what it did: the temp file is in the same directory (so the rename is atomic), created 0600, removed
 * when the write fails. What we do not need: its in-process queue (the store has one), chown (the
 * process writes its own files), an exit handler (a temp left by a crash has a fixed name, so the next
 * write reuses it instead of leaving garbage).
 *
 * Hostile files and leftovers: the temp file is created with `O_CREAT | O_EXCL | O_NOFOLLOW`, so it is
 * always a new regular file of ours. Anything already at that name — a crash's leftover (which may even
 * be a hard link to the live ledger: the backup is made by linking the ledger to its temp name), a
 * planted symbolic link or FIFO — is never opened, followed or written through: it is unlinked (the name
 * is ours alone) and the create is tried once more.
 */
import { constants } from 'node:fs';
import type { LedgerFs } from './ledger-fs.js';

/** The `node:fs` calls of {@link writeFileAtomicSync} (a subset of the ledger's swappable fs). */
export type AtomicWriteFs = Pick<LedgerFs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

/** Options of {@link writeFileAtomicSync}. */
export interface AtomicWriteOptions {
  /** Mode of the file. */
  mode: number;
  /** fsync the temp file before the rename (the caller fsyncs the directory). */
  fsync: boolean;
}

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The temp file of `file`: fixed, in the same directory, so a crash's leftover is replaced, not piled up. */
function tempPathOf(file: string): string {
  return `${file}.tmp`;
}

/**
 * Write `data` to `file` atomically: readers see the old content or the new one, never a mix; with
 * `fsync`, the new content is on disk before it replaces the old (the rename itself is made durable by
 * the caller's directory fsync). Only one writer per file at a time (the instance lock guarantees it).
 * @throws the `node:fs` error of the step that failed; the temp file is removed, `file` is untouched.
 */
export function writeFileAtomicSync(fsx: AtomicWriteFs, file: string, data: string, options: AtomicWriteOptions): void {
  const tmp = tempPathOf(file);
  const fd = openTemp(fsx, tmp, options.mode);
  try {
    try {
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

/** Create the temp file afresh: whatever is at its name (a leftover, a link, a FIFO) is unlinked first. */
function openTemp(fsx: AtomicWriteFs, tmp: string, mode: number): number {
  try {
    return fsx.openSync(tmp, OPEN_FLAGS, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  fsx.unlinkSync(tmp);
  return fsx.openSync(tmp, OPEN_FLAGS, mode);
}
