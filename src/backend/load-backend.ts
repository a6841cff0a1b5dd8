/**
 * Choose and create the permission backend: `macos` (node-mac-permissions, loaded lazily) or `sim`
 * (the simulated TCC database). The default follows the platform, decided in `platform.ts`.
 */
import { UsageError } from '../errors.js';
import { isMacOS } from '../platform.js';
import type { PermissionBackend } from './permission-backend.js';

export type BackendKind = 'sim' | 'macos';

export interface LoadBackendOptions {
  /** @default 'macos' on macOS, 'sim' elsewhere */
  kind?: BackendKind;
  /** The simulated TCC database, for `sim`. */
  simDb?: string;
}

/**
 * @throws UsageError when `sim` has no database; BackendUnavailableError when `macos` cannot load here.
 */
export async function loadBackend(options: LoadBackendOptions): Promise<PermissionBackend> {
  const kind = options.kind ?? (isMacOS() ? 'macos' : 'sim');
  if (kind === 'sim') {
    if (!options.simDb) {
      throw new UsageError(
        'The sim backend needs its database: pass `--sim-db FILE` (format: docs/sim-backend.md; `first-run demo` makes one for you).',
      );
    }
    const { createSimBackend } = await import('./sim-backend.js');
    return createSimBackend({ file: options.simDb });
  }
  const { createMacBackend } = await import('./macos-backend.js');
  return createMacBackend();
}
