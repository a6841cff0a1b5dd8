/**
 * Whether this process has loaded the machines (xstate, the service) — which a warm launch never does
 * (`warm-start.ts`). The CLI launcher reads it to keep the V8 code cache of a warm launch apart from the
 * cache of a run through the machines (bin/first-run.js, docs/performance.md): a cache holds every
 * function the run that wrote it compiled, and a warm launch that loads a first run's cache pays ~3 ms
 * to deserialize code it never runs.
 */
let loaded = false;

/** Called by the runtime when it loads the machines. */
export function noteMachinesLoaded(): void {
  loaded = true;
}

/** Whether the machines were loaded in this process. */
export function machinesWereLoaded(): boolean {
  return loaded;
}
