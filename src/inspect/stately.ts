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
import { loadStatelyInspect, loadWebSocketModule, type ModuleImporter, type StatelyMessage, type WsModule, type WsSocket } from './stately-module.js';

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

/** What happened to the messages of a {@link StatelyInspection}. */
export interface StatelyInspectionStats {
  /** Messages written to the relay's socket (acknowledged by the socket layer). */
  sent: number;
  /** Messages dropped from the full queue while the relay was not connected. */
  dropped: number;
  /** Messages still queued or unacknowledged when `close()` gave up. */
  undelivered: number;
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

/** JSON with cycles and depth bounded (snapshots hold actor refs); never throws. */
function toJson(message: StatelyMessage): string | null {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(message, function (this: unknown, _key, value: unknown) {
      if (typeof value === 'function') return undefined;
      if (value !== null && typeof value === 'object') {
        if (seen.has(value)) return undefined;
        seen.add(value);
        // An actor ref (a child in `children`): its session id is all the inspector needs.
        const ref = value as { sessionId?: unknown; send?: unknown };
        if (typeof ref.sessionId === 'string' && typeof ref.send === 'function') return { id: ref.sessionId };
      }
      return value;
    });
  } catch {
    return null;
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
  const link = createRelayLink({ url, maxDeferred, retryMs: options.retryMs ?? 5000, connectTimeoutMs: options.connectTimeoutMs ?? 3000, warn });
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
          pending.push(event);
          if (pending.length > maxDeferred) {
            const oldest = pending.findIndex((held) => held.type !== '@xstate.actor');
            pending.splice(Math.max(0, oldest), 1);
            link.stats.dropped++;
          }
        }
      } catch {
        // Never break the actor system.
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const deadline = Date.now() + Math.max(0, options.closeTimeoutMs ?? 1000);
      await loading;
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

interface RelayLinkOptions {
  url: string;
  maxDeferred: number;
  retryMs: number;
  connectTimeoutMs: number;
  warn: (kind: string, message: string) => void;
}

/** The WebSocket to the relay: a bounded queue, reconnects on unref'd timers, acknowledged writes. */
function createRelayLink(options: RelayLinkOptions) {
  const stats: StatelyInspectionStats = { sent: 0, dropped: 0, undelivered: 0 };
  /** Registrations are kept when the queue overflows: a viewer cannot show an actor it never saw registered. */
  let queue: { text: string; registration: boolean }[] = [];
  let unacknowledged = 0;
  let socket: WsSocket | null = null;
  let open = false;
  let stopped = false;
  let everOpened = false;
  let ws: WsModule | null = null;
  let retry: NodeJS.Timeout | null = null;
  let lastAttempt = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };

  function write() {
    while (open && socket && queue.length > 0) {
      const { text } = queue.shift()!;
      unacknowledged++;
      socket.send(text, (error) => {
        unacknowledged--;
        if (error) stats.undelivered++;
        else stats.sent++;
        wake();
      });
    }
    wake();
  }

  function connect() {
    if (stopped || !ws) return;
    retry = null;
    lastAttempt = Date.now();
    let current: WsSocket;
    try {
      current = new ws(options.url);
    } catch {
      schedule();
      return;
    }
    socket = current;
    current.on('error', () => {}); // followed by 'close'; an error without a listener would be thrown
    current.on('open', () => {
      open = true;
      everOpened = true;
      write();
    });
    current.on('close', () => {
      if (socket === current) {
        open = false;
        socket = null;
      }
      wake();
      schedule();
    });
  }

  function schedule() {
    if (stopped || retry) return;
    retry = setTimeout(connect, options.retryMs);
    retry.unref();
  }

  return {
    stats,
    start(module: WsModule) {
      ws = module;
      connect();
      setTimeout(() => {
        if (!everOpened && !stopped) {
          options.warn(
            'unreachable',
            `The Stately inspector relay at ${options.url} is not reachable; inspection continues without it (the last ${options.maxDeferred} messages are held). ` +
              'Start the relay (see docs/inspect.md) — the app is not affected.',
          );
        }
      }, options.connectTimeoutMs).unref();
    },
    send(text: string | null, registration: boolean) {
      if (text === null || stopped) return;
      queue.push({ text, registration });
      if (queue.length > options.maxDeferred) {
        const oldest = queue.findIndex((entry) => !entry.registration);
        queue.splice(Math.max(0, oldest), 1);
        stats.dropped++;
      }
      write();
    },
    /** Wait until every message is acknowledged, or `deadline` (epoch ms); tries to connect at once if not connected. */
    async drain(deadline: number): Promise<void> {
      if (!ws) return;
      const done = () => queue.length === 0 && unacknowledged === 0;
      while (!done() && Date.now() < deadline) {
        // Not connected: try again now (the regular retry may be seconds away), at most every 100 ms.
        if (!open && !socket && Date.now() - lastAttempt >= 100) {
          if (retry) clearTimeout(retry);
          connect();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, Math.max(1, Math.min(100, deadline - Date.now())));
          function finish() {
            clearTimeout(timer);
            waiters.delete(finish);
            resolve();
          }
          waiters.add(finish);
        });
      }
    },
    /** Stop for good: close the socket gracefully; returns how many messages were not delivered. */
    stop(): number {
      stopped = true;
      if (retry) clearTimeout(retry);
      const lost = queue.length + unacknowledged;
      stats.undelivered += queue.length;
      queue = [];
      const current = socket;
      socket = null;
      open = false;
      if (current) {
        try {
          current.close(1000, 'closed');
        } catch {
          current.terminate();
        }
        // A peer that never answers the close handshake must not hold the process.
        setTimeout(() => current.terminate(), 1000).unref();
      }
      return lost;
    },
  };
}
