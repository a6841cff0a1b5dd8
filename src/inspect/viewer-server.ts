/**
 * The offline live viewer's server (SPEC IN-2): serves the page shipped in `viewer-page/`, the
 * statechart SVG of every machine, takes the processes' streams (`POST /ingest`, NDJSON, see
 * `protocol.ts`) and pushes the live state to pages with Server-Sent Events (`GET /events`).
 *
 * Loopback only, twice over: it binds only to a loopback address (anything else is a `UsageError`),
 * and it answers only requests whose `Host` header names a loopback host on its port — a page on
 * another site cannot reach it through DNS rebinding — and refuses a cross-site `Origin` on
 * `POST /ingest`. It needs no internet: every asset is in the package.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { packageRoot } from './package-root.js';
import { LIMITS, parseMessage, type Primitive, type TakenTransition, type ViewerMessage } from './protocol.js';

/** Options of {@link startViewerServer}. */
export interface ViewerServerOptions {
  /** TCP port; `0` picks a free one. @default 5680 */
  port?: number;
  /** A loopback address to bind: `127.0.0.1` (or any `127.x.y.z`), `::1`, or `localhost`. @default '127.0.0.1' */
  host?: string;
  /** Log entries kept (the page shows the newest). @default 1000 */
  maxLog?: number;
  /** Where the page's files are. @default the package's `src/inspect/viewer-page/` */
  pageDir?: string;
}

/** One streaming process. */
export interface SessionRecord {
  session: string;
  pid: number;
  startedAt: number;
  lastSeen: number;
  /** Set by a `bye`. */
  ended: boolean;
  argv?: string[];
  messages: number;
  /** Messages the process had to drop (its buffer overflowed). */
  dropped: number;
}

/** The last known state of one actor. */
export interface ActorRecord {
  /** `<session>/<actor id>`. */
  key: string;
  session: string;
  pid: number;
  id: string;
  name: string;
  machine: string | null;
  systemId?: string;
  parent?: string;
  value: unknown;
  status: string;
  /** XState ids of the active state nodes (what the page highlights). */
  active: string[];
  summary: Record<string, Primitive>;
  /** Type of the event that led to this state. */
  event: string;
  /** The transitions of the last macrostep that took any (kept across a stop or an ignored event). */
  transitions: TakenTransition[];
  updatedAt: number;
}

/** One line of the event log. */
export interface LogEntry {
  n: number;
  t: number;
  pid: number;
  session: string;
  kind: ViewerMessage['kind'] | 'pid-change';
  /** The event type, or the actor's new state. */
  type: string;
  actor?: string;
  text: string;
}

/** One change of the root actor's phase (top-level state). */
export interface PhaseEntry {
  phase: string;
  pid: number;
  session: string;
  t: number;
  /** Seen only in a microstep (a transient state such as `DECISION`). */
  micro: boolean;
}

/** The ledger as the last `ledger.committed` reported it. */
export interface LedgerView {
  phase: string | null;
  restart_count: number | null;
  generation: number | null;
  pid: number;
  t: number;
}

/** Everything the viewer knows (`GET /state`). */
export interface ViewerState {
  sessions: SessionRecord[];
  /** The session shown: the one that said `hello` last. */
  currentSession: string | null;
  actors: ActorRecord[];
  phase: PhaseEntry | null;
  phaseHistory: PhaseEntry[];
  ledger: LedgerView | null;
  log: LogEntry[];
}

/** What changed with one ingested batch (sent to pages as an SSE `patch`). */
export interface ViewerPatch {
  actors: ActorRecord[];
  log: LogEntry[];
  sessions: SessionRecord[];
  currentSession: string | null;
  phase: PhaseEntry | null;
  phaseHistory: PhaseEntry[];
  ledger: LedgerView | null;
}

const MAX_SESSIONS = 50;
const MAX_ACTORS_PER_SESSION = 500;
const MAX_PHASE_HISTORY = 500;

function phaseOfValue(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return Object.keys(value)[0] ?? null;
  return null;
}

function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, child]) => (child === undefined || (typeof child === 'object' && child !== null && Object.keys(child).length === 0) ? key : `${key}.${valueText(child)}`))
    .join(', ');
}

/**
 * The viewer's state and its reducer: pure (no I/O), so it is tested without a server.
 */
export class ViewerStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly actors = new Map<string, ActorRecord>();
  private currentSession: string | null = null;
  private phase: PhaseEntry | null = null;
  private readonly phaseHistory: PhaseEntry[] = [];
  private ledger: LedgerView | null = null;
  private readonly log: LogEntry[] = [];
  private n = 0;
  private readonly maxLog: number;

  constructor(maxLog = 1000) {
    this.maxLog = Math.max(10, maxLog);
  }

  /** The whole state. */
  snapshot(): ViewerState {
    return {
      sessions: [...this.sessions.values()],
      currentSession: this.currentSession,
      actors: [...this.actors.values()],
      phase: this.phase,
      phaseHistory: [...this.phaseHistory],
      ledger: this.ledger,
      log: [...this.log],
    };
  }

  private addLog(entry: Omit<LogEntry, 'n'>, into: LogEntry[]): void {
    const full = { n: ++this.n, ...entry };
    this.log.push(full);
    if (this.log.length > this.maxLog) this.log.splice(0, this.log.length - this.maxLog);
    into.push(full);
  }

  private session(message: ViewerMessage, log: LogEntry[]): SessionRecord {
    let record = this.sessions.get(message.session);
    if (!record) {
      record = { session: message.session, pid: message.pid, startedAt: message.t, lastSeen: message.t, ended: false, messages: 0, dropped: 0 };
      this.sessions.set(message.session, record);
      if (this.sessions.size > MAX_SESSIONS) {
        const oldest = this.sessions.keys().next().value as string;
        this.sessions.delete(oldest);
        for (const [key, actor] of this.actors) if (actor.session === oldest) this.actors.delete(key);
      }
      // A new process: it becomes the one shown; a pid change is marked (a relaunch, or a new launch).
      const previous = this.currentSession ? this.sessions.get(this.currentSession) : undefined;
      this.currentSession = message.session;
      if (previous && previous.pid !== message.pid) {
        this.addLog(
          { t: message.t, pid: message.pid, session: message.session, kind: 'pid-change', type: 'pid-change', text: `pid ${previous.pid} → ${message.pid}: a new process streams (relaunch or new launch)` },
          log,
        );
      }
    }
    record.lastSeen = Math.max(record.lastSeen, message.t);
    record.messages++;
    return record;
  }

  /** Applies one batch of messages; returns what changed. Invalid messages are ignored. */
  apply(messages: readonly ViewerMessage[]): ViewerPatch {
    const log: LogEntry[] = [];
    const changedActors = new Map<string, ActorRecord>();
    let phaseChanged = 0;
    for (const message of messages) {
      const session = this.session(message, log);
      const base = { t: message.t, pid: message.pid, session: message.session };
      switch (message.kind) {
        case 'hello':
          session.startedAt = message.startedAt;
          if (message.argv) session.argv = message.argv;
          session.ended = false;
          this.addLog({ ...base, kind: 'hello', type: 'hello', text: `process ${message.pid} streams${message.argv ? `: first-run ${message.argv.join(' ')}` : ''}` }, log);
          break;
        case 'bye':
          session.ended = true;
          this.addLog({ ...base, kind: 'bye', type: 'bye', text: `process ${message.pid} stopped streaming (${message.reason})` }, log);
          break;
        case 'dropped':
          session.dropped += message.count;
          this.addLog({ ...base, kind: 'dropped', type: 'dropped', text: `process ${message.pid} dropped ${message.count} message(s) (its buffer was full)` }, log);
          break;
        case 'actor':
        case 'snapshot': {
          const key = `${message.session}/${message.actor.id}`;
          let actor = this.actors.get(key);
          if (!actor) {
            if ([...this.actors.values()].filter((a) => a.session === message.session).length >= MAX_ACTORS_PER_SESSION) {
              // Forget the oldest stopped actor of this session to stay bounded.
              for (const [k, a] of this.actors) {
                if (a.session === message.session && a.status !== 'active') {
                  this.actors.delete(k);
                  break;
                }
              }
            }
            actor = {
              key,
              session: message.session,
              pid: message.pid,
              id: message.actor.id,
              name: message.actor.name,
              machine: message.actor.machine,
              value: null,
              status: 'active',
              active: [],
              summary: {},
              event: '',
              transitions: [],
              updatedAt: message.t,
              ...(message.actor.systemId ? { systemId: message.actor.systemId } : {}),
              ...(message.actor.parent ? { parent: message.actor.parent } : {}),
            };
            this.actors.set(key, actor);
          }
          if (message.kind === 'snapshot') {
            actor.value = message.value;
            actor.status = message.status;
            actor.active = message.active;
            actor.summary = message.summary;
            actor.event = message.event;
            if (message.transitions !== undefined && message.transitions.length > 0) actor.transitions = message.transitions;
            actor.updatedAt = message.t;
            if (!message.micro) {
              this.addLog({ ...base, kind: 'snapshot', type: valueText(message.value), actor: actor.name, text: `${actor.name} → ${valueText(message.value)}${message.status !== 'active' ? ` (${message.status})` : ''}${message.event ? `  ⟵ ${message.event}` : ''}` }, log);
            }
            if (actor.parent === undefined && message.session === this.currentSession) {
              const phase = phaseOfValue(message.value);
              const last = this.phaseHistory.at(-1);
              if (phase !== null && (!last || last.phase !== phase || last.session !== message.session)) {
                const entry: PhaseEntry = { phase, pid: message.pid, session: message.session, t: message.t, micro: message.micro === true };
                this.phaseHistory.push(entry);
                if (this.phaseHistory.length > MAX_PHASE_HISTORY) this.phaseHistory.splice(0, this.phaseHistory.length - MAX_PHASE_HISTORY);
                phaseChanged++;
              }
              if (phase !== null && !message.micro) this.phase = { phase, pid: message.pid, session: message.session, t: message.t, micro: false };
              else if (phase !== null && (this.phase === null || this.phase.session !== message.session)) this.phase = { phase, pid: message.pid, session: message.session, t: message.t, micro: true };
            }
          }
          changedActors.set(key, actor);
          break;
        }
        case 'event':
          this.addLog({ ...base, kind: 'event', type: message.event.type, actor: message.actor.name, text: `${message.event.type} → ${message.actor.name}` }, log);
          break;
        case 'contract': {
          const { type, ...payload } = message.event;
          delete payload.ts;
          delete payload.pid;
          if (type === 'ledger.committed') {
            const num = (v: unknown) => (typeof v === 'number' ? v : null);
            this.ledger = {
              phase: typeof payload.phase === 'string' ? payload.phase : null,
              restart_count: num(payload.restart_count),
              generation: num(payload.generation),
              pid: message.pid,
              t: message.t,
            };
          }
          const fields = Object.entries(payload)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          this.addLog({ ...base, kind: 'contract', type, text: `${type}${fields ? ` ${fields}` : ''}` }, log);
          break;
        }
      }
    }
    return {
      actors: [...changedActors.values()],
      log,
      sessions: [...this.sessions.values()],
      currentSession: this.currentSession,
      phase: this.phase,
      phaseHistory: phaseChanged > 0 ? this.phaseHistory.slice(-phaseChanged) : [],
      ledger: this.ledger,
    };
  }
}

/**
 * Whether `host` is a loopback address or `localhost` (IPv4 `127.0.0.0/8`, IPv6 `::1`).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Whether a request's `Host` header names a loopback host, on `port` when it has a port. A missing
 * header is refused (every HTTP/1.1 client sends one; its absence is not a browser's).
 */
export function isLoopbackHostHeader(header: string | undefined, port: number): boolean {
  if (header === undefined || header.length === 0 || header.length > 300) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.trim());
  if (!match) return false;
  const [, host, portText] = match;
  if (!host || !isLoopbackHost(host)) return false;
  return portText === undefined ? port === 80 : Number(portText) === port;
}

/**
 * Checks `--host`/`--port` of `first-run inspect` and returns what to bind.
 *
 * @throws {UsageError} naming the option when the host is not loopback or the port is not 0–65535.
 */
export function resolveBindOptions(options: { host?: unknown; port?: unknown }): { host: string; port: number } {
  const hostIn = options.host ?? '127.0.0.1';
  if (typeof hostIn !== 'string' || !isLoopbackHost(hostIn)) {
    throw new UsageError(
      `Expected \`--host\` to be a loopback address (127.0.0.1, ::1 or localhost), got \`${String(hostIn)}\`: ` +
        'the viewer shows your app\'s live state and accepts events, so it is never served beyond this machine.',
    );
  }
  const host = hostIn.toLowerCase() === 'localhost' ? '127.0.0.1' : hostIn.replace(/^\[|\]$/g, '');
  const portIn = options.port ?? 5680;
  const port = typeof portIn === 'string' && /^\d+$/.test(portIn) ? Number(portIn) : portIn;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Expected \`--port\` to be a whole number from 0 to 65535 (0 = any free port), got \`${String(portIn)}\`.`);
  }
  return { host, port };
}

/** A running viewer. */
export interface ViewerServer {
  /** The page's URL (`http://127.0.0.1:PORT/`); processes stream to the same URL. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The current state (what `GET /state` returns). */
  state(): ViewerState;
  /** Stop serving and end every page's stream. */
  close(): Promise<void>;
}

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/viewer.js': { file: 'viewer.js', type: 'text/javascript; charset=utf-8' },
  '/viewer.css': { file: 'viewer.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
};

/**
 * The statechart SVG of every machine, by machine id, generated from the package's machines on the
 * first request for it (ELK loads then, not when the viewer starts).
 */
async function loadSvgs(): Promise<Map<string, () => Promise<string>>> {
  const [{ machines }, { machineToSvg }] = await Promise.all([import('../../machines/index.js'), import('../statecharts/index.js')]);
  const svgs = new Map<string, () => Promise<string>>();
  for (const machine of Object.values(machines)) {
    let cached: Promise<string> | undefined;
    svgs.set(machine.id, () => (cached ??= machineToSvg(machine)));
  }
  return svgs;
}

/**
 * Starts the viewer.
 *
 * @throws {UsageError} when `host` is not loopback or `port` is out of range.
 * @throws {Error} (`EADDRINUSE`, …) when the port cannot be bound.
 * @example
 * ```ts
 * const viewer = await startViewerServer({ port: 0 });
 * console.log(viewer.url); // http://127.0.0.1:PORT/
 * ```
 */
export async function startViewerServer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const { host, port: wantedPort } = resolveBindOptions(options);
  const pageDir = options.pageDir ?? join(packageRoot(), 'src', 'inspect', 'viewer-page');
  const pages = new Map<string, Buffer>();
  for (const { file } of Object.values(PAGE_FILES)) {
    if (!pages.has(file)) pages.set(file, readFileSync(join(pageDir, file)));
  }
  const svgs = await loadSvgs();
  const store = new ViewerStore(options.maxLog);
  const clients = new Set<http.ServerResponse>();
  let port = wantedPort;

  const send = (res: http.ServerResponse, code: number, type: string, body: string | Buffer) => {
    res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const sse = (res: http.ServerResponse, event: string, data: unknown) => {
    const ok = res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // A page that does not read is dropped (its EventSource reconnects and gets a fresh reset).
    if (!ok && res.writableLength > 4 * 1024 * 1024) {
      clients.delete(res);
      res.destroy();
    }
  };

  const server = http.createServer((req, res) => {
    try {
      if (!isLoopbackHostHeader(req.headers.host, port)) {
        send(res, 403, 'text/plain; charset=utf-8', `Refused: the Host header must name this machine's loopback address on port ${port} (got ${JSON.stringify(req.headers.host ?? null)}).\n`);
        return;
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'POST' && path === '/ingest') {
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== 'null') {
          let allowed = false;
          try {
            allowed = isLoopbackHost(new URL(origin).hostname);
          } catch {
            allowed = false;
          }
          if (!allowed) {
            send(res, 403, 'text/plain; charset=utf-8', 'Refused: cross-site origin.\n');
            return;
          }
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = false;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > LIMITS.maxBodyBytes) {
            // Answer at once, keep draining (a reset would reach the sender as a write error), keep nothing.
            if (!tooLarge) {
              res.shouldKeepAlive = false;
              send(res, 413, 'text/plain; charset=utf-8', `Refused: a batch must be at most ${LIMITS.maxBodyBytes} bytes.\n`);
            }
            tooLarge = true;
            chunks.length = 0;
            return;
          }
          chunks.push(chunk);
        });
        req.on('end', () => {
          if (tooLarge) return;
          const messages: ViewerMessage[] = [];
          let rejected = 0;
          for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
            if (line.trim() === '') continue;
            let parsed: ViewerMessage | null = null;
            try {
              parsed = parseMessage(JSON.parse(line));
            } catch {
              parsed = null;
            }
            if (parsed) messages.push(parsed);
            else rejected++;
          }
          const patch = store.apply(messages);
          for (const client of clients) sse(client, 'patch', patch);
          send(res, 200, 'application/json', JSON.stringify({ accepted: messages.length, rejected }));
        });
        req.on('error', () => {});
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed.\n');
        return;
      }
      const page = PAGE_FILES[path];
      if (page) {
        send(res, 200, page.type, pages.get(page.file)!);
        return;
      }
      if (path === '/state') {
        send(res, 200, 'application/json', JSON.stringify(store.snapshot()));
        return;
      }
      const svgMatch = /^\/statecharts\/([A-Za-z0-9_-]{1,100})\.svg$/.exec(path);
      if (svgMatch) {
        const render = svgs.get(svgMatch[1]!);
        if (!render) send(res, 404, 'text/plain; charset=utf-8', `No machine \`${svgMatch[1]}\`.\n`);
        else {
          // Generated on the first request (ELK's layout is asynchronous); the request's try/catch
          // cannot see this far, so a failure to answer ends the response here.
          render()
            .then(
              (svg) => send(res, 200, 'image/svg+xml; charset=utf-8', svg),
              (error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `Internal error: ${error instanceof Error ? error.message : String(error)}\n`),
            )
            .catch(() => res.destroy());
        }
        return;
      }
      if (path === '/events') {
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        clients.add(res);
        sse(res, 'reset', store.snapshot());
        req.on('close', () => clients.delete(res));
        return;
      }
      send(res, 404, 'text/plain; charset=utf-8', 'Not found.\n');
    } catch (error) {
      // The viewer never dies of a request.
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `Internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 10_000;
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: wantedPort, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/`;

  return {
    url,
    host,
    port,
    state: () => store.snapshot(),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const client of clients) client.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
