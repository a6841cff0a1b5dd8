/**
 * The Stately inspector (SPEC IN-1): XState inspection events, converted by `@statelyai/inspect`'s
 * `createInspector`, streamed over a WebSocket to a relay (ours, {@link startStatelyRelay}, or
 * `@statelyai/inspect/server`'s `createInspectorServer`), whose page embeds the Stately web
 * inspector — that page, and only it, needs the internet.
 *
 * What this adds to `@statelyai/inspect` 0.7.2's own `createWebSocketInspector` (see docs/inspect.md):
 * - **Close flushes.** `createInspector` converts each event on a `setTimeout(0)`; 0.7.2's adapter
 *   closes its socket at `stop()`, losing the last states of a process (its final snapshot never
 *   reaches the inspector). Here `close()` waits for those conversions, writes every queued message
 *   and closes the socket gracefully, for at most `closeTimeoutMs`; what could not be delivered by
 *   then is counted and reported once through `onWarning`.
 * - **Session ids unique across processes.** XState numbers actors `x:0`, `x:1`, … in every process,
 *   so a relaunched successor would reuse its predecessor's ids. Every session id sent (`sessionId`,
 *   `rootId`, `parentId`, `sourceId`) is prefixed with a per-process random id.
 * - **Never holds the process.** Reconnects (every `retryMs`) run on unref'd timers and stop at
 *   `close()`; an unreachable relay is reported once; messages wait in a bounded queue.
 * - `@statelyai/inspect` is an optional peer dependency, loaded only here (stately-module.ts).
 */
import { randomBytes } from 'node:crypto';
import type { InspectionEvent } from 'xstate';
import { UsageError } from '../errors.js';
import { safeReplacer } from '../safe-json.js';
import { pushBounded, RelayLink, type StatelyInspectionStats } from './stately-link.js';

export type { StatelyInspectionStats } from './stately-link.js';
import { loadStatelyInspect, loadWebSocketModule, type ModuleImporter, type StatelyMessage } from './stately-module.js';
import { monotonicClock } from '../clock-monotonic.js';

export { startStatelyRelay, type StatelyRelay, type StatelyRelayOptions, type StatelyRelayStats } from './stately-relay.js';

/** Options of {@link createStatelyInspection}. */
export interface StatelyInspectionOptions {
  /** The relay's WebSocket URL. @default 'ws://localhost:5678' */
  url?: string;
  /** Told once when the relay is not reachable, once when messages were lost at close, once when the package is missing. Never thrown. */
  onWarning?: (message: string) => void;
  /** How long the first connection may take before `onWarning` is told, ms. @default 3000 */
  connectTimeoutMs?: number;
  /**
   * Messages held while the relay is not connected: beyond, the oldest that is not an actor's registration
   * is dropped (and counted), so a viewer still learns of every actor. @default 1000
   */
  maxDeferred?: number;
  /** How long `close()` may spend delivering what is left, ms. @default 1000 */
  closeTimeoutMs?: number;
  /** The pause between connection attempts, ms. @default 5000 */
  retryMs?: number;
  /** Prefixed to every session id, so ids never collide across processes. @default a random id per process */
  sessionPrefix?: string;
  /** How `@statelyai/inspect` is imported (tests inject a failing one). @default Node's `import()` */
  importer?: ModuleImporter;
}

/** A live connection to the Stately inspector. */
export interface StatelyInspection {
  /** The XState inspection observer (the service's `inspect` option). Never throws. */
  inspect(event: InspectionEvent): void;
  /** Deliver what is left (at most `closeTimeoutMs`), then stop. Never rejects. */
  close(): Promise<void>;
  /** The prefix of every session id this process sends. */
  readonly sessionPrefix: string;
  readonly stats: Readonly<StatelyInspectionStats>;
}

/**
 * Checks a Stately relay URL.
 * @throws {UsageError} when it is not a `ws:` or `wss:` URL.
 */
export function parseStatelyUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UsageError(`Expected \`--inspect-url\` to be a WebSocket URL such as ws://localhost:5678, got \`${url}\`.`, { cause: error });
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new UsageError(`Expected \`--inspect-url\` to be a ws:// or wss:// URL such as ws://localhost:5678, got \`${url}\`.`);
  }
  return parsed;
}

/** A random id for this process, fixed for its life: the default session prefix. */
const PROCESS_PREFIX = `p${process.pid}-${randomBytes(3).toString('hex')}`;

const SESSION_FIELDS = ['sessionId', 'rootId', 'parentId', 'sourceId'] as const;

/** The message with every session id prefixed (a shallow copy). */
export function prefixSessionIds(message: StatelyMessage, prefix: string): StatelyMessage {
  const copy: StatelyMessage = { ...message };
  for (const field of SESSION_FIELDS) {
    const value = copy[field];
    if (typeof value === 'string' && value !== 'anonymous') copy[field] = `${prefix}:${value}`;
  }
  return copy;
}

/** An actor ref (a child in `children`) becomes its session id — all the inspector needs; functions go. */
function forInspector(value: unknown): unknown {
  if (typeof value === 'function') return undefined;
  const ref = value as { sessionId?: unknown; send?: unknown } | null;
  if (ref !== null && typeof ref === 'object' && typeof ref.sessionId === 'string' && typeof ref.send === 'function') return { id: ref.sessionId };
  return value;
}

/** JSON of a message (snapshots hold actor refs and may share or cycle objects); `null` when it throws. */
function toJson(message: StatelyMessage): string | null {
  try {
    return JSON.stringify(message, safeReplacer(forInspector));
  } catch {
    return null; // a throwing toJSON or getter
  }
}

/**
 * Streams XState inspection events to a Stately inspector relay. Returns at once; `@statelyai/inspect`
 * is imported in the background and events are held meanwhile.
 *
 * @throws {UsageError} when `url` is not a ws(s) URL.
 * @example
 * ```ts
 * const stately = createStatelyInspection({ url: 'ws://127.0.0.1:5678', onWarning: console.warn });
 * const service = createFirstRunService({ ...options, inspect: stately.inspect });
 * // …
 * await stately.close(); // the last states are delivered
 * ```
 */
export function createStatelyInspection(options: StatelyInspectionOptions = {}): StatelyInspection {
  const url = parseStatelyUrl(options.url ?? 'ws://localhost:5678').href.replace(/\/$/, '');
  const maxDeferred = Math.max(1, options.maxDeferred ?? 1000);
  const prefix = options.sessionPrefix ?? PROCESS_PREFIX;
  const warnedAbout = new Set<string>();
  const warn = (kind: string, message: string) => {
    if (warnedAbout.has(kind)) return;
    warnedAbout.add(kind);
    try {
      options.onWarning?.(message);
    } catch {
      // ignore a broken callback
    }
  };
  const link = new RelayLink({ url, maxDeferred, retryMs: options.retryMs ?? 5000, connectTimeoutMs: options.connectTimeoutMs ?? 3000, warn });
  let pending: InspectionEvent[] = [];
  let next: ((event: InspectionEvent) => void) | null = null;
  let closed = false;

  const loading = loadStatelyInspect('The Stately inspector (--inspect)', options.importer)
    .then(({ createInspector }) => {
      if (closed && pending.length === 0) return;
      const ws = loadWebSocketModule();
      const inspector = createInspector(
        { start: () => link.start(ws), stop: () => {}, send: (message) => link.send(toJson(prefixSessionIds(message, prefix)), message.type === '@xstate.actor') },
        { autoStart: false },
      );
      inspector.start();
      next = (event) => inspector.inspect.next?.(event);
      for (const event of pending) next(event);
      pending = [];
    })
    .catch((error: unknown) => {
      warn('load', `The Stately inspector could not start: ${error instanceof Error ? error.message : String(error)} Inspection is off; the app is not affected.`);
      pending = [];
    });

  return {
    sessionPrefix: prefix,
    get stats() {
      return link.stats;
    },
    inspect(event: InspectionEvent): void {
      try {
        if (closed) return;
        if (next) next(event);
        else {
          if (pushBounded(pending, event, (held) => held.type === '@xstate.actor', maxDeferred)) link.stats.dropped++;
        }
      } catch {
        // Never break the actor system.
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // On the monotonic clock (epoch-like ms): a wall clock set back must not hold exit.
      const deadline = monotonicClock.now() + Math.max(0, options.closeTimeoutMs ?? 1000);
      // The import too is bounded by the deadline (an injected or slow loader must not hold exit).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([loading, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - monotonicClock.now())).unref()))]);
      clearTimeout(timer);
      // createInspector converts each event on a setTimeout(0): one more 0 ms timer runs after all of them.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await link.drain(deadline);
      const lost = link.stop();
      if (lost > 0) {
        warn('lost', `${lost} Stately inspection message(s) could not be delivered to the relay at ${url} before the process ended (it was not reachable in time).`);
      }
    },
  };
}
