import type { StatusesReading } from '../../machines/effects.js';
import type { PermissionName, PermissionStatus } from '../../machines/types.js';

/**
 * The port every TCC source implements: the simulated backend (`sim`) on any OS and the
 * `node-mac-permissions` adapter (`macos`) on macOS. The orchestrator only ever reads statuses and fires
 * requests; it never waits on a request to decide anything (MACOS-NOTES: activations may never settle or
 * may block their thread), so `activate` and `openSettings` are fire-and-forget by contract.
 */
export interface PermissionBackend {
  /** A short name for logs and the journal: `sim`, `macos`. */
  readonly name: string;
  /**
   * Read the current status. Must be quick and must not prompt.
   * @throws BackendError when the source cannot be read.
   */
  getStatus(permission: PermissionName): Promise<PermissionStatus>;
  /**
   * Optional: read several at once, when one read of the source serves them all (the simulated backend
   * reads its database once). Same rules as {@link getStatus}; a throw fails every one of them.
   */
  getStatuses?(permissions: readonly PermissionName[]): Promise<Partial<Record<PermissionName, PermissionStatus>>>;
  /**
   * Ask for the permission (the system prompt). Fire and forget: the returned promise settles when the
   * request was *sent*, never on the user's answer, and must not block the caller's thread.
   */
  activate(permission: PermissionName): Promise<void>;
  /** Open the System Settings pane for the permission. Fire and forget like `activate`. */
  openSettings(permission: PermissionName): Promise<void>;
  /** Release timers, workers, files. Safe to call twice. */
  close?(): Promise<void>;
}

/**
 * Read every permission once, in order, one at a time — what the precheck does (FR-1). A read that
 * throws is kept as its message; the others are still read. The service's `readStatuses` actor and the
 * warm launch (`src/runtime/warm-start.ts`) both read this way.
 */
export async function readEveryStatus(
  backend: PermissionBackend,
  permissions: readonly PermissionName[],
  now: () => number,
): Promise<StatusesReading> {
  const reading: StatusesReading = { statuses: {}, errors: {}, at: now() };
  if (backend.getStatuses) {
    try {
      const statuses = await backend.getStatuses(permissions);
      for (const permission of permissions) {
        const status = statuses[permission];
        if (status === undefined) reading.errors[permission] = 'no status returned';
        else reading.statuses[permission] = status;
      }
    } catch (error) {
      for (const permission of permissions) reading.errors[permission] = error instanceof Error ? error.message : String(error);
    }
    return reading;
  }
  for (const permission of permissions) {
    try {
      reading.statuses[permission] = await backend.getStatus(permission);
    } catch (error) {
      reading.errors[permission] = error instanceof Error ? error.message : String(error);
    }
  }
  return reading;
}
