/**
 * Monotonic time without loading `perf_hooks` (`performance` loads Node's whole perf machinery on first
 * use, a few ms of every start): `process.hrtime`, which is always there.
 */

/** Milliseconds on a monotonic clock (arbitrary origin): only differences mean anything. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** This process's start, as wall-clock epoch ms (to the millisecond). */
export function processStartedAtMs(): number {
  return Date.now() - process.uptime() * 1000;
}

const wallAtLoad = Date.now();
const monoAtLoad = monotonicMs();

/**
 * A clock for bounded waits: the wall time when this module loaded plus monotonic time since — so a
 * wall clock that jumps during a wait neither stretches nor cuts it.
 */
export const monotonicClock = { now: (): number => Math.round(wallAtLoad + (monotonicMs() - monoAtLoad)) };
