/**
 * Exhaustive breadth-first exploration of the protocol model (`model.ts`): every interleaving of every
 * process step, user action and environment move within the bound, with a visited set. Checks the state
 * invariants in every state, the move invariants on every move, and — once the graph is complete — that
 * every reachable state can still reach "a launch runs" without further faults (backward reachability).
 * Breadth-first, so the first violation found has a shortest trace.
 */
import { appCanRunNow, initialState, moves, moveViolation, stateKey, stateViolation, type ModelOptions, type State, type Violation } from './model.js';

/** One step of a trace. */
export interface TraceStep {
  actor: string;
  label: string;
  fn: string;
}

/** What the exploration found. */
export interface Exploration {
  states: number;
  transitions: number;
  /** Longest shortest path from the initial state (the depth of the breadth-first search). */
  depth: number;
  ms: number;
  /** Every reachable state was explored and the liveness check ran (no `maxDepth`, no early stop). */
  complete: boolean;
  /** The first (shortest) violation found, or null. */
  violation: Found | null;
  /** The shortest violation of each invariant that was violated, in the order found. */
  violations: Found[];
}

/** A violation with the shortest interleaving that reaches it. */
export type Found = Violation & { trace: TraceStep[] };

/** Limits of one exploration. */
export interface Limits {
  /** A safety net: throw beyond this many states (the bound is too large for CI). @default 3_000_000 */
  maxStates?: number;
  /** Explore only interleavings of at most this many moves (to show a trace is shortest). */
  maxDepth?: number;
  /** Stop as soon as one of these invariants is violated (the liveness check is then skipped). */
  stopOn?: string[];
  /** Stop once every one of these invariants is violated (the liveness check is then skipped). */
  stopOnAll?: string[];
}

/**
 * Explore every reachable state.
 * @param options the model's options (strategy, bound, the judge, sabotage switches)
 */
export function explore(options: ModelOptions, limits: Limits = {}): Exploration {
  const maxStates = limits.maxStates ?? 3_000_000;
  const maxDepth = limits.maxDepth ?? Infinity;
  const started = performance.now();
  const index = new Map<string, number>();
  /** The frontier: a state is dropped once expanded (a trace is re-derived from move indices). */
  const pending: (State | undefined)[] = [];
  const parent = new Growable();
  const moveIndex = new Growable();
  const depth = new Growable();
  const goal = new Growable();
  /** Non-fault edges (for the liveness check), as two parallel lists. */
  const edgeFrom = new Growable();
  const edgeTo = new Growable();
  let transitions = 0;

  const add = (state: State, from: number, move: number): number => {
    const key = stateKey(state);
    const known = index.get(key);
    if (known !== undefined) return known;
    const id = pending.length;
    if (id >= maxStates) throw new Error(`more than ${maxStates} states: the bound is too large`);
    index.set(key, id);
    pending.push(state);
    parent.push(from);
    moveIndex.push(move);
    depth.push(from < 0 ? 0 : depth.at(from) + 1);
    goal.push(appCanRunNow(state, options) ? 1 : 0);
    return id;
  };
  const traceTo = (id: number, lastMove?: number): TraceStep[] => {
    const path: number[] = lastMove === undefined ? [] : [lastMove];
    for (let at = id; at > 0; at = parent.at(at)) path.push(moveIndex.at(at));
    path.reverse();
    const steps: TraceStep[] = [];
    let state = initialState(options.bound);
    for (const i of path) {
      const move = moves(state, options)[i]!;
      steps.push({ actor: move.actor, label: move.label, fn: move.fn });
      state = move.next;
    }
    return steps;
  };
  const found = new Map<string, Found>();
  const report = (violation: Violation, trace: () => TraceStep[]) => {
    if (!found.has(violation.invariant)) found.set(violation.invariant, { ...violation, trace: trace() });
  };

  // Breadth-first: the first violation of each invariant found is reached by a shortest interleaving.
  // The exploration goes on past a violation (the system does too), to find every invariant violated.
  const first = add(initialState(options.bound), -1, -1);
  const initial = stateViolation(pending[first]!);
  if (initial) report(initial, () => []);
  const stopped = () => limits.stopOn?.some((name) => found.has(name)) === true || limits.stopOnAll?.every((name) => found.has(name)) === true;
  for (let at = 0; at < pending.length && !stopped(); at++) {
    const state = pending[at]!;
    pending[at] = undefined;
    if (depth.at(at) >= maxDepth) continue;
    moves(state, options).forEach((move, i) => {
      transitions++;
      const byMove = moveViolation(move.next);
      if (byMove) report(byMove, () => traceTo(at, i));
      const before = pending.length;
      const to = add(move.next, at, i);
      if (pending.length > before) {
        const inState = stateViolation(move.next);
        if (inState) report(inState, () => traceTo(to));
      }
      if (!move.fault && to !== at) {
        edgeFrom.push(at);
        edgeTo.push(to);
      }
    });
  }
  const complete = !stopped() && maxDepth === Infinity;
  const stuck = complete ? lockedOut(pending.length, goal, edgeFrom, edgeTo) : null;
  if (stuck !== null) {
    report({ invariant: 'no-lockout', detail: 'from this state no launch can ever run again (without another fault)' }, () => traceTo(stuck));
  }
  const violations = [...found.values()];
  return {
    states: pending.length,
    transitions,
    depth: depth.max(),
    ms: Math.round(performance.now() - started),
    complete,
    violation: violations.reduce<Found | null>((best, v) => (best === null || v.trace.length < best.trace.length ? v : best), null),
    violations,
  };
}

/** A growable list of 32-bit integers (millions of entries, without millions of objects). */
class Growable {
  private data = new Int32Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  at(i: number): number {
    return this.data[i]!;
  }
  max(): number {
    let max = 0;
    for (let i = 0; i < this.length; i++) max = Math.max(max, this.data[i]!);
    return max;
  }
}

/** The first reachable state (in breadth-first order, so with a shortest trace) that cannot reach "a launch runs". */
function lockedOut(count: number, goal: Growable, edgeFrom: Growable, edgeTo: Growable): number | null {
  // Reverse adjacency in compressed form: for each target, the sources of its non-fault edges.
  const start = new Int32Array(count + 1);
  for (let e = 0; e < edgeTo.length; e++) start[edgeTo.at(e) + 1]!++;
  for (let i = 0; i < count; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, count);
  const sources = new Int32Array(edgeTo.length);
  for (let e = 0; e < edgeTo.length; e++) sources[fill[edgeTo.at(e)]!++] = edgeFrom.at(e);
  const canRun = new Uint8Array(count);
  const queue = new Int32Array(count);
  let tail = 0;
  for (let id = 0; id < count; id++) {
    if (goal.at(id)) {
      canRun[id] = 1;
      queue[tail++] = id;
    }
  }
  for (let head = 0; head < tail; head++) {
    const target = queue[head]!;
    for (let k = start[target]!; k < start[target + 1]!; k++) {
      const from = sources[k]!;
      if (!canRun[from]) {
        canRun[from] = 1;
        queue[tail++] = from;
      }
    }
  }
  const stuck = canRun.indexOf(0);
  return stuck === -1 ? null : stuck;
}

/** A trace as numbered lines, for people. */
export function formatTrace(violation: NonNullable<Exploration['violation']>): string {
  const lines = violation.trace.map((step, i) => `${String(i + 1).padStart(3)}. ${step.actor.padEnd(5)} ${step.label}${step.fn ? `   [${step.fn}]` : ''}`);
  return [`VIOLATION of ${violation.invariant}: ${violation.detail}`, `shortest interleaving (${violation.trace.length} steps):`, ...lines].join('\n');
}
