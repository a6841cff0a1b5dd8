/**
 * What a test model is, and the path generator on `xstate/graph` every model shares.
 *
 * A model names a machine (the production one, or the adopter's variant), its input, and the world
 * around it: which events the world can produce in a state (with payloads), the event that tells a
 * restored snapshot it runs in a new process, and a *watcher* that sees every effect and step of a
 * replay and reports the invariants it finds broken. The events a state accepts are read from the
 * machine (its active state nodes' `ownEvents`); a model only supplies payloads, and the event types
 * a state accepts that the model has no payload for are listed in the generated paths' `unmodelled`
 * (a machine change the model does not know about shows up there instead of going untested).
 */
import type { AnyActorRef, AnyEventObject, AnyStateMachine } from 'xstate';
import { getShortestPaths, type StatePath } from 'xstate/graph';
import { provideInert, type EffectCall } from './inert.js';

/** A snapshot as a model reads it. */
export interface ModelSnapshot<TContext = any> {
  value: unknown;
  context: TContext;
  status?: string;
  output?: unknown;
  _nodes?: readonly { ownEvents: readonly string[]; invoke: readonly { id: string; src: unknown }[] }[];
}

/** One broken invariant, as data a test can assert on. */
export interface InvariantViolation {
  /** A short stable name, e.g. `at_most_one_restart`. */
  invariant: string;
  message: string;
}

/** Sees one replay (all its "processes") and reports what it finds broken. */
export interface ReplayWatcher {
  /** An effect was called (by the machine or a child) in process `boot` (0 = the first). */
  onEffect(call: EffectCall, boot: number): void;
  /** Before an event is sent (the world's own bookkeeping: a quit, a commit landing, …). */
  beforeSend?(event: AnyEventObject, actor: AnyActorRef, boot: number): void;
  /** After every step and every restore: the violations found so far (an empty list when none). */
  check(actor: AnyActorRef, boot: number): InvariantViolation[];
  /** Which snapshot the next process restores from, given the latest one (e.g. the last durable commit). @default the latest */
  persisted?(latest: unknown): unknown;
  /** Right after a restore, with the persisted snapshot it was restored from. */
  afterRestore?(before: unknown, actor: AnyActorRef, boot: number): InvariantViolation[];
}

/** A machine and its world. */
export interface TestModel<TInput = unknown> {
  /** Shown in reports. */
  name: string;
  /** The machine under test, effects not yet provided (the kit makes them inert). */
  machine: AnyStateMachine;
  input: TInput;
  /** Whether the machine runs without its parent (its `notifyParent` made a no-op). */
  standalone: boolean;
  /** The events the world can produce, by event type, for a snapshot (payloads included). */
  events: Readonly<Record<string, (snapshot: ModelSnapshot) => AnyEventObject[]>>;
  /** Event types the machine accepts that the world does not send, on purpose (e.g. sent by a child). */
  internal?: readonly string[];
  /** The `runtime.booted` event of a new process (`boot` counts from 1). */
  bootEvent(boot: number, snapshot: ModelSnapshot): AnyEventObject;
  /** How many processes one path may span (each boot event is a new one); 0: crashes only in the replay. */
  maxBoots: number;
  /** How many boot events a snapshot has seen (to stop at `maxBoots`). @default 0 */
  bootsOf?: (snapshot: ModelSnapshot) => number;
  /** State key for the traversal (counters in context multiply states). @default `{ value, context }` */
  serializeState?: (snapshot: ModelSnapshot) => string;
  /** Stop exploring from a snapshot (it already breaks an invariant). @default never */
  stopWhen?: (snapshot: ModelSnapshot) => boolean;
  /** A fresh watcher for one replay. */
  watch(): ReplayWatcher;
  /** After a path and its last restore: drive the machine to rest (timers fire, reads answer). Optional. */
  settle?(actor: AnyActorRef, send: (event: AnyEventObject) => void): void;
  /** Bound on the states the traversal may visit. @default 50_000 */
  limit?: number;
}

/** What {@link generatePaths} returns. */
export interface GeneratedPaths {
  model: string;
  /** The shortest path to every reachable state. */
  paths: StatePath<any, any>[];
  /** The paths that are not a prefix of another: replaying them (with a crash at every step) covers every state. */
  maximal: StatePath<any, any>[];
  /** Event types some state accepts for which the model has no payloads (so they were never sent). */
  unmodelled: string[];
}

/** The event types the active state nodes accept (read from the machine). */
export function acceptedEvents(snapshot: ModelSnapshot): string[] {
  const types = new Set<string>();
  for (const node of snapshot._nodes ?? []) for (const type of node.ownEvents) types.add(type);
  return [...types];
}

/** The innermost state, dotted (`RESTART_REQUESTED.waiting`). */
export function leafOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as object)[0] ?? ['?', ''];
  return inner === undefined || (typeof inner === 'object' && Object.keys(inner as object).length === 0) ? key : `${key}.${leafOf(inner)}`;
}

/** The top-level state (the orchestrator's phase). */
export function topOf(value: unknown): string {
  return typeof value === 'string' ? value : (Object.keys(value as object)[0] ?? '?');
}

/** The events the world sends in a state: every accepted type the model has payloads for, and new processes. */
export function modelEvents(model: TestModel, snapshot: ModelSnapshot, boots: number, unmodelled?: Set<string>): AnyEventObject[] {
  const events: AnyEventObject[] = [];
  for (const type of acceptedEvents(snapshot)) {
    const make = model.events[type];
    if (make) events.push(...make(snapshot));
    else if (type !== 'runtime.booted' && !model.internal?.includes(type)) unmodelled?.add(type);
  }
  if (boots < model.maxBoots) events.push(model.bootEvent(boots + 1, snapshot));
  return events;
}

/**
 * The shortest path to every reachable state of the model's machine (effects inert), and the maximal
 * ones among them. Deterministic: the same machine, input and model give the same paths.
 */
export function generatePaths(model: TestModel): GeneratedPaths {
  const unmodelled = new Set<string>();
  const bootsOf = model.bootsOf ?? (() => 0);
  const traversable = provideInert(model.machine, { detachParent: model.standalone });
  const paths = getShortestPaths(traversable, {
    input: model.input,
    events: ((snapshot: ModelSnapshot) => modelEvents(model, snapshot, bootsOf(snapshot), unmodelled)) as never,
    ...(model.serializeState ? { serializeState: model.serializeState as never } : {}),
    ...(model.stopWhen ? { stopWhen: model.stopWhen as never } : {}),
    limit: model.limit ?? 50_000,
  });
  return { model: model.name, paths, maximal: maximalPaths(paths), unmodelled: [...unmodelled].sort() };
}

/** The paths whose events are not a proper prefix of another path's. */
export function maximalPaths(paths: StatePath<any, any>[]): StatePath<any, any>[] {
  const keys = paths.map((path) => path.steps.map((step) => JSON.stringify(step.event)));
  const prefixes = new Set<string>();
  for (const key of keys) for (let length = 0; length < key.length; length++) prefixes.add(key.slice(0, length).join('\n'));
  return paths.filter((_, i) => !prefixes.has(keys[i]!.join('\n')));
}
