/**
 * The moment this process loads the machines (xstate, the service) — which a warm launch never does
 * (`warm-start.ts`). The CLI launcher (bin/first-run.js) writes its V8 code cache right then, when it
 * has one to write: a cache holds every function compiled so far, so a cache written before the machines
 * load holds what a warm launch runs and not the machines (a warm launch that deserialized a first run's
 * whole cache paid ~3 ms for code it never runs, measured).
 */
let loading: (() => void) | null = null;

/** Run `callback` once, when (and if) this process is about to load the machines. */
export function whenMachinesLoad(callback: () => void): void {
  loading = callback;
}

/** Called by the runtime right before it loads the machines. A failing callback never stops a run. */
export function noteMachinesLoading(): void {
  const callback = loading;
  loading = null;
  try {
    callback?.();
  } catch {
    // only a cache: the run goes on
  }
}

let warmSettled = false;

/** Called by the runtime when a launch settled warm, without the machines (`warm-start.ts`). */
export function noteWarmSettled(): void {
  warmSettled = true;
}

/**
 * Whether a launch in this process settled warm. The launcher writes the complete `launch` code cache
 * only after such a run: one written by a launch that exited early (another instance holds the lock, a
 * usage error, a held successor told nothing) would hold too little, and stay.
 */
export function settledWarm(): boolean {
  return warmSettled;
}
