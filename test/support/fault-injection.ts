/**
 * The test-only ways to turn the fault-injection hooks on (src/runtime/fault-injection.ts, SPEC HE-7):
 * the shipped runtime ignores `FIRST_RUN_FAULT_*` unless one of these ran in the process.
 */
import { resolve } from 'node:path';
import { FAULT_INJECTION_SWITCH } from '../../src/runtime/fault-injection.js';

/** Node flags that preload the test-only entry into a spawned CLI process (and its relaunched successor). */
export const FAULT_INJECTION_NODE_ARGS: readonly string[] = ['--import', resolve(import.meta.dirname, 'enable-fault-injection.mjs')];

/** Whether `env` sets a fault-injection variable (then a spawned process needs {@link FAULT_INJECTION_NODE_ARGS}). */
export function setsFaults(env: NodeJS.ProcessEnv): boolean {
  return Object.keys(env).some((name) => name.startsWith('FIRST_RUN_FAULT_'));
}

/** Turn the hooks on in this (the test's) process; returns how to turn them off again. */
export function enableFaultInjection(): () => void {
  const global = globalThis as Record<symbol, unknown>;
  global[FAULT_INJECTION_SWITCH] = true;
  return () => {
    delete global[FAULT_INJECTION_SWITCH];
  };
}
