/**
 * The rule of every retry loop with a deadline here (the instance lock, the simulated backend's mutex):
 * give up only on an attempt *made* at or after the deadline. A process paused (SIGSTOP, a sleeping
 * machine, a debugger, a blocked event loop) between an attempt and its reading of the clock would
 * otherwise give up on what it saw before the pause — a resource that may have been free for long.
 * Such an attempt is followed by one more at once; the caller allows that once (a wall clock set back
 * must not turn it into a spin; the loops here use monotonic time anyway).
 * Otherwise: sleep until the next try (`pauseMs`), never past the deadline, at least 1 ms.
 */
export function pauseAfterRefusal(attemptedAt: number, now: number, limit: number, pauseMs: number): 'give-up' | number {
  if (attemptedAt >= limit) return 'give-up';
  if (now >= limit) return 0;
  return Math.max(1, Math.min(pauseMs, limit - now));
}
