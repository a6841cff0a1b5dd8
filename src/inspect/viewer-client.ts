/**
 * The stream client of the offline viewer: turns XState inspection events and contract events into
 * protocol messages (see `protocol.ts`) and posts them, batched, to `first-run inspect`.
 *
 * It must never crash, block or delay the app it inspects:
 * - `inspect` and `publish` only build a small message and push it on a bounded buffer (no I/O, no
 *   serialisation, never a throw);
 * - one batch is in flight at a time, with a request timeout; the sockets are unref'd and the retry
 *   timers too, so the client never keeps the process alive — only `close()` waits, and only up to
 *   its own deadline, to send what is left;
 * - when the buffer is full the oldest messages are dropped and counted (the viewer is told how many);
 * - an unreachable viewer is retried with backoff and reported **once** through `onWarning`.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { InspectionEvent } from 'xstate';
import { UsageError } from '../errors.js';
import { activeStateIds, LIMITS, primitiveFields, PROTOCOL_VERSION, type ActorInfo, type TakenTransition, type ViewerMessage } from './protocol.js';

/** Options of {@link createViewerClient}. */
export interface ViewerClientOptions {
  /** The viewer's URL as `first-run inspect` prints it, e.g. `http://127.0.0.1:5680/`. */
  url: string;
  /** Told once when the viewer cannot be reached or refuses the stream (never thrown). @default none */
  onWarning?: (message: string) => void;
  /**
   * The most messages held while the viewer is slow or unreachable; beyond it the oldest are dropped.
   * @default 5000
   */
  maxBuffer?: number;
  /** How long messages are gathered before a batch is posted, ms. @default 25 */
  flushIntervalMs?: number;
  /** Most messages per batch. @default 500 */
  maxBatch?: number;
  /** A batch not answered within this is abandoned and retried, ms. @default 2000 */
  requestTimeoutMs?: number;
  /** How long `close()` may spend sending what is left, ms. @default 1000 */
  closeTimeoutMs?: number;
  /** Also stream microsteps (transient states such as `DECISION`). @default true */
  microsteps?: boolean;
  /** @default process.pid */
  pid?: number;
  /** @default a random UUID */
  session?: string;
  /** @default process.argv.slice(2), with token values redacted */
  argv?: string[];
}

/** Counters of a {@link ViewerClient}. */
export interface ViewerClientStats {
  /** Messages the viewer accepted. */
  sent: number;
  /** Messages dropped (buffer overflow, or refused by the viewer). */
  dropped: number;
  /** Failed batch posts. */
  failures: number;
  /** Messages waiting. */
  buffered: number;
  /** Whether the last post succeeded. */
  connected: boolean;
}

/** A stream to the offline viewer. */
export interface ViewerClient {
  /** The XState inspection observer (pass as the service's `inspect` option). Never throws. */
  inspect(event: InspectionEvent): void;
  /** Forward a contract event (`service.on('*', …)`, `ledger.committed`, …): its primitive fields. Never throws. */
  publish(event: { readonly type: string }): void;
  /** Resolves when the buffer is empty or the viewer failed (never rejects). */
  flush(): Promise<void>;
  /** Send a `bye` and what is left, for at most `closeTimeoutMs`, then stop. Never rejects. */
  close(): Promise<void>;
  /** The session id of this stream. */
  readonly session: string;
  /** Counters. */
  readonly stats: ViewerClientStats;
}

function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (/token|secret|password/i.test(arg)) {
      const eq = arg.indexOf('=');
      out.push(eq === -1 ? arg : `${arg.slice(0, eq)}=<redacted>`);
      if (eq === -1 && i + 1 < argv.length) {
        out.push('<redacted>');
        i++;
      }
    } else out.push(arg);
  }
  return out;
}

/**
 * Parses and checks a viewer URL.
 *
 * @throws {UsageError} when it is not an `http:` or `https:` URL.
 */
export function parseViewerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UsageError(`Expected the viewer URL to be an http:// URL such as http://127.0.0.1:5680/, got \`${url}\`.`, { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`Expected the viewer URL to be an http:// URL such as http://127.0.0.1:5680/, got \`${url}\` (protocol ${parsed.protocol}).`);
  }
  return parsed;
}

/** The top-level state of a state value (`PIPELINE` of `{ PIPELINE: 'running' }`), as a key to compare. */
function topStateOf(value: unknown): string {
  if (value !== null && typeof value === 'object') return JSON.stringify(Object.keys(value));
  return JSON.stringify(value ?? null);
}

/**
 * Creates a stream client to the offline viewer at `url`. It starts at once (a `hello` is queued)
 * and posts in the background.
 *
 * @throws {UsageError} when `url` is not an http(s) URL (nothing else ever throws).
 * @example
 * ```ts
 * const viewer = createViewerClient({ url: 'http://127.0.0.1:5680/', onWarning: console.warn });
 * const service = createFirstRunService({ ...options, inspect: viewer.inspect });
 * service.on('*', viewer.publish);
 * // …
 * await viewer.close();
 * ```
 */
export function createViewerClient(options: ViewerClientOptions): ViewerClient {
  const base = parseViewerUrl(options.url);
  const ingest = new URL('ingest', base.href.endsWith('/') ? base.href : `${base.href}/`);
  const transport = ingest.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 1 });
  const maxBuffer = Math.max(1, options.maxBuffer ?? 5000);
  const flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 25);
  const maxBatch = Math.max(1, options.maxBatch ?? 500);
  const requestTimeoutMs = Math.max(1, options.requestTimeoutMs ?? 2000);
  const closeTimeoutMs = Math.max(0, options.closeTimeoutMs ?? 1000);
  const microsteps = options.microsteps ?? true;
  const pid = options.pid ?? process.pid;
  const session = options.session ?? randomUUID();
  const stats: ViewerClientStats = { sent: 0, dropped: 0, failures: 0, buffered: 0, connected: false };

  let seq = 0;
  let buffer: ViewerMessage[] = [];
  let unreported = 0; // dropped messages the viewer has not been told about
  let inFlight = false;
  let timer: NodeJS.Timeout | null = null;
  let backoffMs = 0;
  let closed = false;
  let warned = false;
  let idleWaiters: (() => void)[] = [];
  const actorInfo = new WeakMap<object, ActorInfo>();
  // The transitions of each actor's macrostep under way (its microsteps'), sent with its snapshot.
  const taking = new WeakMap<object, TakenTransition[]>();
  // Each actor's microstep snapshots of the macrostep under way, sent when it ends (`sendMicrosteps`).
  const heldMicro = new WeakMap<object, Body<'snapshot'>[]>();

  const warn = (message: string) => {
    if (warned) return;
    warned = true;
    try {
      options.onWarning?.(message);
    } catch {
      // A broken warning callback must not break the stream either.
    }
  };

  type Body<K extends ViewerMessage['kind']> = Omit<Extract<ViewerMessage, { kind: K }>, 'v' | 'pid' | 'session' | 'seq' | 't' | 'kind'>;
  function push<K extends ViewerMessage['kind']>(kind: K, body: Body<K>): void {
    if (closed) return;
    buffer.push({ v: PROTOCOL_VERSION, kind, pid, session, seq: seq++, t: Date.now(), ...body } as unknown as ViewerMessage);
    if (buffer.length > maxBuffer) {
      const excess = buffer.length - maxBuffer;
      buffer.splice(0, excess);
      unreported += excess;
      stats.dropped += excess;
    }
    stats.buffered = buffer.length;
    schedule(flushIntervalMs);
  }

  function schedule(ms: number): void {
    if (timer !== null || inFlight) return;
    timer = setTimeout(() => {
      timer = null;
      send();
    }, Math.max(ms, backoffMs));
    timer.unref();
  }

  /** Wakes `flush()`/`close()` waiters once nothing is in flight and the buffer is empty or failing. */
  function settleIdle(): void {
    if (inFlight || (buffer.length > 0 && backoffMs === 0)) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function send(): void {
    if (inFlight || buffer.length === 0) {
      settleIdle();
      return;
    }
    const batch = buffer.splice(0, maxBatch);
    if (unreported > 0) {
      batch.unshift({ v: PROTOCOL_VERSION, kind: 'dropped', pid, session, seq: seq++, t: Date.now(), count: unreported });
      unreported = 0;
    }
    stats.buffered = buffer.length;
    const lines: string[] = [];
    for (const message of batch) {
      try {
        lines.push(JSON.stringify(message));
      } catch {
        stats.dropped++; // e.g. a BigInt in an event: skip that one message
      }
    }
    const body = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    inFlight = true;
    let done = false;
    const finish = (ok: boolean, retry: boolean, why?: string) => {
      if (done) return;
      done = true;
      inFlight = false;
      if (ok) {
        stats.sent += batch.length;
        stats.connected = true;
        backoffMs = 0;
      } else {
        stats.failures++;
        stats.connected = false;
        if (retry && !closed) {
          // Put the batch back in front; the overflow rule still holds.
          buffer = [...batch, ...buffer];
          if (buffer.length > maxBuffer) {
            const excess = buffer.length - maxBuffer;
            buffer.splice(0, excess);
            unreported += excess;
            stats.dropped += excess;
          }
          backoffMs = Math.min(2000, backoffMs === 0 ? 200 : backoffMs * 2);
        } else {
          stats.dropped += batch.length;
          backoffMs = 0;
        }
        warn(
          `The offline viewer at ${base.href} ${retry ? 'cannot be reached' : 'refused the stream'} (${why ?? 'unknown error'}); ` +
            `inspection continues without it: up to ${maxBuffer} events are kept and sent when it answers, older ones are dropped. ` +
            'Start it with `first-run inspect`.',
        );
      }
      stats.buffered = buffer.length;
      if (buffer.length > 0 && !closed) schedule(ok ? 0 : backoffMs);
      else if (buffer.length > 0 && closed) send();
      settleIdle();
    };
    try {
      const request = transport.request(ingest, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
        timeout: requestTimeoutMs,
      });
      request.on('socket', (socket) => socket.unref());
      request.on('response', (response) => {
        response.resume();
        const code = response.statusCode ?? 0;
        if (code >= 200 && code < 300) finish(true, false);
        // 4xx: the viewer will not take this batch however often it is sent (e.g. a Host refusal).
        else finish(false, code >= 500, `HTTP ${code}`);
      });
      request.on('timeout', () => {
        request.destroy(new Error(`no answer within ${requestTimeoutMs} ms`));
      });
      request.on('error', (error: NodeJS.ErrnoException) => finish(false, true, error.code ?? error.message));
      request.end(body);
    } catch (error) {
      finish(false, false, error instanceof Error ? error.message : String(error));
    }
  }

  function describe(actorRef: object): ActorInfo {
    const cached = actorInfo.get(actorRef);
    if (cached) return cached;
    // Read structurally: inspection events type their refs as the minimal `ActorRefLike`.
    const ref = actorRef as {
      sessionId?: unknown;
      id?: unknown;
      systemId?: unknown;
      logic?: { id?: unknown; root?: unknown };
      _parent?: { sessionId?: unknown };
    };
    const sessionId = typeof ref.sessionId === 'string' ? ref.sessionId : 'unknown';
    const id = typeof ref.id === 'string' ? ref.id : sessionId;
    const logic = ref.logic;
    const machine = logic && typeof logic.root === 'object' && typeof logic.id === 'string' ? logic.id : null;
    const systemId = typeof ref.systemId === 'string' ? ref.systemId : undefined;
    const parent = ref._parent?.sessionId;
    const name = systemId ?? (id !== sessionId ? id : (machine ?? id));
    const info: ActorInfo = { id: sessionId, name, machine };
    if (systemId !== undefined) info.systemId = systemId;
    if (typeof parent === 'string') info.parent = parent;
    actorInfo.set(actorRef, info);
    return info;
  }

  /** Adds a microstep's transitions to its actor's macrostep (bounded), read structurally. */
  function noteTransitions(ref: object, transitions: unknown): void {
    if (!Array.isArray(transitions) || transitions.length === 0) return;
    const list = taking.get(ref) ?? [];
    for (const t of transitions as { source?: { id?: unknown }; target?: readonly { id?: unknown }[]; eventType?: unknown }[]) {
      if (list.length >= LIMITS.maxTransitions || typeof t.source?.id !== 'string') continue;
      const targets = (t.target ?? []).map((n) => n.id).filter((id): id is string => typeof id === 'string');
      list.push({ source: t.source.id, targets, event: typeof t.eventType === 'string' ? t.eventType : '' });
    }
    taking.set(ref, list);
  }

  function snapshotBody(ref: object, snapshot: unknown, eventType: string, micro: boolean): Body<'snapshot'> | null {
    const info = describe(ref);
    if (info.machine === null) return null;
    const s = snapshot as { value?: unknown; status?: unknown; context?: unknown; _nodes?: unknown };
    const nodes = Array.isArray(s._nodes) ? s._nodes.map((n) => (n as { id?: unknown }).id).filter((id): id is string => typeof id === 'string') : [];
    return {
      actor: info,
      value: s.value,
      status: typeof s.status === 'string' ? s.status : 'active',
      event: eventType,
      ...(micro ? { micro: true } : {}),
      active: nodes.length > 0 ? nodes : activeStateIds(info.machine, s.value),
      summary: primitiveFields(s.context),
    };
  }

  /**
   * A macrostep ended in `final`: send its microsteps as transient (`micro`) — but not the last ones whose
   * top-level state is the one it came to rest in (PIPELINE entered and resting there, COMPLETED): those
   * are not transient, and the macrostep's own snapshot, sent next, shows that state.
   */
  function sendMicrosteps(ref: object, final: unknown): void {
    const held = heldMicro.get(ref);
    if (!held) return;
    heldMicro.delete(ref);
    const rest = topStateOf((final as { value?: unknown } | null)?.value);
    let end = held.length;
    while (end > 0 && topStateOf(held[end - 1]!.value) === rest) end--;
    for (const body of held.slice(0, end)) push('snapshot', body);
  }

  push('hello', { startedAt: Date.now(), argv: options.argv ?? redactArgv(process.argv.slice(2)) });

  return {
    session,
    stats,
    inspect(event: InspectionEvent): void {
      try {
        if (closed) return;
        switch (event.type) {
          case '@xstate.actor':
            push('actor', { actor: describe(event.actorRef) });
            break;
          case '@xstate.snapshot': {
            sendMicrosteps(event.actorRef, event.snapshot);
            const body = snapshotBody(event.actorRef, event.snapshot, event.event.type, false);
            const transitions = taking.get(event.actorRef);
            taking.delete(event.actorRef);
            if (body) push('snapshot', transitions ? { ...body, transitions } : body);
            break;
          }
          case '@xstate.microstep': {
            noteTransitions(event.actorRef, (event as { _transitions?: unknown })._transitions);
            if (!microsteps) break;
            const body = snapshotBody(event.actorRef, event.snapshot, event.event.type, true);
            if (!body) break;
            const held = heldMicro.get(event.actorRef) ?? [];
            held.push(body);
            // Bounded: a macrostep of very many microsteps sends its oldest as they come.
            if (held.length > LIMITS.maxTransitions) push('snapshot', held.shift()!);
            heldMicro.set(event.actorRef, held);
            break;
          }
          case '@xstate.event': {
            const info = describe(event.actorRef);
            const source = (event.sourceRef as { sessionId?: unknown } | undefined)?.sessionId;
            const fields = primitiveFields(event.event) as Record<string, string | number | boolean | null> & { type: string };
            fields.type = event.event.type;
            push('event', { actor: info, event: fields, ...(typeof source === 'string' ? { source } : {}) });
            break;
          }
          default:
            break;
        }
      } catch {
        // Inspection is best effort: never break the actor system.
      }
    },
    publish(event): void {
      try {
        if (typeof event?.type !== 'string') return;
        push('contract', { event: { ...primitiveFields(event, 20), type: event.type } });
      } catch {
        // Same: never break the host.
      }
    },
    flush(): Promise<void> {
      return new Promise((resolve) => {
        if (buffer.length === 0 && !inFlight) {
          resolve();
          return;
        }
        idleWaiters.push(resolve);
        if (timer !== null) {
          clearTimeout(timer);
          timer = null;
        }
        if (!inFlight) send();
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      push('bye', { reason: 'closed' });
      closed = true;
      // A ref'd deadline keeps the loop alive while the (unref'd) last post is sent.
      let deadline: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, closeTimeoutMs);
      });
      backoffMs = 0;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      const drained = new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        if (!inFlight) send();
      });
      await Promise.race([drained, timeout]);
      clearTimeout(deadline);
      const left = buffer.length;
      buffer = [];
      stats.dropped += left;
      stats.buffered = 0;
      agent.destroy();
    },
  };
}
