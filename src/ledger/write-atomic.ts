import { createRequire } from 'node:module';
import writeFileAtomic from 'write-file-atomic';

/**
 * `write-file-atomic`'s sync write, kept fast.
 *
 * Why the pin: every `writeFileAtomic.sync` registers a `signal-exit` handler to delete its temp file on
 * exit and removes it afterwards; when it was the only one, `signal-exit` unloads and the next write loads
 * it again — a `process.on`/`removeListener` for ~15 signals per write. Measured here that is ~0.4 ms of a
 * ~1 ms fsync'd write (1.40× a hand-written temp+fsync+rename+dir-fsync; 1.15× with the pin). Holding one
 * no-op `onExit` registration on *write-file-atomic's own copy* of `signal-exit` while a store is open
 * keeps it loaded. Side effect, the same one every in-flight write already has: while pinned, signal-exit's
 * signal listeners stay installed (they re-raise a signal when nothing else listens, so default behaviour
 * is unchanged). When `signal-exit` cannot be resolved the pin is a no-op and writes are just slower.
 */
let pins = 0;
let release: (() => void) | null = null;

export function pinWriteFileAtomicExitHandler(): () => void {
  if (pins === 0) {
    try {
      const fromWfa = createRequire(createRequire(import.meta.url).resolve('write-file-atomic'));
      const signalExit = fromWfa('signal-exit') as { onExit?: (cb: () => void) => () => void };
      release = typeof signalExit.onExit === 'function' ? signalExit.onExit(() => {}) : null;
    } catch {
      release = null;
    }
  }
  pins += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    pins -= 1;
    if (pins === 0 && release) {
      release();
      release = null;
    }
  };
}

/** Atomic, fsync'd (unless `fsync: false`) write: temp file, fsync, rename. Does not fsync the directory. */
export function writeFileAtomicSync(file: string, data: string, options: writeFileAtomic.Options): void {
  writeFileAtomic.sync(file, data, options);
}
