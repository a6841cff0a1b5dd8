/**
 * The Stately inspector (SPEC IN-1) through `@statelyai/inspect`, loaded only when asked for.
 *
 * `createStatelyInspection` streams the XState inspection events over a WebSocket to a relay;
 * `startStatelyRelay` starts that relay (`createInspectorServer` of `@statelyai/inspect/server`),
 * whose page embeds the Stately web inspector — that page, and only it, needs the internet.
 *
 * Limits of `@statelyai/inspect` 0.7.2 worked around here: its WebSocket adapter retries an
 * unreachable relay every 5 s forever with a timer that keeps Node alive, and says nothing; here the
 * retry timer is unref'd and stops at `close()`, and an unreachable relay is reported once through
 * `onWarning`. Its relay server binds every interface (it takes no host option) and would open a
 * browser through a shell: `startStatelyRelay` never lets it open one.
 */
import type { InspectionEvent } from 'xstate';
import { UsageError } from '../errors.js';

/** Options of {@link createStatelyInspection}. */
export interface StatelyInspectionOptions {
  /** The relay's WebSocket URL. @default 'ws://localhost:5678' */
  url?: string;
  /** Told once when the relay is not reachable within `connectTimeoutMs` (never thrown). */
  onWarning?: (message: string) => void;
  /** @default 3000 */
  connectTimeoutMs?: number;
  /** Events held until the module is loaded and the relay is open (oldest dropped beyond). @default 1000 */
  maxDeferred?: number;
}

/** A live connection to the Stately inspector. */
export interface StatelyInspection {
  /** The XState inspection observer (the service's `inspect` option). Never throws. */
  inspect(event: InspectionEvent): void;
  /** Stop streaming; never rejects. */
  close(): Promise<void>;
}

interface AdapterLike {
  ws?: { readyState?: number; close?: () => void; terminate?: () => void; on?: (event: string, listener: () => void) => void } | undefined;
  status?: string;
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

/**
 * Streams XState inspection events to a Stately inspector relay. Returns at once; the
 * `@statelyai/inspect` module is imported in the background and events are held meanwhile.
 *
 * @throws {UsageError} when `url` is not a ws(s) URL.
 * @example
 * ```ts
 * const stately = createStatelyInspection({ url: 'ws://localhost:5678', onWarning: console.warn });
 * const service = createFirstRunService({ ...options, inspect: stately.inspect });
 * ```
 */
export function createStatelyInspection(options: StatelyInspectionOptions = {}): StatelyInspection {
  const url = parseStatelyUrl(options.url ?? 'ws://localhost:5678').href.replace(/\/$/, '');
  const maxDeferred = Math.max(1, options.maxDeferred ?? 1000);
  let deferred: InspectionEvent[] = [];
  let next: ((event: InspectionEvent) => void) | null = null;
  let stop: (() => void) | null = null;
  let closed = false;
  let warned = false;
  const warn = (message: string) => {
    if (warned) return;
    warned = true;
    try {
      options.onWarning?.(message);
    } catch {
      // ignore a broken callback
    }
  };

  const loading = import('@statelyai/inspect')
    .then(({ createWebSocketInspector }) => {
      if (closed) return;
      const inspector = createWebSocketInspector({ url, maxDeferredEvents: maxDeferred, autoStart: false });
      const adapter = inspector.adapter as unknown as AdapterLike & { start(): void };
      // 0.7.2 retries 5 s after any socket error, forever, on a timer that holds the process open
      // (an app could not exit while the relay is down). Every socket the adapter creates is wrapped
      // so its error handler is ours: the same retry, on an unref'd timer, and none after close().
      try {
        let socket: AdapterLike['ws'];
        Object.defineProperty(adapter, 'ws', {
          configurable: true,
          get: () => socket,
          set: (raw: NonNullable<AdapterLike['ws']>) => {
            raw.on?.('error', () => {}); // an error with no listener would be thrown by the emitter
            socket = new Proxy(raw, {
              get: (target, prop) => {
                const value = (target as unknown as Record<PropertyKey, unknown>)[prop];
                return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
              },
              set: (target, prop, value) => {
                const handler =
                  prop === 'onerror'
                    ? () => {
                        adapter.status = 'closed';
                        if (closed) return;
                        setTimeout(() => {
                          if (!closed) adapter.start();
                        }, 5000).unref();
                      }
                    : value;
                (target as unknown as Record<PropertyKey, unknown>)[prop] = handler;
                return true;
              },
            });
          },
        });
      } catch {
        // The adapter changed shape: run it as it is.
      }
      inspector.start();
      next = (event) => inspector.inspect.next?.(event);
      stop = () => inspector.stop();
      for (const event of deferred) next(event);
      deferred = [];
      const check = setTimeout(() => {
        if (adapter.status !== 'open' && !closed) {
          warn(
            `The Stately inspector relay at ${url} is not reachable; inspection continues without it (the last ${maxDeferred} events are held). ` +
              'Start the relay (see docs/inspect.md) — the app is not affected.',
          );
        }
      }, options.connectTimeoutMs ?? 3000);
      check.unref();
    })
    .catch((error: unknown) => {
      warn(`The Stately inspector could not start (${error instanceof Error ? error.message : String(error)}); inspection is off.`);
      deferred = [];
    });

  return {
    inspect(event: InspectionEvent): void {
      try {
        if (closed) return;
        if (next) next(event);
        else {
          deferred.push(event);
          if (deferred.length > maxDeferred) deferred.shift();
        }
      } catch {
        // Never break the actor system.
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await loading;
      try {
        stop?.();
      } catch {
        // best effort
      }
      deferred = [];
    },
  };
}

/** Options of {@link startStatelyRelay}. */
export interface StatelyRelayOptions {
  /** The relay's port (HTTP page and WebSocket). @default 5678 */
  port?: number;
  /** The Stately inspector UI the relay page embeds. @default 'https://stately.ai/inspect' */
  inspectorUrl?: string;
}

/** A running relay. */
export interface StatelyRelay {
  /** Where apps stream (`ws://localhost:PORT`). */
  wsUrl: string;
  /** The page to open in a browser (`http://localhost:PORT`); it needs the internet. */
  pageUrl: string;
  /** Stop the relay. */
  stop(): void;
}

/**
 * Starts the `@statelyai/inspect/server` relay: apps stream to `wsUrl`, a browser opens `pageUrl`,
 * which embeds the Stately inspector (from the internet). The relay keeps the last 200 events for a
 * page opened late. Note: the 0.7.2 relay listens on every interface (it has no host option).
 *
 * @throws {UsageError} when `port` is not 1–65535.
 */
export async function startStatelyRelay(options: StatelyRelayOptions = {}): Promise<StatelyRelay> {
  const port = options.port ?? 5678;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`Expected the relay \`port\` to be a whole number from 1 to 65535, got \`${String(port)}\`.`);
  }
  const { createInspectorServer } = await import('@statelyai/inspect/server');
  const server = createInspectorServer({ port, autoOpen: false, ...(options.inspectorUrl ? { url: options.inspectorUrl } : {}) });
  return { wsUrl: `ws://localhost:${port}`, pageUrl: `http://localhost:${port}`, stop: () => server.stop() };
}
