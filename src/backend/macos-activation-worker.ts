/**
 * The code that runs one macOS activation call inside a `worker_threads` Worker, and the messages it
 * sends back. Why a worker (MACOS-NOTES): `askForMicrophoneAccess()` never settles if the user ignores the
 * prompt, and `askForInputMonitoringAccess()` runs `IOHIDRequestAccess` on the calling JS thread, which can
 * block that thread until the user answers. On the main thread either would hold up the step's timebox.
 * In a worker the hang is the worker's problem; the orchestrator only waits for the hand-off.
 *
 * The worker is started with `eval: true` from {@link MAC_ACTIVATION_WORKER_SOURCE}, plain CommonJS, so it
 * runs the same from `src/` under vitest (where a `.ts` worker file could not be loaded by Node 20) and
 * from `dist/` in an app. It `require`s the module at `modulePath` itself (a native addon is per thread),
 * posts `calling` *before* making the call (so a call that blocks cannot delay the hand-off), then reports
 * how the call ended.
 */

import type { MacAsk } from '../../machines/permissions.js';

/** The `node-mac-permissions` functions an activation may call (the catalogue's `macAsk` calls). */
export type MacActivationCall = MacAsk['call'];

/** The `workerData` of an activation worker. Plain structured-clonable data. */
export interface MacActivationRequest {
  /** Absolute path (or resolvable specifier) of the module the worker `require`s. */
  modulePath: string;
  /** The function to call on it. */
  call: MacActivationCall;
  /** The arguments, passed verbatim. */
  args: ReadonlyArray<string | boolean>;
}

/**
 * What an activation worker posts to its parent, in order: `calling` (or `failed` at stage `load`), then
 * at most one of `returned` (a sync call returned), `settled` (its promise resolved) or `failed` at stage
 * `call`. A call that never settles or blocks posts nothing after `calling`.
 */
export type MacActivationWorkerMessage =
  | { type: 'calling' }
  | { type: 'returned'; value: string | null }
  | { type: 'settled'; value: string | null }
  | { type: 'failed'; stage: 'load' | 'call'; message: string; code: string | null };

/**
 * The activation worker's source, CommonJS, for `new Worker(source, { eval: true, workerData })` with a
 * {@link MacActivationRequest} as `workerData`.
 */
export const MAC_ACTIVATION_WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');

function show(value) {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : String(value);
}

function fail(stage, error) {
  parentPort.postMessage({
    type: 'failed',
    stage,
    message: error instanceof Error ? error.message : String(error),
    code: error !== null && typeof error === 'object' && typeof error.code === 'string' ? error.code : null,
  });
}

function main() {
  const { modulePath, call, args } = workerData;
  let mod;
  try {
    mod = require(modulePath);
  } catch (error) {
    fail('load', error);
    return;
  }
  const fn = mod === null || mod === undefined ? undefined : mod[call];
  if (typeof fn !== 'function') {
    fail('load', new TypeError(modulePath + ' does not export a function ' + call + ' (found ' + typeof fn + ')'));
    return;
  }
  // Hand-off first: the call below may block this thread or never settle.
  parentPort.postMessage({ type: 'calling' });
  let result;
  try {
    result = fn.apply(mod, args);
  } catch (error) {
    fail('call', error);
    return;
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then(
      (value) => parentPort.postMessage({ type: 'settled', value: show(value) }),
      (error) => fail('call', error),
    );
  } else {
    parentPort.postMessage({ type: 'returned', value: show(result) });
  }
}

main();
`;
