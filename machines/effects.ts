/**
 * Placeholder implementations for the effects the machines declare. `machines/` does no I/O: every
 * actor and effectful action is a named slot in `setup()`, and `src/` binds the real ones with
 * `.provide()`. A placeholder that is reached without being provided fails loudly instead of silently
 * doing nothing.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { PermissionName, PermissionStatus } from './types.js';

/** The payload of the `publish` action: one event of the contract (EV-2). */
export interface PublishParams {
  type: string;
  payload?: Record<string, unknown>;
}

/**
 * What a status read returns: the status and the clock's time of the read (epoch ms). A read that failed
 * is `status: null` with the `error` message — the adapter never rejects, so the clock time is always known.
 */
export interface StatusReading {
  status: PermissionStatus | null;
  at: number;
  error?: string;
}

/** What a precheck (a read of every permission) returns. */
export interface StatusesReading {
  statuses: Partial<Record<PermissionName, PermissionStatus>>;
  /** Permissions whose read failed, with the message. */
  errors: Partial<Record<PermissionName, string>>;
  at: number;
}

export function notProvided(name: string): never {
  throw new Error(
    `The machine effect "${name}" was not provided. machines/ only declares effects; ` +
      'bind real ones with machine.provide(...) (src/ does this in createFirstRunService).',
  );
}

/** A promise actor placeholder that rejects when run unprovided. */
export function promisePlaceholder<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => notProvided(name));
}

/** A callback actor placeholder that throws when run unprovided. */
export function callbackPlaceholder<TInput>(name: string) {
  return fromCallback<{ type: string }, TInput>(() => notProvided(name));
}
