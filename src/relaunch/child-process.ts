/**
 * Our children, handled so that no failure of `spawn` or `kill` escapes (HE-2). Node reports a spawn
 * that could not start in two ways: it throws (most errors), or — for EMFILE, ENFILE, EAGAIN, ENOENT and
 * EACCES — returns a child *without a PID* (and, for EMFILE/ENFILE, without `stdio`) and emits `error`
 * on the next tick. Such a child still has a native handle, and `child.kill()` then signals PID 0: our
 * whole process group. So a child is signalled only when {@link isLiveChild} says it is one, and every
 * child gets an `error` listener for its whole life (a failed `kill` emits `error` too, which without a
 * listener is an uncaught exception).
 */
import type { ChildProcess } from 'node:child_process';

/**
 * Whether `child` is a live child of ours that may be signalled: a PID of its own (a positive integer;
 * never 0, negative or missing) and no exit seen yet.
 */
export function isLiveChild(child: ChildProcess | null | undefined): child is ChildProcess & { pid: number } {
  if (!child) return false;
  const pid = child.pid;
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0 && child.exitCode === null && child.signalCode === null;
}

/**
 * SIGKILL `child` when it is a live child of ours ({@link isLiveChild}); anything else is left alone.
 * @returns `killed`, `not-live` (nothing was sent), or the error of a `kill` that failed (never thrown).
 */
export function killChild(child: ChildProcess | null | undefined): 'killed' | 'not-live' | Error {
  if (!isLiveChild(child)) return 'not-live';
  try {
    return child.kill('SIGKILL') ? 'killed' : 'not-live';
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Keep an `error` listener on `child` for its whole life, reporting each error once to `onError`.
 * @returns `child`
 */
export function watchChildErrors<T extends ChildProcess>(child: T, onError: (error: NodeJS.ErrnoException) => void): T {
  child.on('error', onError);
  return child;
}

/** What became of a spawn: started (it has a PID), or the error that stopped it. */
export type SpawnOutcome = { ok: true; pid: number } | { ok: false; error: NodeJS.ErrnoException };

/**
 * Whether the spawn of `child` started a process. A child with a PID has (nothing is awaited then); one
 * without waits for its `error` event, which Node emits on the next tick.
 */
export function spawnOutcome(child: ChildProcess): Promise<SpawnOutcome> {
  if (isLiveChild(child)) return Promise.resolve({ ok: true, pid: child.pid });
  return new Promise((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, error }));
    // A child without a PID whose `error` never comes (not one Node makes today): bounded all the same.
    setTimeout(() => resolve({ ok: false, error: Object.assign(new Error('spawn returned no process id'), { code: 'ENOPID' }) }), 1000).unref();
  });
}
