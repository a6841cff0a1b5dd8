/**
 * The offline viewer's wire protocol (version 1), shared by the stream client and the server.
 *
 * A running process streams **NDJSON** (one JSON message a line) in batches with `POST /ingest`
 * (`Content-Type: application/x-ndjson`) to the viewer. Every message carries the sender's `pid` and
 * a random `session` id (one per process), a per-session sequence number `seq` and the sender's time
 * `t` (epoch ms), so a viewer started late, restarted, or fed by a relaunched successor can always
 * attribute a message without a handshake:
 *
 * - `hello`    — a process starts streaming (`argv`, `startedAt`);
 * - `actor`    — an actor was created (`actor`: its key, name, machine id, parent);
 * - `snapshot` — an actor's state (`value`, `status`, the triggering event type, `micro` for a
 *                transient microstep, `active`: the XState ids of its active state nodes, `summary`:
 *                the primitive fields of its context, `transitions`: the transitions the macrostep
 *                took, in order — what the page highlights on the statechart);
 * - `event`    — an event was delivered to an actor (its type and primitive fields);
 * - `contract` — an event of the product's contract (`permissions.*`, `restart.*`, `ledger.committed`, …);
 * - `dropped`  — the sender's buffer overflowed and this many messages were dropped;
 * - `bye`      — the process stops streaming.
 *
 * The browser page reads the server with Server-Sent Events (`GET /events`), never writes.
 */

/** Protocol version carried in every message. */
export const PROTOCOL_VERSION = 1;

/** The kinds of message. */
export const MESSAGE_KINDS = ['hello', 'actor', 'snapshot', 'event', 'contract', 'dropped', 'bye'] as const;
/** One of {@link MESSAGE_KINDS}. */
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** A JSON primitive (what summaries keep of contexts and events). */
export type Primitive = string | number | boolean | null;

/** How an actor is named in messages. */
export interface ActorInfo {
  /** The actor's `sessionId` in its process (`x:3`): unique within one `session`. */
  id: string;
  /** The invoke id or system id (`step`, `relaunchGate`), else the machine id. */
  name: string;
  /** The machine's id (`orchestrator`, `permissionStep`, …), or `null` for a non-machine actor. */
  machine: string | null;
  /** `systemId`, when registered. */
  systemId?: string;
  /** The parent actor's `id`, absent for the root. */
  parent?: string;
}

interface Envelope<K extends MessageKind> {
  v: typeof PROTOCOL_VERSION;
  kind: K;
  pid: number;
  session: string;
  seq: number;
  t: number;
}

/** One transition an actor took: XState ids of its source and targets (none: targetless), its event type (`''` for `always`). */
export interface TakenTransition {
  source: string;
  targets: string[];
  event: string;
}

/** Every message of the protocol. */
export type ViewerMessage =
  | (Envelope<'hello'> & { startedAt: number; argv?: string[] })
  | (Envelope<'actor'> & { actor: ActorInfo })
  | (Envelope<'snapshot'> & {
      actor: ActorInfo;
      value: unknown;
      status: string;
      event: string;
      micro?: boolean;
      active: string[];
      summary: Record<string, Primitive>;
      /** On a macrostep's snapshot (not `micro`): the transitions it took; absent or empty when none. */
      transitions?: TakenTransition[];
    })
  | (Envelope<'event'> & { actor: ActorInfo; event: Record<string, Primitive> & { type: string }; source?: string })
  | (Envelope<'contract'> & { event: Record<string, unknown> & { type: string } })
  | (Envelope<'dropped'> & { count: number })
  | (Envelope<'bye'> & { reason: string });

/** Limits the server enforces on what it accepts. */
export const LIMITS = {
  /** Largest accepted `POST /ingest` body, bytes. */
  maxBodyBytes: 2 * 1024 * 1024,
  /** Longest string kept anywhere in a message (longer ones are cut). */
  maxString: 300,
  /** Most fields kept of a summary or event. */
  maxFields: 12,
  /** Most active state ids kept per snapshot. */
  maxActive: 64,
  /** Most transitions kept per snapshot. */
  maxTransitions: 32,
} as const;

/** Keeps the primitive fields of an object (strings cut to {@link LIMITS.maxString}). */
export function primitiveFields(value: unknown, max: number = LIMITS.maxFields): Record<string, Primitive> {
  const out: Record<string, Primitive> = {};
  if (typeof value !== 'object' || value === null) return out;
  let n = 0;
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (n >= max) break;
    if (typeof field === 'string') out[key] = field.length > LIMITS.maxString ? `${field.slice(0, LIMITS.maxString)}…` : field;
    else if (typeof field === 'number' || typeof field === 'boolean' || field === null) out[key] = field;
    else continue;
    n++;
  }
  return out;
}

/**
 * The XState ids of the state nodes a `value` makes active in machine `machineId` (the default ids,
 * `<machine>.<path>`; our machines set no custom state ids), the root included.
 */
export function activeStateIds(machineId: string, value: unknown): string[] {
  const out: string[] = [machineId];
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'string') out.push(`${prefix}.${v}`);
    else if (typeof v === 'object' && v !== null) {
      for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
        out.push(`${prefix}.${key}`);
        walk(`${prefix}.${key}`, child);
      }
    }
  };
  walk(machineId, value);
  return out.slice(0, LIMITS.maxActive);
}

const str = (v: unknown, max: number = LIMITS.maxString): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;

function parseActor(v: unknown): ActorInfo | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const id = str(o.id, 100);
  if (id === undefined) return undefined;
  const actor: ActorInfo = { id, name: str(o.name, 100) ?? id, machine: str(o.machine, 100) ?? null };
  const systemId = str(o.systemId, 100);
  const parent = str(o.parent, 100);
  if (systemId !== undefined) actor.systemId = systemId;
  if (parent !== undefined) actor.parent = parent;
  return actor;
}

/** The valid entries of a snapshot's `transitions`, bounded. */
export function parseTransitions(v: unknown): TakenTransition[] {
  if (!Array.isArray(v)) return [];
  const out: TakenTransition[] = [];
  for (const item of v.slice(0, LIMITS.maxTransitions)) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    const source = str(o.source, 200);
    if (source === undefined || typeof o.event !== 'string' || !Array.isArray(o.targets)) continue;
    const targets = o.targets.filter((t): t is string => typeof t === 'string' && t.length > 0).slice(0, 16).map((t) => t.slice(0, 200));
    out.push({ source, targets, event: o.event.slice(0, 200) });
  }
  return out;
}

/** Cuts a JSON value to a bounded size (depth 6, 50 keys per object) — for state values. */
function boundedValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.slice(0, LIMITS.maxString);
  if (typeof v !== 'object' || v === null || depth > 6) return typeof v === 'object' ? null : v;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(v as Record<string, unknown>).slice(0, 50)) out[key.slice(0, 100)] = boundedValue(child, depth + 1);
  return out;
}

/**
 * Validates one decoded line; returns the message (strings cut, unknown fields dropped) or `null`
 * when it is not a v1 message. Never throws: the viewer must survive any input.
 */
export function parseMessage(input: unknown): ViewerMessage | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const o = input as Record<string, unknown>;
  if (o.v !== PROTOCOL_VERSION) return null;
  const kind = o.kind as MessageKind;
  if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) return null;
  const pid = o.pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  const session = str(o.session, 100);
  if (session === undefined) return null;
  const seq = typeof o.seq === 'number' && Number.isFinite(o.seq) ? o.seq : 0;
  const t = typeof o.t === 'number' && Number.isFinite(o.t) ? o.t : Date.now();
  const base = { v: PROTOCOL_VERSION, pid, session, seq, t } as const;
  switch (kind) {
    case 'hello': {
      const argv = Array.isArray(o.argv) ? o.argv.filter((a): a is string => typeof a === 'string').slice(0, 40).map((a) => a.slice(0, 200)) : undefined;
      return { ...base, kind, startedAt: typeof o.startedAt === 'number' ? o.startedAt : t, ...(argv ? { argv } : {}) };
    }
    case 'actor': {
      const actor = parseActor(o.actor);
      return actor ? { ...base, kind, actor } : null;
    }
    case 'snapshot': {
      const actor = parseActor(o.actor);
      if (!actor) return null;
      const active = Array.isArray(o.active)
        ? o.active.filter((a): a is string => typeof a === 'string').slice(0, LIMITS.maxActive).map((a) => a.slice(0, 200))
        : actor.machine
          ? activeStateIds(actor.machine, o.value)
          : [];
      return {
        ...base,
        kind,
        actor,
        value: boundedValue(o.value),
        status: str(o.status, 20) ?? 'active',
        event: str(o.event, 200) ?? '',
        ...(o.micro === true ? { micro: true } : {}),
        active,
        summary: primitiveFields(o.summary),
        ...(Array.isArray(o.transitions) ? { transitions: parseTransitions(o.transitions) } : {}),
      };
    }
    case 'event': {
      const actor = parseActor(o.actor);
      const event = primitiveFields(o.event);
      if (!actor || typeof event.type !== 'string') return null;
      const source = str(o.source, 100);
      return { ...base, kind, actor, event: event as Record<string, Primitive> & { type: string }, ...(source ? { source } : {}) };
    }
    case 'contract': {
      if (typeof o.event !== 'object' || o.event === null) return null;
      const raw = o.event as Record<string, unknown>;
      if (typeof raw.type !== 'string') return null;
      const event: Record<string, unknown> & { type: string } = { ...primitiveFields(raw, 20), type: raw.type.slice(0, 200) };
      return { ...base, kind, event };
    }
    case 'dropped':
      return { ...base, kind, count: typeof o.count === 'number' && o.count >= 0 ? Math.floor(o.count) : 0 };
    case 'bye':
      return { ...base, kind, reason: str(o.reason, 200) ?? '' };
    default:
      return null;
  }
}
