/**
 * A relay for the Stately inspector, compatible with `@statelyai/inspect/server`'s
 * `createInspectorServer` (the same page, the same WebSocket fan-out: every message one client sends
 * goes to every other client), with what 0.7.2's lacks (docs/inspect.md):
 * - it resolves once the port is bound, and a busy port is an {@link InspectorRelayError}
 *   (`ERR_INSPECTOR_RELAY`), not an unhandled `EADDRINUSE` that crashes the host;
 * - it listens on loopback only (127.0.0.1 by default), refuses pages from foreign origins and
 *   requests whose `Host` is not a loopback name (DNS rebinding);
 * - a viewer that connects late gets, for every actor the relay has seen, its registration and its
 *   latest snapshot — not only the last 200 messages, which lose the root's registration in any run
 *   of a few hundred events. Actors are bounded (`maxActors`; finished ones are forgotten first).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { InspectorRelayError, UsageError } from '../errors.js';
import { loadWebSocketModule, type WsSocket } from './stately-module.js';
import { isLoopbackHostHeader, resolveBindOptions } from './viewer-server.js';

/** Options of {@link startStatelyRelay}. */
export interface StatelyRelayOptions {
  /** The relay's port (the page and the WebSocket). `0` picks a free port. @default 5678 */
  port?: number;
  /** A loopback address to bind. @default '127.0.0.1' */
  host?: string;
  /** The Stately inspector UI the relay page embeds (it needs the internet). @default 'https://stately.ai/inspect' */
  inspectorUrl?: string;
  /** Actors remembered for late viewers (finished ones are forgotten first beyond). @default 2000 */
  maxActors?: number;
}

/** Counters of a running relay. */
export interface StatelyRelayStats {
  /** Messages received from clients. */
  received: number;
  /** Actors remembered for late viewers. */
  actors: number;
  /** Clients connected now. */
  clients: number;
}

/** A running relay. */
export interface StatelyRelay {
  /** Where apps stream (`ws://127.0.0.1:PORT`). */
  wsUrl: string;
  /** The page to open in a browser (`http://127.0.0.1:PORT`); it needs the internet. */
  pageUrl: string;
  port: number;
  host: string;
  stats(): StatelyRelayStats;
  /** Stop the relay (closes every client). */
  stop(): Promise<void>;
}

interface ActorEntry {
  registration: string;
  snapshot: string | null;
  active: boolean;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The page: the Stately inspector in an iframe, fed from this relay (as `createInspectorServer`'s page). */
function bridgePage(inspectorUrl: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Stately Inspector (first-run relay)</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head><body>
<iframe id="inspector" src="${escapeAttribute(inspectorUrl)}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer) iframe.contentWindow.postMessage(event, '*');
      buffer.length = 0;
    }
  });
  const ws = new WebSocket('ws://' + location.host);
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script></body></html>`;
}

function checkInspectorUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new UsageError(`Expected the relay's \`inspectorUrl\` to be an http(s) URL such as https://stately.ai/inspect, got \`${url}\`.`);
  }
  return parsed.href;
}

/** Apps (no `Origin`) and the relay's own page may connect; a page from any other origin may not. */
function isAllowedClient(request: IncomingMessage, port: number): boolean {
  if (!isLoopbackHostHeader(request.headers.host, port)) return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const parsed = new URL(origin);
    return parsed.protocol === 'http:' && isLoopbackHostHeader(parsed.host, port);
  } catch {
    return false;
  }
}

/** What late viewers get: every remembered actor's registration and latest snapshot, in registration order. */
class ActorMemory {
  private readonly actors = new Map<string, ActorEntry>();
  constructor(private readonly max: number) {}

  get size(): number {
    return this.actors.size;
  }

  record(text: string): void {
    let message: { type?: unknown; sessionId?: unknown; snapshot?: { status?: unknown } };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.sessionId !== 'string') return;
    if (message.type === '@xstate.actor') {
      this.actors.delete(message.sessionId);
      this.actors.set(message.sessionId, { registration: text, snapshot: null, active: true });
      this.evict();
    } else if (message.type === '@xstate.snapshot') {
      const entry = this.actors.get(message.sessionId);
      if (!entry) return;
      entry.snapshot = text;
      entry.active = (message.snapshot?.status ?? 'active') === 'active';
    }
  }

  replay(socket: WsSocket): void {
    for (const entry of this.actors.values()) {
      socket.send(entry.registration);
      if (entry.snapshot) socket.send(entry.snapshot);
    }
  }

  private evict(): void {
    while (this.actors.size > this.max) {
      let victim: string | undefined;
      for (const [id, entry] of this.actors) {
        if (!entry.active) {
          victim = id;
          break;
        }
      }
      this.actors.delete(victim ?? this.actors.keys().next().value!);
    }
  }
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the port is already in use (another relay or program listens there). Stop it, or choose another port (`port: 0` picks a free one)'
          : `${error.code ?? error.message}`;
      reject(new InspectorRelayError(host, port, `The Stately inspector relay cannot listen on ${host}:${port}: ${why}.`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Starts a Stately inspector relay on loopback: apps stream to `wsUrl`, a browser opens `pageUrl`.
 * Resolves once the port is bound.
 *
 * @throws {UsageError} when `host` is not loopback, `port` not 0–65535 or `inspectorUrl` not http(s).
 * @throws {InspectorRelayError} (`ERR_INSPECTOR_RELAY`) when the port is taken or cannot be bound.
 * @throws {OptionalDependencyError} when `@statelyai/inspect` (whose `ws` it uses) is not installed.
 */
export async function startStatelyRelay(options: StatelyRelayOptions = {}): Promise<StatelyRelay> {
  const { host, port: wanted } = resolveBindOptions({ host: options.host ?? '127.0.0.1', port: options.port ?? 5678 });
  const page = bridgePage(checkInspectorUrl(options.inspectorUrl ?? 'https://stately.ai/inspect'));
  const ws = loadWebSocketModule('The Stately inspector relay');
  const memory = new ActorMemory(Math.max(1, options.maxActors ?? 2000));
  let received = 0;
  let port = wanted;

  const server = createServer((request, response) => {
    if (!isLoopbackHostHeader(request.headers.host, port)) {
      response.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden: not a loopback host\n');
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page);
  });
  port = await listen(server, host, wanted);
  const wss = new ws.WebSocketServer({ server, maxPayload: 16 * 1024 * 1024 });
  wss.on('error', () => {}); // the server's own errors after listening: the relay goes on
  server.on('error', () => {});
  wss.on('connection', ((socket: WsSocket, request: IncomingMessage) => {
    if (!isAllowedClient(request, port)) {
      socket.close(1008, 'origin not allowed');
      return;
    }
    socket.on('error', () => {});
    memory.replay(socket);
    socket.on('message', (data) => {
      const text = data.toString();
      received++;
      memory.record(text);
      for (const client of wss.clients) if (client !== socket && client.readyState === ws.OPEN) client.send(text);
    });
  }) as never);

  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    wsUrl: `ws://${shown}:${port}`,
    pageUrl: `http://${shown}:${port}`,
    port,
    host,
    stats: () => ({ received, actors: memory.size, clients: wss.clients.size }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => server.close(() => resolve()));
        server.closeAllConnections?.();
      }),
  };
}
