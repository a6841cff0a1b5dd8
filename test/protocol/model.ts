/**
 * A model of the multi-process protocol as it is implemented: the instance lock (at the level of its
 * guarantees), the relaunch hand-off of `src/handoff/handoff-protocol.ts`, `reset` and `status`, plus the
 * environment (SIGKILL, SIGSTOP/SIGCONT, PID reuse, time passing, the wall clock jumping).
 *
 * Every process step is one atomic operation of the real code and names the function that performs it
 * (`Step.fn`); every decision about a proof is taken by the REAL pure functions `judgeProof` and
 * `sweepDecision` (or an injected variant, for the sabotage checks). What the model abstracts, and why
 * that is sound, is in docs/architecture.md ("The multi-process protocol, model-checked").
 *
 * Time: everything time-dependent is an age in ticks since it happened, capped: 0, 1, 2, or LONG.
 * One tick is {@link TICK_MS} (longer than `handoff_timeout_s`, shorter than the successor's wait;
 * two ticks are longer than the wait); LONG is longer than anything the protocol measures (the 607 s
 * a cancel marker is kept). Ages 2..LONG-1 behave identically for every decision, so capping is exact.
 */
import {
  judgeProof,
  successorWaitMs,
  sweepDecision,
  type AliveProof,
  type ProofObservation,
  type ProofVerdict,
} from '../../src/handoff/handoff-protocol.js';
import type { ProcessProbe } from '../../src/lock/process-identity.js';

/** `restart.handoff_timeout_s` in the model (ms). */
export const HANDOFF_TIMEOUT_MS = 1000;
/** What the successor derives from it (the real function). */
export const WAIT_MS = successorWaitMs(HANDOFF_TIMEOUT_MS);
/** One tick: past the predecessor's timeout, inside the successor's wait. */
export const TICK_MS = 1200;
/** The capped age "a long time ago" (ms): beyond the 607 s a cancel marker is kept. */
export const LONG_MS = 1_000_000;
/** The age value meaning LONG. */
export const LONG = 9;
/** How far the wall clock jumps (ms), either way. */
export const JUMP_MS = 700_000;
const BASE_MS = Date.UTC(2026, 0, 1);
const HOST = 'model-host';

if (!(TICK_MS > HANDOFF_TIMEOUT_MS && TICK_MS < WAIT_MS && 2 * TICK_MS > WAIT_MS)) {
  throw new Error(`the model's tick (${TICK_MS} ms) must lie between the hand-off timeout and the successor's wait (${WAIT_MS} ms)`);
}

export type Kind = 'launch' | 'successor' | 'reset' | 'status';
/** `dead`: SIGKILLed or exited (no one can tell the two apart from outside). */
export type Life = 'alive' | 'stopped' | 'dead';

/** One process of ours. */
export interface Proc {
  /** Name in traces: L1, L2, S1, R, T. */
  name: string;
  kind: Kind;
  pid: number;
  /** Start identity: `s<pid>` (ours) — a recycled PID gets `x<pid>`. */
  startId: string;
  pc: string;
  life: Life;
  /** Successor: its token; predecessor: the token of the successor it started. */
  token?: string;
  /** Predecessor: name of the successor it started. */
  child?: string;
  /** Monotonic age of the relevant start (successor: beginSuccession; predecessor: spawn). */
  age?: number;
  /** Successor: the ledger epoch its predecessor relaunched in. */
  epoch?: number;
}

/** `handoff/<token>.*` of one token. */
export interface TokenFiles {
  alive: null | { pid: number; startId: string; age: number; shift: number };
  cancelled: null | { age: number; shift: number };
}

export interface State {
  /** Wall-clock shift (ms): 0, or ±JUMP_MS after the clock jumped. */
  shift: number;
  /** The instance lock: who holds it (a process name), whether or not it is still alive. */
  lock: string | null;
  /**
   * The ledger as the hand-off reads it: restart_count, the reset epoch, the relaunch gate's pending
   * request (the token derived from its id, `tokenForRequest`) and the successor `restart.executed` named.
   */
  ledger: { count: number; epoch: number; request: string | null; executedTo: number | null };
  files: Record<string, TokenFiles>;
  /** PIDs of ours that now belong to another program. */
  reused: number[];
  procs: Proc[];
  budget: { launches: number; resets: number; statuses: number; kills: number; stops: number; reuses: number; jumps: number };
  /** Ghost variables: not part of the system, only for the invariants. */
  ghost: {
    /** restart_count rises 0→1 in the current epoch. */
    rises: number;
    /** Successors started in the current epoch. */
    spawns: number;
    /** `restart.executed` commits in the current epoch. */
    executed: number;
    /** Tokens the predecessor gave up on (wrote `T.cancelled`). */
    cancelled: string[];
    clockMoved: boolean;
  };
}

/** The bound of the exploration. */
export interface Bound {
  /** Plain launches (the first one included). */
  launches: number;
  resets: number;
  statuses: number;
  /** SIGKILLs. */
  kills: number;
  /** SIGSTOPs (each SIGCONT is always possible). */
  stops: number;
  /** PIDs reused by another program. */
  reuses: number;
  /** Wall-clock jumps (forward or back). */
  jumps: number;
  /** Processes of ours alive at once. */
  concurrent: number;
}

export const DEFAULT_BOUND: Bound = { launches: 2, resets: 1, statuses: 1, kills: 2, stops: 1, reuses: 1, jumps: 1, concurrent: 3 };

/** The judge of a proof: the real `judgeProof`, or a sabotaged one. */
export type Judge = (proof: AliveProof, seen: ProofObservation) => ProofVerdict;

export interface ModelOptions {
  strategy: 'node' | 'bundle';
  bound: Bound;
  judge: Judge;
  /** `resetFirstRun` checks `findPendingHandoff` after taking the lock (false: the sabotage). */
  resetChecksPending: boolean;
}

export const defaultOptions = (overrides: Partial<ModelOptions> = {}): ModelOptions => ({
  strategy: 'node',
  bound: DEFAULT_BOUND,
  judge: judgeProof,
  resetChecksPending: true,
  ...overrides,
});

/** A move: a process step, a user action, or an environment move. */
export interface Move {
  /** Who moves (a process name, `user` or `env`). */
  actor: string;
  /** What happens, for people. */
  label: string;
  /** The function of the code that performs it (process steps), or the environment's act. */
  fn: string;
  /** Fault moves (kill, stop, PID reuse, clock jump) are not used to show that the app can run again. */
  fault: boolean;
  next: State;
}

/** A violation found in a state or by a move. */
export interface Violation {
  invariant: string;
  detail: string;
}

// ---------------------------------------------------------------------------------------------------
// Observations of the world, as the real code makes them.

const live = (p: Proc) => p.life === 'alive' || p.life === 'stopped';

function clone(s: State): State {
  const files: Record<string, TokenFiles> = {};
  for (const [token, f] of Object.entries(s.files)) files[token] = { alive: f.alive && { ...f.alive }, cancelled: f.cancelled && { ...f.cancelled } };
  return {
    shift: s.shift,
    lock: s.lock,
    ledger: { ...s.ledger },
    files,
    reused: [...s.reused],
    procs: s.procs.map((p) => ({ ...p })),
    budget: { ...s.budget },
    ghost: { ...s.ghost, cancelled: [...s.ghost.cancelled] },
  };
}

function proc(state: State, name: string): Proc {
  const found = state.procs.find((p) => p.name === name);
  if (!found) throw new Error(`no process ${name}`);
  return found;
}

/** `probeProcess(pid)`: ours if alive, else another program if the PID was reused, else none. */
export function probe(state: State, pid: number): ProcessProbe {
  const ours = state.procs.find((p) => p.pid === pid && live(p));
  if (ours) return { pid, exists: true, zombie: false, stopped: ours.life === 'stopped', startId: ours.startId, startedAt: null };
  if (state.reused.includes(pid)) return { pid, exists: true, zombie: false, stopped: false, startId: `x${pid}`, startedAt: null };
  return { pid, exists: false, zombie: false, stopped: false, startId: null, startedAt: null };
}

const ageMs = (age: number) => (age >= LONG ? LONG_MS : age * TICK_MS);
const wallNow = (state: State) => BASE_MS + state.shift;

/** `T.alive` as the real proof object (`proofForThisProcess` / `parseProof`). */
export function proofOf(state: State, token: string): AliveProof | null {
  const alive = state.files[token]?.alive;
  if (!alive) return null;
  return {
    version: 2,
    role: 'restart',
    token,
    pid: alive.pid,
    startId: alive.startId,
    host: HOST,
    provedAt: new Date(BASE_MS - ageMs(alive.age) + alive.shift).toISOString(),
    waitMs: WAIT_MS,
  };
}

/** `judgeTokenNow`: the judge, with a fresh probe, the marker, and the wall clock. */
export function judgeToken(state: State, options: ModelOptions, token: string, self: Proc): ProofVerdict | null {
  const proof = proofOf(state, token);
  if (!proof) return null;
  return options.judge(proof, {
    now: wallNow(state),
    probe: probe(state, proof.pid),
    cancelled: state.files[token]?.cancelled != null,
    selfPid: self.pid,
    host: HOST,
  });
}

/*
 * A successor started *held* (handoff-protocol.ts, step 1) is not in this model before its `go`: until
 * then it writes, proves and takes nothing, and exits when the predecessor dies. Its `go` is sent where
 * the un-held spawn happens, so the model's `spawn` step is the `go` of a held start too.
 */
/** `findPendingHandoff` (and the pending half of `sweepAndFindPending`): the first token whose proof is pending. */
export function findPending(state: State, options: ModelOptions, self: Proc): string | null {
  for (const token of Object.keys(state.files).sort()) {
    if (judgeToken(state, options, token, self)?.pending) return token;
  }
  return null;
}

/** `cancelMarkerAgeMs`: by the marker's mtime (wall), clamped at 0. */
function markerAgeMs(state: State, token: string): number | null {
  const marker = state.files[token]?.cancelled;
  if (!marker) return null;
  return Math.max(0, wallNow(state) - (BASE_MS - ageMs(marker.age) + marker.shift));
}

/**
 * `tidyHandoffs` → `sweepAndFindPending`, its sweep: each token judged, `sweepDecision` says keep or remove.
 * The code judges the kept tokens for a pending proof in the same pass; the model makes that a step of its
 * own (`pending`), so it also explores everything that may happen in between — a superset.
 */
function sweep(state: State, options: ModelOptions, self: Proc): void {
  for (const token of Object.keys(state.files)) {
    const verdict = judgeToken(state, options, token, self);
    if (sweepDecision(verdict, markerAgeMs(state, token)) === 'remove') delete state.files[token];
  }
}

/** The lock's guarantee: free, or its holder is provably dead (liveness + start identity) → taken. */
function lockTakeable(state: State): boolean {
  return state.lock === null || !live(proc(state, state.lock));
}

/** The successor of `token` (the process that writes its proof). */
function successorOf(state: State, token: string): Proc | undefined {
  return state.procs.find((p) => p.kind === 'successor' && p.token === token);
}

/** The ghost truth behind a "pending" verdict: the proof's writer is alive, with that PID. */
function phantom(state: State, token: string): Violation | null {
  const writer = successorOf(state, token);
  const alive = state.files[token]?.alive;
  if (writer && alive && live(writer) && writer.pid === alive.pid) return null;
  const who = state.reused.includes(alive?.pid ?? -1) ? `another program that now has PID ${alive?.pid}` : 'no process';
  return { invariant: 'no-phantom-successor', detail: `a proof of ${writer?.name ?? token} was judged pending, but its writer is ${writer ? writer.life : 'unknown'} and PID ${alive?.pid} is ${who}` };
}

/**
 * The ghost truth of "a successor is pending": one proved alive (its proof on disk, its PID its own), is
 * alive (even if stopped), inside its own wait, and not given up on — with the clock never moved.
 */
function waitingSuccessor(state: State): Proc | undefined {
  if (state.ghost.clockMoved) return undefined;
  return state.procs.find((p) => {
    const files = p.kind === 'successor' && p.token ? state.files[p.token] : undefined;
    return files?.alive && !files.cancelled && live(p) && files.alive.pid === p.pid && p.pc === 'wait' && (p.age ?? 0) < 2;
  });
}

// ---------------------------------------------------------------------------------------------------
// The processes' steps.

interface StepResult {
  label: string;
  fn: string;
  violation?: Violation;
}

/** Two steps of one process as one atomic move (see where it is used for why that is exact). */
function fuse(first: StepResult, second: StepResult): StepResult {
  const violation = first.violation ?? second.violation;
  return { label: `${first.label}; ${second.label}`, fn: `${first.fn}; ${second.fn}`, ...(violation ? { violation } : {}) };
}

type StepFn = (s: State, p: Proc, o: ModelOptions) => StepResult | null;

/** The process is gone (exited or killed): only what others can still see of it stays. */
function bury(p: Proc): void {
  p.life = 'dead';
  p.pc = 'dead';
  delete p.age;
  if (p.kind !== 'successor') {
    delete p.token;
    delete p.child;
  }
}

function exit(_s: State, p: Proc, _why: string): void {
  bury(p);
}

function release(s: State, p: Proc): void {
  if (s.lock === p.name) s.lock = null; // token-checked: only our own lock is removed
}

function commit(s: State, p: Proc, count: number): Violation | undefined {
  if (s.lock !== p.name) return { invariant: 'one-ledger-writer', detail: `${p.name} commits the ledger without holding the lock (held by ${s.lock ?? 'nobody'})` };
  if (count < s.ledger.count) return { invariant: 'restart-count-monotonic', detail: `${p.name} lowers restart_count ${s.ledger.count} → ${count} outside reset` };
  if (count > s.ledger.count) s.ghost.rises += 1;
  s.ledger.count = count;
  return undefined;
}

const acquire: StepFn = (s, p) => {
  if (lockTakeable(s)) {
    const from = s.lock;
    s.lock = p.name;
    p.pc = 'tidy';
    return { label: from ? `takes over the lock of dead ${from}` : 'takes the lock', fn: 'acquireInstanceLock' };
  }
  exit(s, p, `busy (lock held by ${s.lock})`);
  return { label: `finds the lock held by live ${s.lock}, exits 3`, fn: 'acquireInstanceLock' };
};

const tidy: StepFn = (s, p, o) => {
  const before = Object.keys(s.files).length;
  sweep(s, o, p);
  const removed = before - Object.keys(s.files).length;
  p.pc = 'pending';
  return { label: removed > 0 ? `sweeps handoff/ (removes ${removed} token)` : 'sweeps handoff/ (nothing to remove)', fn: 'tidyHandoffs → sweepAndFindPending → sweepDecision(judgeProof)' };
};

const launchSteps: Record<string, StepFn> = {
  acquire,
  tidy,
  pending: (s, p, o) => {
    const token = findPending(s, o, p);
    if (token) {
      const violation = phantom(s, token) ?? undefined;
      release(s, p);
      exit(s, p, 'yielded');
      return { label: `finds ${successorOf(s, token)?.name ?? token}'s proof pending: releases the lock, exits 3`, fn: 'takeLockAsLaunch → tidyHandoffs → sweepAndFindPending → judgeProof', ...(violation ? { violation } : {}) };
    }
    // Finding nothing only read; loading touches only the ledger, which no one else can read or write
    // while we hold the lock: one step (no interleaving, and no crash in between, can tell them apart).
    p.pc = 'load';
    return fuse({ label: 'finds no pending hand-off', fn: 'takeLockAsLaunch → tidyHandoffs → sweepAndFindPending → judgeProof' }, launchSteps.load!(s, p, o)!);
  },
  // Loading and the first commit are one step for the same reason.
  load: (s, p) => {
    const count = s.ledger.count;
    const violation = commit(s, p, 1);
    // RS-3 commits the request (its id gives the successor's token); a launch restoring a request it did
    // not arm drops it (the gate's `restored_request`).
    s.ledger.request = count === 0 ? `T${s.procs.filter((q) => q.kind === 'successor').length + 1}` : null;
    p.pc = count === 0 ? 'spawn' : 'release';
    const label = count === 0 ? 'loads the ledger (restart_count 0): the app runs; commits restart_count 1 before relaunching (RS-3)' : 'loads the ledger (restart_count 1): the app runs without restarting; commits';
    return { label, fn: 'FirstRunProcess.openLedger → store.load; chooseSnapshot; relaunch gate → store.commit', ...(violation ? { violation } : {}) };
  },
  spawn: (s, p) => {
    const n = s.procs.filter((q) => q.kind === 'successor').length + 1;
    const token = `T${n}`;
    const pid = nextPid(s);
    s.procs.push({ name: `S${n}`, kind: 'successor', pid, startId: `s${pid}`, pc: 'begin', life: 'alive', token, age: 0, epoch: s.ledger.epoch });
    s.ghost.spawns += 1;
    p.token = token;
    p.child = `S${n}`;
    p.age = 0;
    p.pc = 'await';
    const violation: Violation | undefined = s.ghost.spawns > 1 ? { invariant: 'one-relaunch', detail: `a second successor (S${n}) is started in one ledger epoch` } : undefined;
    return { label: `starts successor S${n} (pid ${pid}, token ${token})`, fn: 'createProcessRelauncher.relaunch → spawnSuccessor', ...(violation ? { violation } : {}) };
  },
  commitExecuted: (s, p) => {
    s.ghost.executed += 1;
    s.ledger.request = null;
    s.ledger.executedTo = proc(s, p.child!).pid;
    const violation = s.lock !== p.name ? { invariant: 'one-ledger-writer', detail: `${p.name} commits restart.executed without the lock` } : s.ghost.executed > 1 ? { invariant: 'one-relaunch', detail: 'restart.executed committed twice in one epoch' } : undefined;
    p.pc = 'release';
    return { label: 'commits restart.executed', fn: 'service (relaunch resolved) → store.commit', ...(violation ? { violation } : {}) };
  },
  // Giving up (`giveUp` in the relauncher): its own child first — SIGKILLed, it can never come late —
  // then the marker, for a successor that is not its child (`bundle`).
  kill: (s, p, o) => {
    const child = proc(s, p.child!);
    const killed = o.strategy === 'node' && live(child);
    if (killed) bury(child);
    p.pc = 'cancel';
    return { label: killed ? `gives up: SIGKILLs its child ${child.name}` : 'gives up (its successor is not its child)', fn: 'relauncher giveUp → child.kill' };
  },
  cancel: (s, p) => {
    s.files[p.token!] ??= { alive: null, cancelled: null };
    s.files[p.token!]!.cancelled = { age: 0, shift: s.shift };
    if (!s.ghost.cancelled.includes(p.token!)) s.ghost.cancelled.push(p.token!);
    p.pc = 'work';
    delete p.age;
    return { label: `writes ${p.token}.cancelled; verifies in place (restart_unverified)`, fn: 'relauncher giveUp → cancelHandoff' };
  },
  work: (s, p) => {
    const violation = commit(s, p, 1);
    s.ledger.request = null; // the gate records the failed relaunch; the request is done
    p.pc = 'release';
    return { label: 'runs and commits its settled state', fn: 'service → store.commit', ...(violation ? { violation } : {}) };
  },
  release: (s, p) => {
    release(s, p);
    exit(s, p, 'done');
    return { label: 'releases the lock and exits', fn: 'FirstRunProcess.close → lock.release' };
  },
};

/** The predecessor waiting for its successor's proof: accept, notice the child's exit, or time out. */
function awaitMoves(s: State, p: Proc, o: ModelOptions): { next: State; result: StepResult }[] {
  const out: { next: State; result: StepResult }[] = [];
  const acceptable = (state: State, self: Proc): boolean => {
    const proof = proofOf(state, self.token!);
    if (!proof) return false;
    const child = proc(state, self.child!);
    if (o.strategy === 'node' && proof.pid !== child.pid) return false;
    return judgeToken(state, o, self.token!, self)?.pending === true;
  };
  const fn = 'awaitSuccessorProof → acceptableProof → judgeProof';
  if (acceptable(s, p)) {
    const next = clone(s);
    const me = proc(next, p.name);
    const violation = phantom(next, me.token!) ?? undefined;
    me.pc = 'commitExecuted';
    delete me.age;
    out.push({ next, result: { label: `accepts ${me.child}'s proof`, fn, ...(violation ? { violation } : {}) } });
  }
  const child = proc(s, p.child!);
  if (o.strategy === 'node' && !live(child) && !acceptable(s, p)) {
    const next = clone(s);
    proc(next, p.name).pc = 'kill';
    out.push({ next, result: { label: `sees child ${child.name} exit before the hand-off`, fn: "awaitSuccessorProof (child 'exit' → look → finish)" } });
  }
  if ((p.age ?? 0) >= 1) {
    const next = clone(s);
    proc(next, p.name).pc = 'kill';
    out.push({ next, result: { label: 'times out waiting for the proof', fn: 'awaitSuccessorProof (timer: handoff_timeout_s)' } });
  }
  return out;
}

const successorSteps: Record<string, StepFn> = {
  begin: (s, p) => {
    if (s.files[p.token!]?.cancelled) {
      exit(s, p, 'cancelled early');
      return { label: `finds ${p.token}.cancelled: exits without running`, fn: 'beginSuccession → isHandoffCancelled' };
    }
    p.pc = 'prove';
    return { label: 'is not cancelled', fn: 'beginSuccession → isHandoffCancelled' };
  },
  prove: (s, p) => {
    if ((p.age ?? 0) >= 2) {
      exit(s, p, 'wait over before proving');
      return { label: 'its own wait is over before it proved: exits without proving', fn: 'beginSuccession (remainingMs() === 0)' };
    }
    const files = (s.files[p.token!] ??= { alive: null, cancelled: null });
    // The proof promises what is left of the successor's own wait: its window ends where the successor's
    // does (modelled as a proof as old as the successor, with the full wait).
    files.alive = { pid: p.pid, startId: p.startId, age: p.age ?? 0, shift: s.shift };
    p.pc = 'wait';
    return { label: `writes ${p.token}.alive (pid ${p.pid}, start ${p.startId})`, fn: 'beginSuccession → writeAliveProof(proofForThisProcess, remainingMs())' };
  },
  wait: (s, p) => {
    if (lockTakeable(s)) {
      const from = s.lock;
      s.lock = p.name;
      p.pc = 'checkCancel';
      const late = (p.age ?? 0) >= 2 ? ' (its own wait is over: the final attempt)' : '';
      return { label: (from ? `takes over the lock of dead ${from}` : 'takes the lock') + late, fn: 'takeLockAsSuccessor → tryAcquireInstanceLock' };
    }
    if ((p.age ?? 0) < 2) return null; // sleeps: no change
    p.pc = 'giveUp';
    return { label: `its wait is over and the lock is held by ${s.lock}: gives up`, fn: 'takeLockAsSuccessor → tryAcquireInstanceLock (timeout)' };
  },
  giveUp: (s, p) => {
    delete s.files[p.token!];
    exit(s, p, 'gave up waiting');
    return { label: 'removes its files and exits', fn: 'succession.finish({clearFiles}) → clearHandoff' };
  },
  checkCancel: (s, p) => {
    if ((p.age ?? 0) >= 2) {
      delete s.files[p.token!];
      release(s, p);
      exit(s, p, 'wait over');
      return { label: 'holds the lock, but its own wait is over: releases, exits', fn: 'takeLockAsSuccessor → remainingMs() === 0; finish; release' };
    }
    if (s.files[p.token!]?.cancelled) {
      delete s.files[p.token!];
      release(s, p);
      exit(s, p, 'cancelled');
      return { label: `holds the lock, finds ${p.token}.cancelled: releases, exits`, fn: 'takeLockAsSuccessor → wasCancelled; finish; release' };
    }
    delete s.files[p.token!];
    p.pc = 'tidy';
    return { label: 'holds the lock, not cancelled: removes its files', fn: 'takeLockAsSuccessor → wasCancelled; succession.finish({clearFiles})' };
  },
  tidy: (s, p, o) => {
    sweep(s, o, p);
    p.pc = 'load';
    return { label: 'sweeps handoff/', fn: 'takeLockAsSuccessor → tidyHandoffs' };
  },
  load: (s, p) => {
    const cancelled = s.ghost.cancelled.includes(p.token!);
    const count = s.ledger.count;
    const ours = count === 1 && (s.ledger.request === p.token || s.ledger.executedTo === p.pid);
    if (!ours) {
      release(s, p);
      exit(s, p, 'not its restart');
      const why = count !== 1 ? `restart_count ${count}: reset under it` : 'the restart in it is not its own';
      return { label: `loads the ledger (${why}): does not run; releases, exits`, fn: 'FirstRunProcess.ledgerIsNotOurs; close → release' };
    }
    const resetUnder = p.epoch !== s.ledger.epoch && !s.ghost.clockMoved;
    const violation: Violation | undefined =
      commit(s, p, 1) ??
      (cancelled ? { invariant: 'cancelled-successor-never-runs', detail: `${p.name} runs although its predecessor gave up on ${p.token}` } : undefined) ??
      (resetUnder ? { invariant: 'reset-respects-handoff', detail: `${p.name} runs on the ledger of another epoch (a reset came between its predecessor's relaunch and its run)` } : undefined);
    p.pc = 'release';
    delete p.age;
    return {
      label: 'loads the ledger (restart_count 1): the app runs; commits',
      fn: 'FirstRunProcess.openLedger; ledgerIsNotOurs (false); store.commit',
      ...(violation ? { violation } : {}),
    };
  },
  release: launchSteps.release!,
};

const resetSteps: Record<string, StepFn> = {
  acquire,
  tidy,
  pending: (s, p, o) => {
    const token = o.resetChecksPending ? findPending(s, o, p) : null;
    if (token) {
      const violation = phantom(s, token) ?? undefined;
      release(s, p);
      exit(s, p, 'refused');
      return { label: `finds ${successorOf(s, token)?.name ?? token}'s proof pending: refuses, releases`, fn: 'resetFirstRun → findPendingHandoff → judgeProof', ...(violation ? { violation } : {}) };
    }
    // As for a launch: finding nothing only read, and the reset touches only the ledger: one step.
    p.pc = 'reset';
    const checked = { label: o.resetChecksPending ? 'finds no pending hand-off' : '(sabotaged: does not look for a pending hand-off)', fn: 'resetFirstRun → findPendingHandoff' };
    return fuse(checked, resetSteps.reset!(s, p, o)!);
  },
  reset: (s, p) => {
    const waiting = waitingSuccessor(s);
    const violation: Violation | undefined =
      (s.lock !== p.name ? { invariant: 'one-ledger-writer', detail: `${p.name} resets the ledger without holding the lock` } : undefined) ??
      (waiting ? { invariant: 'reset-respects-handoff', detail: `${p.name} resets the ledger while ${waiting.name} proved alive and waits for the lock inside its window` } : undefined);
    s.ledger = { count: 0, epoch: s.ledger.epoch + 1, request: null, executedTo: null };
    s.ghost.rises = 0;
    s.ghost.spawns = 0;
    s.ghost.executed = 0;
    p.pc = 'release';
    return { label: 'resets the ledger (restart_count 0, a new epoch)', fn: 'resetFirstRun → resetLedger', ...(violation ? { violation } : {}) };
  },
  release: launchSteps.release!,
};

const statusSteps: Record<string, StepFn> = {
  inspect: (s, p, o) => {
    const pending = Object.keys(s.files).filter((token) => judgeToken(s, o, token, p)?.pending);
    exit(s, p, 'reported');
    return { label: `reports ${pending.length} pending hand-off(s)`, fn: 'status → inspectHandoffs → judgeProof' };
  },
};

const STEPS: Record<Kind, Record<string, StepFn>> = { launch: launchSteps, successor: successorSteps, reset: resetSteps, status: statusSteps };

/**
 * The other outcome of a launch's first step under the lock: on a ledger with restart_count 0, the first
 * run may also settle without restarting (every grant was effective at once, or the user quits).
 */
const ALTERNATIVES: Partial<Record<Kind, Record<string, StepFn>>> = {
  launch: {
    pending: (s, p, o) => {
      if (s.ledger.count !== 0 || findPending(s, o, p)) return null;
      const violation = commit(s, p, 0);
      p.pc = 'release';
      return {
        label: 'finds no pending hand-off; loads the ledger (restart_count 0): the app runs, needs no restart, commits',
        fn: 'takeLockAsLaunch → tidyHandoffs → sweepAndFindPending → judgeProof; FirstRunProcess.openLedger → store.load; service → store.commit',
        ...(violation ? { violation } : {}),
      };
    },
  },
};

function nextPid(s: State): number {
  return 100 + s.procs.length;
}

// ---------------------------------------------------------------------------------------------------
// Classification of program counters.

/** Where a process believes it holds the instance lock. */
export const HOLDS_LOCK: Record<Kind, string[]> = {
  launch: ['tidy', 'pending', 'load', 'spawn', 'await', 'commitExecuted', 'cancel', 'kill', 'work', 'release'],
  successor: ['checkCancel', 'tidy', 'load', 'release'],
  reset: ['tidy', 'pending', 'reset', 'release'],
  status: [],
};

/** Where a process has the ledger loaded (or is about to write it) and may commit. */
export const LEDGER_WRITER: Record<Kind, string[]> = {
  launch: ['spawn', 'await', 'commitExecuted', 'cancel', 'kill', 'work', 'release'],
  successor: ['release'],
  reset: ['pending'],
  status: [],
};

/** Where the app runs (a launch or successor past its checks, with the ledger loaded). */
const APP_RUNS: Partial<Record<Kind, string[]>> = {
  launch: LEDGER_WRITER.launch,
  successor: LEDGER_WRITER.successor,
};

// ---------------------------------------------------------------------------------------------------
// The initial state, the moves, the state invariants.

export function initialState(bound: Bound): State {
  return {
    shift: 0,
    lock: null,
    ledger: { count: 0, epoch: 0, request: null, executedTo: null },
    files: {},
    reused: [],
    procs: [{ name: 'L1', kind: 'launch', pid: 100, startId: 's100', pc: 'acquire', life: 'alive' }],
    budget: {
      launches: bound.launches - 1,
      resets: bound.resets,
      statuses: bound.statuses,
      kills: bound.kills,
      stops: bound.stops,
      reuses: bound.reuses,
      jumps: bound.jumps,
    },
    ghost: { rises: 0, spawns: 0, executed: 0, cancelled: [], clockMoved: false },
  };
}

function processMoves(s: State, o: ModelOptions): Move[] {
  const moves: Move[] = [];
  for (const p of s.procs) {
    if (p.life !== 'alive') continue;
    if (p.kind === 'launch' && p.pc === 'await') {
      for (const { next, result } of awaitMoves(s, p, o)) moves.push(toMove(p.name, result, next));
      continue;
    }
    const step = STEPS[p.kind][p.pc];
    if (!step) throw new Error(`${p.name}: no step at ${p.pc}`);
    if (p.pc === 'wait' && !lockTakeable(s) && (p.age ?? 0) < 2) continue; // sleeps (a shortcut of the step)
    for (const fn of [step, ALTERNATIVES[p.kind]?.[p.pc]]) {
      if (!fn) continue;
      const next = clone(s);
      const result = fn(next, proc(next, p.name), o);
      if (result) moves.push(toMove(p.name, result, normalize(next)));
    }
  }
  return moves;
}

const violations = new WeakMap<State, Violation>();

/**
 * Canonical form: with no file in `handoff/`, nothing records the wall clock, so a jump so far is
 * invisible — forget it (the ghost keeps that it happened).
 */
function normalize(s: State): State {
  if (Object.keys(s.files).length === 0) s.shift = 0;
  return s;
}

function toMove(actor: string, result: StepResult, next: State): Move {
  if (result.violation) violations.set(next, result.violation);
  return { actor, label: result.label, fn: result.fn, fault: false, next };
}

/** The violation a move produced on its way into `state`, if any. */
export function moveViolation(state: State): Violation | undefined {
  return violations.get(state);
}

function userMoves(s: State, o: ModelOptions): Move[] {
  const moves: Move[] = [];
  const running = s.procs.filter(live).length;
  if (running >= o.bound.concurrent) return moves;
  const start = (kind: Kind, name: string, pc: string, budgetKey: 'launches' | 'resets' | 'statuses', label: string, fn: string) => {
    const next = clone(s);
    const pid = nextPid(next);
    next.procs.push({ name, kind, pid, startId: `s${pid}`, pc, life: 'alive' });
    next.budget[budgetKey] -= 1;
    moves.push({ actor: 'user', label: `${label} (${name}, pid ${pid})`, fn, fault: false, next });
  };
  if (s.budget.launches > 0) start('launch', `L${s.procs.filter((p) => p.kind === 'launch').length + 1}`, 'acquire', 'launches', 'launches the app', 'first-run launch → runFirstRun');
  if (s.budget.resets > 0) start('reset', 'R', 'acquire', 'resets', 'runs reset', 'first-run reset → resetFirstRun');
  if (s.budget.statuses > 0) start('status', 'T', 'inspect', 'statuses', 'runs status', 'first-run status');
  return moves;
}

/**
 * Let time pass: `long` (> 607 s) or one tick. Each age is kept only as far as a decision can tell it
 * apart, so capping is exact: a predecessor's wait is over after 1 tick; a successor's own wait and a
 * proof's window after 2; a cancel marker only matters once it is older than 607 s (LONG).
 */
function passTime(s: State, long: boolean): boolean {
  let changed = false;
  const set = (holder: { age?: number } | null | undefined, cap: number, ticks: boolean) => {
    if (!holder || holder.age === undefined) return;
    const aged = long ? cap : ticks ? Math.min(holder.age + 1, cap) : holder.age;
    if (aged !== holder.age) {
      holder.age = aged;
      changed = true;
    }
  };
  for (const p of s.procs) if (live(p)) set(p, p.kind === 'successor' ? 2 : 1, true);
  for (const files of Object.values(s.files)) {
    set(files.alive, 2, true);
    set(files.cancelled, LONG, false);
  }
  return changed;
}

function environmentMoves(s: State): Move[] {
  const moves: Move[] = [];
  const env = (label: string, fn: string, fault: boolean, mutate: (n: State) => void) => {
    const next = clone(s);
    mutate(next);
    moves.push({ actor: 'env', label, fn, fault, next });
  };
  for (const p of s.procs) {
    if (live(p) && s.budget.kills > 0) {
      env(`SIGKILL ${p.name}`, 'kill -9', true, (n) => {
        bury(proc(n, p.name));
        n.budget.kills -= 1;
      });
    }
    if (p.life === 'alive' && s.budget.stops > 0) {
      env(`SIGSTOP ${p.name}`, 'kill -STOP', true, (n) => {
        proc(n, p.name).life = 'stopped';
        n.budget.stops -= 1;
      });
    }
    if (p.life === 'stopped') env(`SIGCONT ${p.name}`, 'kill -CONT', false, (n) => (proc(n, p.name).life = 'alive'));
    const referenced = s.lock === p.name || Object.values(s.files).some((f) => f.alive?.pid === p.pid);
    if (!live(p) && referenced && s.budget.reuses > 0 && !s.reused.includes(p.pid)) {
      env(`PID ${p.pid} (${p.name}'s) reused by another program`, 'PID reuse', true, (n) => {
        n.reused.push(p.pid);
        n.budget.reuses -= 1;
      });
    }
  }
  const tick = clone(s);
  if (passTime(tick, false)) moves.push({ actor: 'env', label: `time passes ${TICK_MS} ms`, fn: 'time', fault: false, next: tick });
  const long = clone(s);
  if (passTime(long, true)) moves.push({ actor: 'env', label: 'a long time passes (> 607 s)', fn: 'time', fault: false, next: long });
  if (s.budget.jumps > 0 && Object.keys(s.files).length > 0) {
    for (const [dir, shift] of [['forward', JUMP_MS], ['back', -JUMP_MS]] as const) {
      env(`the wall clock jumps ${dir} ${JUMP_MS / 1000} s`, 'clock jump', true, (n) => {
        n.shift += shift;
        n.budget.jumps -= 1;
        n.ghost.clockMoved = true;
      });
    }
  }
  return moves;
}

/** Every move from `state`. */
export function moves(state: State, options: ModelOptions): Move[] {
  return [...processMoves(state, options), ...userMoves(state, options), ...environmentMoves(state)];
}

/** The invariants that must hold in every state. */
export function stateViolation(s: State): Violation | null {
  const holders = s.procs.filter((p) => live(p) && HOLDS_LOCK[p.kind].includes(p.pc));
  if (holders.length > 1) return { invariant: 'one-lock-holder', detail: `${holders.map((p) => p.name).join(' and ')} both believe they hold the lock` };
  if (holders.length === 1 && s.lock !== holders[0]!.name) {
    return { invariant: 'one-lock-holder', detail: `${holders[0]!.name} believes it holds the lock, but it is ${s.lock ?? 'free'}` };
  }
  const writers = s.procs.filter((p) => live(p) && LEDGER_WRITER[p.kind].includes(p.pc));
  if (writers.length > 1) return { invariant: 'one-ledger-writer', detail: `${writers.map((p) => p.name).join(' and ')} can both write the ledger` };
  if (s.ghost.rises > 1) return { invariant: 'restart-count-once', detail: `restart_count rose 0 → 1 ${s.ghost.rises} times in one epoch` };
  if (s.ghost.spawns > 1) return { invariant: 'one-relaunch', detail: `${s.ghost.spawns} successors started in one epoch` };
  return null;
}

/**
 * The goal of the liveness check — "a launch runs": the app runs in some process, or no process of ours
 * is left and a fresh launch would run (take the lock, and find no pending hand-off after its sweep).
 */
export function appCanRunNow(s: State, options: ModelOptions): boolean {
  if (s.procs.some((p) => live(p) && APP_RUNS[p.kind]?.includes(p.pc))) return true;
  if (s.procs.some(live)) return false;
  const probeState = clone(s);
  const fresh: Proc = { name: 'probe', kind: 'launch', pid: nextPid(probeState), startId: 'probe', pc: 'acquire', life: 'alive' };
  probeState.procs.push(fresh);
  sweep(probeState, options, fresh);
  return findPending(probeState, options, fresh) === null;
}

/** A canonical key of a state (the visited set). */
export function stateKey(s: State): string {
  const age = (a: number | undefined) => (a === undefined ? '' : String(a));
  const procs = s.procs.map((p) => `${p.name}.${p.pc}.${p.life[0]}${age(p.age)}.${p.token ?? ''}.${p.epoch ?? ''}`).join(',');
  const files = Object.keys(s.files)
    .sort()
    .map((t) => {
      const f = s.files[t]!;
      return `${t}:${f.alive ? `${f.alive.pid}/${f.alive.startId}/${f.alive.age}/${f.alive.shift}` : '-'}:${f.cancelled ? `${f.cancelled.age}/${f.cancelled.shift}` : '-'}`;
    })
    .join(',');
  const b = s.budget;
  const g = s.ghost;
  return [s.shift, s.lock ?? '', s.ledger.count, s.ledger.epoch, s.ledger.request ?? '', s.ledger.executedTo ?? '', files, s.reused.join('/'), procs, b.launches, b.resets, b.statuses, b.kills, b.stops, b.reuses, b.jumps, g.rises, g.spawns, g.executed, g.cancelled.join('/'), g.clockMoved ? 1 : 0].join('|');
}
