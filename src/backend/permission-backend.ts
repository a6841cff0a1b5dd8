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
   * Ask for the permission (the system prompt). Fire and forget: the returned promise settles when the
   * request was *sent*, never on the user's answer, and must not block the caller's thread.
   */
  activate(permission: PermissionName): Promise<void>;
  /** Open the System Settings pane for the permission. Fire and forget like `activate`. */
  openSettings(permission: PermissionName): Promise<void>;
  /** Release timers, workers, files. Safe to call twice. */
  close?(): Promise<void>;
}
