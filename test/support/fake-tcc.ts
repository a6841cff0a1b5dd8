import type { PermissionName, PermissionStatus } from '../../machines/types.js';
import type { PermissionBackend } from '../../src/backend/permission-backend.js';
import type { Clock } from '../../src/clock.js';

export interface FakePermission {
  status: PermissionStatus;
  /** What the user answers to the prompt, and when. */
  onRequest?: { result: 'granted' | 'denied' | 'none'; afterMs: number; afterRestart?: boolean };
  /** What the user does in System Settings, and when. */
  onSettings?: { result: 'granted' | 'denied' | 'none'; afterMs: number; afterRestart?: boolean };
}

/**
 * An in-memory TCC shared by the "processes" of one test (each process is a `view(bootTime)`), on a
 * manual clock. Prompts only from not_determined, once; grants marked `afterRestart` read as granted
 * only in a process started after the grant (Screen Recording).
 */
export class FakeTcc {
  readonly activations: { permission: PermissionName; at: number; process: number }[] = [];
  readonly settingsOpened: { permission: PermissionName; at: number; process: number }[] = [];
  private readonly state = new Map<PermissionName, FakePermission & { prompted?: boolean; pending?: { result: string; at: number; afterRestart: boolean }; grantedAt?: number; effectiveAfterRestart?: boolean }>();
  private processes = 0;

  constructor(
    readonly clock: Clock,
    permissions: Partial<Record<PermissionName, FakePermission>>,
  ) {
    for (const [name, value] of Object.entries(permissions)) this.state.set(name as PermissionName, { ...value });
  }

  private settle(name: PermissionName) {
    const entry = this.state.get(name);
    if (!entry?.pending || this.clock.now() < entry.pending.at) return entry;
    const { result, at, afterRestart } = entry.pending;
    entry.pending = undefined;
    if (result === 'granted') {
      entry.status = 'granted';
      entry.grantedAt = at;
      entry.effectiveAfterRestart = afterRestart;
    } else if (result === 'denied') entry.status = 'denied';
    return entry;
  }

  /** The backend one process sees. */
  view(): PermissionBackend & { process: number } {
    const process = ++this.processes;
    const startedAt = this.clock.now();
    const openSettings = async (permission: PermissionName) => {
      this.settingsOpened.push({ permission, at: this.clock.now(), process });
      const entry = this.settle(permission);
      if (!entry || entry.status === 'restricted' || entry.status === 'granted') return;
      if (entry.onSettings && entry.onSettings.result !== 'none' && !entry.pending) {
        entry.pending = {
          result: entry.onSettings.result,
          at: this.clock.now() + entry.onSettings.afterMs,
          afterRestart: entry.onSettings.afterRestart ?? false,
        };
      }
    };
    return {
      name: 'fake',
      process,
      getStatus: async (permission) => {
        const entry = this.settle(permission);
        if (!entry) return 'granted';
        if (entry.status === 'granted' && entry.effectiveAfterRestart && (entry.grantedAt ?? 0) >= startedAt) {
          return 'denied';
        }
        return entry.status;
      },
      activate: async (permission) => {
        this.activations.push({ permission, at: this.clock.now(), process });
        const entry = this.settle(permission);
        // Like askForAccessibilityAccess(): no prompt, it opens System Settings.
        if (permission === 'accessibility' && entry && entry.status === 'denied') return openSettings(permission);
        if (!entry || entry.status !== 'not_determined' || entry.prompted) return;
        entry.prompted = true;
        if (entry.onRequest && entry.onRequest.result !== 'none') {
          entry.pending = {
            result: entry.onRequest.result,
            at: this.clock.now() + entry.onRequest.afterMs,
            afterRestart: entry.onRequest.afterRestart ?? false,
          };
        }
      },
      openSettings,
    };
  }
}
