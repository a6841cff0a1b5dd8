/**
 * Live inspection (SPEC IN-1, IN-2): the Stately inspector, the offline viewer's stream client and
 * server, and {@link createInspectionHooks}, the one function the CLI calls for `--inspect`,
 * `--inspect-url` and `--inspect-viewer`.
 *
 * @packageDocumentation
 */
import type { InspectionEvent } from 'xstate';
import { createStatelyInspection, type StatelyInspection } from './stately.js';
import { createViewerClient, type ViewerClient } from './viewer-client.js';

export {
  createStatelyInspection,
  startStatelyRelay,
  parseStatelyUrl,
  prefixSessionIds,
  type StatelyInspection,
  type StatelyInspectionOptions,
  type StatelyInspectionStats,
  type StatelyRelay,
  type StatelyRelayOptions,
  type StatelyRelayStats,
} from './stately.js';
export { loadStatelyInspect, STATELY_PACKAGE, type ModuleImporter, type StatelyMessage } from './stately-module.js';
export { createViewerClient, parseViewerUrl, type ViewerClient, type ViewerClientOptions, type ViewerClientStats } from './viewer-client.js';
export {
  startViewerServer,
  resolveBindOptions,
  isLoopbackHost,
  isLoopbackHostHeader,
  ViewerStore,
  type ViewerServer,
  type ViewerServerOptions,
  type ViewerState,
  type ViewerPatch,
  type ActorRecord,
  type SessionRecord,
  type LogEntry,
  type PhaseEntry,
  type LedgerView,
} from './viewer-server.js';
export { PROTOCOL_VERSION, MESSAGE_KINDS, parseMessage, activeStateIds, type ViewerMessage, type ActorInfo, type MessageKind } from './protocol.js';

/** Options of {@link createInspectionHooks}. */
export interface InspectionHooksOptions {
  /** Stream to the Stately inspector relay at `url` (`ws://localhost:5678`). @default off */
  stately?: { url: string };
  /** Stream to the offline viewer at `url` (as `first-run inspect` prints it). @default off */
  viewer?: { url: string };
  /**
   * Told once per target that cannot be reached (inspection never throws and never stops the app).
   * @default a Node process warning (`process.emitWarning`, on stderr)
   */
  onWarning?: (message: string) => void;
}

/** What the host wires into a run. */
export interface InspectionHooks {
  /** The XState inspection observer: pass as `createFirstRunService({ inspect })`. Never throws. */
  inspect(event: InspectionEvent): void;
  /**
   * Forward a contract event to the viewer: every `service.on('*')` event, and the runtime's
   * `ledger.committed {generation, phase, restart_count}` (the viewer's ledger panel reads it).
   * Never throws.
   */
  publish(event: { readonly type: string }): void;
  /** Send what is left (bounded: about 1 s) and stop. Never rejects. */
  close(): Promise<void>;
}

/**
 * The inspection hooks for a run: any of the Stately inspector and the offline viewer, or neither
 * (then every hook is a no-op).
 *
 * @throws {UsageError} when a URL is malformed (`stately.url` must be ws(s), `viewer.url` http(s)).
 * @example
 * ```ts
 * const hooks = createInspectionHooks({ viewer: { url: 'http://127.0.0.1:5680/' } });
 * const service = createFirstRunService({ ...options, inspect: hooks.inspect });
 * service.on('*', hooks.publish);
 * // after every ledger commit: hooks.publish({ type: 'ledger.committed', generation, phase, restart_count });
 * await service.whenSettled();
 * await hooks.close();
 * ```
 */
export function createInspectionHooks(options: InspectionHooksOptions): InspectionHooks {
  const onWarning =
    options.onWarning ??
    ((message: string) => {
      process.emitWarning(message, { code: 'FIRST_RUN_INSPECTION' });
    });
  const stately: StatelyInspection | null = options.stately ? createStatelyInspection({ url: options.stately.url, onWarning }) : null;
  const viewer: ViewerClient | null = options.viewer ? createViewerClient({ url: options.viewer.url, onWarning }) : null;
  return {
    inspect(event) {
      stately?.inspect(event);
      viewer?.inspect(event);
    },
    publish(event) {
      viewer?.publish(event);
    },
    async close() {
      await Promise.all([stately?.close(), viewer?.close()]);
    },
  };
}
