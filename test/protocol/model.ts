/**
 * A model of the multi-process protocol as it is implemented: the instance lock (at the level of its
 * guarantees), the relaunch hand-off of `src/handoff/handoff-protocol.ts`, `reset` and `status`, plus the
 * environment (SIGKILL, SIGSTOP/SIGCONT, PID reuse, time passing, the wall clock jumping).
 *
 * Every process step is one atomic operation of the real code and names the function that performs it
 * (`Step.fn`). The model takes no decision of its own: every choice a process makes is taken by the REAL
 * pure functions the runtime calls — `src/protocol/decisions.ts` (the lock's holder judgement and its
 * writer check, yield / refuse under the lock, the successor's checks before proving, after the lock and
 * on the ledger, the predecessor's acceptance, RS-3 on the committed ledger, the give-up order),
 * `judgeProof`, `sweepDecision`, `successorWaitMs` and the gate's `hasRestartBudget` — over what it reads
 * of the simulated world. Invariants are judged from the world's record (the lock's record on disk, who
 * wrote the ledger and when, the successors started), so a wrong decision in the code refutes them. What the model abstracts, and why
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
import * as protocol from '../../src/protocol/decisions.js';
import { hasRestartBudget } from '../../machines/relaunch-gate.machine.js';

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
/** The protocol's decisions (the real module; a test may inject a weakened one). */
export type Decisions = typeof protocol;
/**
 * `dead`: SIGKILLed or exited (no one can tell the two apart from outside); `hung`: stopped for good (a
 * SIGSTOP never followed by SIGCONT, a blocked thread) — it keeps its PID and never moves again.
 */
export type Life = 'alive' | 'stopped' | 'hung' | 'dead';

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
  /** Successor: what it saw of `T.cancelled` before proving (its check and its write are two steps). */
  sawCancelled?: boolean;
  /** Giving up, its record was refused (the lock is no longer its own): it ends after the plan. */
  lockLost?: boolean;
  /** The `restart_count` this process holds in memory since it loaded the ledger (what its commits write). */
  count?: number;
  /** Predecessor giving up: how many steps of `giveUpPlan()` it has done. */
  givenUp?: number;
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
  /**
   * The instance lock's record on disk: the holder's name (which is also its token), PID and start
   * identity — whether or not the holder is still alive.
   */
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
  budget: { launches: number; resets: number; statuses: number; kills: number; stops: number; hangs: number; reuses: number; jumps: number; unlinks: number; quits: number };
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
    /** Processes whose lock the environment removed (they find out at their next guarded write). */
    robbed: string[];
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
  /** Processes that hang for good (never resume). */
  hangs: number;
  /** The user quits the app while it waits for its successor's proof. */
  quits: number;
  /** PIDs reused by another program. */
  reuses: number;
  /** Wall-clock jumps (forward or back). */
  jumps: number;
  /** The lock removed under its holder by someone else (a cleaner, a user's `rm`). */
  unlinks: number;
  /** Processes of ours alive at once. */
  concurrent: number;
}

export const DEFAULT_BOUND: Bound = { launches: 2, resets: 1, statuses: 1, kills: 2, stops: 1, hangs: 0, reuses: 1, jumps: 1, unlinks: 0, quits: 0, concurrent: 3 };

/** The judge of a proof: the real `judgeProof`, or a sabotaged one. */
export type Judge = (proof: AliveProof, seen: ProofObservation) => ProofVerdict;

export interface ModelOptions {
  strategy: 'node' | 'bundle';
  bound: Bound;
  judge: Judge;
  /** The protocol's decisions: the real `src/protocol/decisions.ts`, or a weakened one (a test's sabotage). */
  decisions: Decisions;
}

export const defaultOptions = (overrides: Partial<ModelOptions> = {}): ModelOptions => ({
  strategy: 'node',
  bound: DEFAULT_BOUND,
  judge: judgeProof,
  decisions: protocol,
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

const live = (p: Proc) => p.life !== 'dead';

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
    ghost: { ...s.ghost, cancelled: [...s.ghost.cancelled], robbed: [...s.ghost.robbed] },
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
  if (ours) return { pid, exists: true, zombie: false, stopped: ours.life === 'stopped' || ours.life === 'hung', startId: ours.startId, startedAt: null };
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

/** Free, or its recorded holder judged gone by the real `judgeHolder` (liveness + start identity) → taken. */
function lockTakeable(state: State, self: Proc, o: ModelOptions): boolean {
  if (state.lock === null) return true;
  const holder = proc(state, state.lock);
  const seen = probe(state, holder.pid);
  return o.decisions.judgeHolder(
    { pid: holder.pid, startId: holder.startId },
    { onThisMachine: true, selfPid: self.pid, selfStartId: self.startId, probe: seen, sameStart: (startId) => startId === holder.startId },
  ).stale;
}

/** What a successor sees of its own wait: ages 0 and 1 are inside it, 2 is past it. */
const remainingMsOf = (p: Proc) => ((p.age ?? 0) >= 2 ? 0 : WAIT_MS - (p.age ?? 0) * TICK_MS);

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

/**
 * A write the lock guards (`assertWriter` → the real `writerHoldsLock` on the lock's record): refused —
 * the process stops, as the runtime does on a `LockCompromisedError` — or made. A write made while the
 * lock's record is not the writer's refutes `one-ledger-writer`, whatever the writer believed.
 */
function guardedWrite(s: State, p: Proc, o: ModelOptions, what: string, stop = true): { refused: true } | { refused: false; violation?: Violation } {
  if (!o.decisions.writerHoldsLock(s.lock, p.name)) {
    if (stop) bury(p);
    else p.lockLost = true;
    return { refused: true };
  }
  if (s.lock !== p.name) return { refused: false, violation: { invariant: 'one-ledger-writer', detail: `${p.name} ${what} while the lock is ${s.lock ? `${s.lock}'s` : 'free'}` } };
  return { refused: false };
}

/** A ledger commit of `count` (a guarded write); `null` when the writer check refused it. */
function commit(s: State, p: Proc, o: ModelOptions, count: number): Violation | undefined | null {
  const write = guardedWrite(s, p, o, 'commits the ledger');
  if (write.refused) return null;
  const lowered: Violation | undefined = count < s.ledger.count ? { invariant: 'restart-count-monotonic', detail: `${p.name} lowers restart_count ${s.ledger.count} → ${count} outside reset` } : undefined;
  if (count > s.ledger.count) s.ghost.rises += 1;
  s.ledger.count = count;
  p.count = count;
  return lowered ?? write.violation;
}

/** The step's result when the writer check stopped the process. */
const refusedWrite = (fn: string): StepResult => ({ label: `finds the lock is no longer its own: stops without writing`, fn: `${fn} → assertWriter → writerHoldsLock` });

const acquire: StepFn = (s, p, o) => {
  if (lockTakeable(s, p, o)) {
    const from = s.lock;
    s.lock = p.name;
    p.pc = 'tidy';
    return { label: from ? `takes over the lock of dead ${from}` : 'takes the lock', fn: 'acquireInstanceLock → judgeHolder' };
  }
  exit(s, p, `busy (lock held by ${s.lock})`);
  return { label: `finds the lock held by live ${s.lock}, exits 3`, fn: 'acquireInstanceLock → judgeHolder' };
};

const tidy: StepFn = (s, p, o) => {
  const before = Object.keys(s.files).length;
  sweep(s, o, p);
  const removed = before - Object.keys(s.files).length;
  p.pc = 'pending';
  return { label: removed > 0 ? `sweeps handoff/ (removes ${removed} token)` : 'sweeps handoff/ (nothing to remove)', fn: 'tidyHandoffs → sweepAndFindPending → sweepDecision(judgeProof)' };
};

/** The token of the request a launch arms (the gate's request id gives it: `tokenForRequest`). */
const nextToken = (s: State) => `T${s.procs.filter((q) => q.kind === 'successor').length + 1}`;

/** The predecessor's next step of giving up (`giveUpPlan`, in its order); then `work`, or its end when the lock is lost. */
function giveUpStep(s: State, p: Proc, o: ModelOptions): StepResult {
  const plan = o.decisions.giveUpPlan();
  const done = p.givenUp ?? 0;
  const result = giveUpAction(s, p, o, plan[done]);
  p.givenUp = done + 1;
  if (p.givenUp >= plan.length) {
    delete p.givenUp;
    if (p.lockLost) bury(p);
    else p.pc = 'work';
  }
  return result;
}

function giveUpAction(s: State, p: Proc, o: ModelOptions, action: protocol.GiveUpAction | undefined): StepResult {
  const fn = `service giveUpRelaunch → giveUpPlan: ${action ?? 'nothing'}`;
  if (action === 'record') {
    // Refused (the lock is lost), the give-up goes on: the runtime stops the service, which still ends its
    // give-up (`stop()` awaits it) — the child is killed and the marker written — before it exits.
    const write = guardedWrite(s, p, o, 'records the give-up in the ledger', false);
    if (write.refused) return { label: 'cannot record the give-up (the lock is no longer its own); gives up on', fn: `${fn} → assertWriter → writerHoldsLock` };
    s.ledger.request = null; // the gate drops its request: a late successor finds the restart is not its own
    return { label: 'records the give-up in the ledger (the gate drops its request)', fn, ...(write.violation ? { violation: write.violation } : {}) };
  }
  if (action === 'kill-child') {
    const child = proc(s, p.child!);
    const killed = o.strategy === 'node' && live(child);
    if (killed) bury(child);
    return { label: killed ? `SIGKILLs its child ${child.name}` : 'has no child of its own to kill', fn };
  }
  if (action === 'mark-cancelled') {
    s.files[p.token!] ??= { alive: null, cancelled: null };
    s.files[p.token!]!.cancelled = { age: 0, shift: s.shift };
    if (!s.ghost.cancelled.includes(p.token!)) s.ghost.cancelled.push(p.token!);
    return { label: `writes ${p.token}.cancelled`, fn };
  }
  return { label: 'gives up', fn };
}

const launchSteps: Record<string, StepFn> = {
  acquire,
  tidy,
  pending: (s, p, o) => {
    const decision = o.decisions.launchUnderLock(findPending(s, o, p));
    const fn = 'takeLockAsLaunch → tidyHandoffs → sweepAndFindPending → judgeProof; launchUnderLock';
    if (decision.kind === 'yield') {
      const token = decision.to;
      const violation = phantom(s, token) ?? undefined;
      release(s, p);
      exit(s, p, 'yielded');
      return { label: `finds ${successorOf(s, token)?.name ?? token}'s proof pending: releases the lock, exits 3`, fn, ...(violation ? { violation } : {}) };
    }
    // Finding nothing only read; loading touches only the ledger, which no one else can read or write
    // while we hold the lock: one step (no interleaving, and no crash in between, can tell them apart).
    p.pc = 'load';
    return fuse({ label: 'finds no pending hand-off', fn }, launchSteps.load!(s, p, o)!);
  },
  // Loading and the first commit are one step for the same reason. The gate decides by its real budget
  // rule; a launch restoring a request it did not arm drops it (the gate's `restored_request`).
  load: (s, p, o) => {
    const count = s.ledger.count;
    const restarts = hasRestartBudget(count);
    const fn = 'FirstRunProcess.openLedger → store.load; relaunch gate (hasRestartBudget) → store.commit';
    const violation = commit(s, p, o, restarts ? count + 1 : count);
    if (violation === null) return refusedWrite(fn);
    s.ledger.request = restarts ? nextToken(s) : null;
    p.pc = restarts ? 'spawn' : 'release';
    const label = restarts
      ? `loads the ledger (restart_count ${count}): the app runs; commits restart_count ${count + 1} before relaunching (RS-3)`
      : `loads the ledger (restart_count ${count}): the app runs without restarting; commits`;
    return { label, fn, ...(violation ? { violation } : {}) };
  },
  // RS-3 on the ledger as written: the successor starts only once the world's ledger holds the request.
  spawn: (s, p, o) => {
    const token = nextToken(s);
    const committed = { restartCount: s.ledger.count, requestId: s.ledger.request };
    if (!o.decisions.mayExecuteRelaunch(committed, { restartCount: 1, requestId: token })) {
      p.pc = 'work';
      return { label: 'finds its request is not in the committed ledger: does not relaunch', fn: 'commitLedger → mayExecuteRelaunch' };
    }
    const n = s.procs.filter((q) => q.kind === 'successor').length + 1;
    const pid = nextPid(s);
    // No age yet: its own wait starts when `beginSuccession` runs (a slow start is not counted against it).
    s.procs.push({ name: `S${n}`, kind: 'successor', pid, startId: `s${pid}`, pc: 'begin', life: 'alive', token, epoch: s.ledger.epoch });
    s.ghost.spawns += 1;
    p.token = token;
    p.child = `S${n}`;
    p.age = 0;
    p.pc = 'await';
    const violation: Violation | undefined = s.ghost.spawns > 1 ? { invariant: 'one-relaunch', detail: `a second successor (S${n}) is started in one ledger epoch` } : undefined;
    return { label: `starts successor S${n} (pid ${pid}, token ${token})`, fn: 'commitLedger → mayExecuteRelaunch; createProcessRelauncher.relaunch → spawnSuccessor', ...(violation ? { violation } : {}) };
  },
  commitExecuted: (s, p, o) => {
    const fn = 'service (relaunch resolved) → store.commit';
    const write = guardedWrite(s, p, o, 'commits restart.executed');
    if (write.refused) return refusedWrite(fn);
    s.ghost.executed += 1;
    s.ledger.request = null;
    s.ledger.executedTo = proc(s, p.child!).pid;
    const violation = write.violation ?? (s.ghost.executed > 1 ? { invariant: 'one-relaunch', detail: 'restart.executed committed twice in one epoch' } : undefined);
    p.pc = 'release';
    return { label: 'commits restart.executed', fn, ...(violation ? { violation } : {}) };
  },
  giveUp: giveUpStep,
  // The run goes on and commits what it holds in memory (its phase; its restart_count as loaded or raised).
  work: (s, p, o) => {
    const fn = 'service → store.commit';
    const violation = commit(s, p, o, p.count ?? s.ledger.count);
    if (violation === null) return refusedWrite(fn);
    s.ledger.request = null; // the gate's request is done
    p.pc = 'release';
    return { label: 'verifies in place (restart_unverified), commits its settled state', fn, ...(violation ? { violation } : {}) };
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
    const childPid = o.strategy === 'node' ? proc(state, self.child!).pid : null;
    return o.decisions.predecessorAcceptsProof(proof.pid, childPid, judgeToken(state, o, self.token!, self)?.pending === true);
  };
  const fn = 'awaitSuccessorProof → acceptableProof → judgeProof; predecessorAcceptsProof';
  if (acceptable(s, p)) {
    const next = clone(s);
    const me = proc(next, p.name);
    const violation = phantom(next, me.token!) ?? undefined;
    me.pc = 'commitExecuted';
    delete me.age;
    out.push({ next, result: { label: `accepts ${me.child}'s proof`, fn, ...(violation ? { violation } : {}) } });
  }
  const child = proc(s, p.child!);
  const giveUp = (label: string, how: string) => {
    const next = clone(s);
    const me = proc(next, p.name);
    me.pc = 'giveUp';
    delete me.age;
    out.push({ next, result: { label, fn: how } });
  };
  if (o.strategy === 'node' && !live(child) && !acceptable(s, p)) giveUp(`sees child ${child.name} exit before the hand-off`, "awaitSuccessorProof (child 'exit' → look → finish)");
  if ((p.age ?? 0) >= 1) giveUp('times out waiting for the proof', 'awaitSuccessorProof (timer: handoff_timeout_s)');
  return out;
}

const successorSteps: Record<string, StepFn> = {
  begin: (s, p) => {
    p.age = 0; // `beginSuccession`: its own wait starts now, by its monotonic clock
    p.sawCancelled = s.files[p.token!]?.cancelled != null;
    p.pc = 'prove';
    return { label: p.sawCancelled ? `finds ${p.token}.cancelled` : 'is not cancelled', fn: 'beginSuccession → isHandoffCancelled' };
  },
  prove: (s, p, o) => {
    const fn = 'beginSuccession → successorMayProve; writeAliveProof(proofForThisProcess, remainingMs())';
    if (!o.decisions.successorMayProve({ cancelled: p.sawCancelled === true, remainingMs: remainingMsOf(p) })) {
      exit(s, p, 'does not prove');
      return { label: p.sawCancelled ? 'was cancelled: exits without proving' : 'its own wait is over before it proved: exits without proving', fn };
    }
    const files = (s.files[p.token!] ??= { alive: null, cancelled: null });
    // The proof promises what is left of the successor's own wait: its window ends where the successor's
    // does (modelled as a proof as old as the successor, with the full wait).
    files.alive = { pid: p.pid, startId: p.startId, age: p.age ?? 0, shift: s.shift };
    delete p.sawCancelled;
    p.pc = 'wait';
    return { label: `writes ${p.token}.alive (pid ${p.pid}, start ${p.startId})`, fn };
  },
  wait: (s, p, o) => {
    if (lockTakeable(s, p, o)) {
      const from = s.lock;
      s.lock = p.name;
      p.pc = 'checkCancel';
      const late = (p.age ?? 0) >= 2 ? ' (its own wait is over: the final attempt)' : '';
      return { label: (from ? `takes over the lock of dead ${from}` : 'takes the lock') + late, fn: 'takeLockAsSuccessor → tryAcquireInstanceLock → judgeHolder' };
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
  checkCancel: (s, p, o) => {
    const decision = o.decisions.successorUnderLock({ cancelled: s.files[p.token!]?.cancelled != null, remainingMs: remainingMsOf(p) });
    delete s.files[p.token!];
    if (decision.kind === 'leave') {
      release(s, p);
      exit(s, p, decision.reason);
      const why = decision.reason === 'cancelled' ? `finds ${p.token}.cancelled` : 'but its own wait is over';
      return { label: `holds the lock, ${why}: releases, exits`, fn: 'takeLockAsSuccessor → successorUnderLock; finish; release' };
    }
    p.pc = 'tidy';
    return { label: 'holds the lock, not cancelled: removes its files', fn: 'takeLockAsSuccessor → successorUnderLock; succession.finish({clearFiles})' };
  },
  tidy: (s, p, o) => {
    sweep(s, o, p);
    p.pc = 'load';
    return { label: 'sweeps handoff/', fn: 'takeLockAsSuccessor → tidyHandoffs' };
  },
  load: (s, p, o) => {
    const cancelled = s.ghost.cancelled.includes(p.token!);
    const count = s.ledger.count;
    const view = { restartCount: count, requestToken: s.ledger.request, executedPid: s.ledger.executedTo };
    if (!o.decisions.successorOwnsLedger(view, { token: p.token!, pid: p.pid })) {
      release(s, p);
      exit(s, p, 'not its restart');
      const why = count !== 1 ? `restart_count ${count}: reset under it` : 'the restart in it is not its own';
      return { label: `loads the ledger (${why}): does not run; releases, exits`, fn: 'FirstRunProcess.ledgerIsNotOurs → successorOwnsLedger' };
    }
    // It runs the restored machines: the gate's budget decides whether it may restart (never, at 1).
    const fn = 'FirstRunProcess.openLedger; successorOwnsLedger; relaunch gate (hasRestartBudget) → store.commit';
    const restarts = hasRestartBudget(count);
    const violation = commit(s, p, o, restarts ? count + 1 : count);
    if (violation === null) return refusedWrite(fn);
    const resetUnder = p.epoch !== s.ledger.epoch && !s.ghost.clockMoved;
    const broken: Violation | undefined =
      violation ??
      (cancelled ? { invariant: 'cancelled-successor-never-runs', detail: `${p.name} runs although its predecessor gave up on ${p.token}` } : undefined) ??
      (resetUnder ? { invariant: 'reset-respects-handoff', detail: `${p.name} runs on the ledger of another epoch (a reset came between its predecessor's relaunch and its run)` } : undefined);
    if (restarts) {
      // A successor that restarts again: its own relaunch is a second successor of this epoch.
      s.ghost.spawns += 1;
      s.ledger.request = null;
    }
    p.pc = 'release';
    delete p.age;
    const label = restarts ? `loads the ledger (restart_count ${count}): the app runs and restarts AGAIN` : `loads the ledger (restart_count ${count}): the app runs; commits`;
    const again: Violation | undefined = restarts ? { invariant: 'one-relaunch', detail: `${p.name}, a successor, restarts again` } : undefined;
    const found = broken ?? again;
    return { label, fn, ...(found ? { violation: found } : {}) };
  },
  release: launchSteps.release!,
};

const resetSteps: Record<string, StepFn> = {
  acquire,
  tidy,
  pending: (s, p, o) => {
    const decision = o.decisions.resetUnderLock(findPending(s, o, p));
    const fn = 'resetFirstRun → findPendingHandoff → judgeProof; resetUnderLock';
    if (decision.kind === 'refuse') {
      const token = decision.for;
      const violation = phantom(s, token) ?? undefined;
      release(s, p);
      exit(s, p, 'refused');
      return { label: `finds ${successorOf(s, token)?.name ?? token}'s proof pending: refuses, releases`, fn, ...(violation ? { violation } : {}) };
    }
    // As for a launch: finding nothing only read, and the reset touches only the ledger: one step.
    p.pc = 'reset';
    return fuse({ label: 'goes on to reset', fn }, resetSteps.reset!(s, p, o)!);
  },
  reset: (s, p, o) => {
    const fn = 'resetFirstRun → resetLedger';
    const waiting = waitingSuccessor(s);
    const write = guardedWrite(s, p, o, 'resets the ledger');
    if (write.refused) return refusedWrite(fn);
    const violation: Violation | undefined =
      write.violation ?? (waiting ? { invariant: 'reset-respects-handoff', detail: `${p.name} resets the ledger while ${waiting.name} proved alive and waits for the lock inside its window` } : undefined);
    s.ledger = { count: 0, epoch: s.ledger.epoch + 1, request: null, executedTo: null };
    s.ghost.rises = 0;
    s.ghost.spawns = 0;
    s.ghost.executed = 0;
    p.pc = 'release';
    return { label: 'resets the ledger (restart_count 0, a new epoch)', fn, ...(violation ? { violation } : {}) };
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
      if (s.ledger.count !== 0 || o.decisions.launchUnderLock(findPending(s, o, p)).kind !== 'run') return null;
      const fn = 'takeLockAsLaunch → launchUnderLock; FirstRunProcess.openLedger → store.load; service → store.commit';
      const violation = commit(s, p, o, 0);
      if (violation === null) return refusedWrite(fn);
      p.pc = 'work';
      return { label: 'finds no pending hand-off; loads the ledger (restart_count 0): the app runs, needs no restart, commits', fn, ...(violation ? { violation } : {}) };
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
  launch: ['tidy', 'pending', 'load', 'spawn', 'await', 'commitExecuted', 'giveUp', 'work', 'release'],
  successor: ['checkCancel', 'tidy', 'load', 'release'],
  reset: ['tidy', 'pending', 'reset', 'release'],
  status: [],
};

/** Where a process has the ledger loaded (or is about to write it) and may commit. */
export const LEDGER_WRITER: Record<Kind, string[]> = {
  launch: ['spawn', 'await', 'commitExecuted', 'giveUp', 'work', 'release'],
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
      unlinks: bound.unlinks,
      hangs: bound.hangs,
      quits: bound.quits,
    },
    ghost: { rises: 0, spawns: 0, executed: 0, cancelled: [], clockMoved: false, robbed: [] },
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
    if (p.pc === 'wait' && !lockTakeable(s, p, o) && (p.age ?? 0) < 2) continue; // sleeps (a shortcut of the step)
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
  for (const p of s.procs) {
    if (p.kind !== 'launch' || p.pc !== 'await' || p.life !== 'alive' || s.budget.quits === 0) continue;
    const next = clone(s);
    const me = proc(next, p.name);
    me.pc = 'giveUp';
    delete me.age;
    next.budget.quits -= 1;
    moves.push({ actor: 'user', label: `quits ${p.name} during the hand-off`, fn: 'tray.quit_clicked → gate user.quit → abortRelaunch → giveUpRelaunch', fault: false, next });
  }
  // A hung app that holds the lock keeps every launch out — by design, a live holder is never judged
  // stale — until the user force-quits it (Activity Monitor). A hung process that does not hold the lock
  // (a successor hung after its proof) is left alone: its proof must expire by itself.
  for (const p of s.procs) {
    if (p.life !== 'hung' || s.lock !== p.name) continue;
    const next = clone(s);
    bury(proc(next, p.name));
    moves.push({ actor: 'user', label: `force-quits the hung ${p.name}`, fn: 'kill -9 by the user', fault: false, next });
  }
  if (running >= o.bound.concurrent) return moves;
  const start = (kind: Kind, name: string, pc: string, budgetKey: 'launches' | 'resets' | 'statuses', label: string, fn: string) => {
    const next = clone(s);
    const pid = nextPid(next);
    next.procs.push({ name, kind, pid, startId: `s${pid}`, pc, life: 'alive' });
    next.budget[budgetKey] -= 1;
    moves.push({ actor: 'user', label: `${label} (${name}, pid ${pid})`, fn, fault: false, next });
  };
  if (s.budget.launches > 0) start('launch', `L${s.procs.filter((p) => p.kind === 'launch').length + 1}`, 'acquire', 'launches', 'launches the app', 'first-run launch → runFirstRun');
  if (s.budget.resets > 0) start('reset', o.bound.resets - s.budget.resets === 0 ? 'R' : `R${o.bound.resets - s.budget.resets + 1}`, 'acquire', 'resets', 'runs reset', 'first-run reset → resetFirstRun');
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
    if (p.life === 'alive' && s.budget.hangs > 0) {
      env(`${p.name} hangs for good`, 'kill -STOP (never resumed)', true, (n) => {
        proc(n, p.name).life = 'hung';
        n.budget.hangs -= 1;
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
  if (s.lock !== null && s.budget.unlinks > 0) {
    const holder = s.lock;
    env(`someone removes the lock (held by ${holder})`, 'rm -rf <stateDir>/instance.lock', true, (n) => {
      n.lock = null;
      n.budget.unlinks -= 1;
      if (!n.ghost.robbed.includes(holder)) n.ghost.robbed.push(holder);
    });
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
  // A process whose lock the environment removed still believes it holds it until its next guarded
  // write, which the writer check refuses (`guardedWrite`): what it may not do is write, and that is
  // judged on the write itself.
  const believes = (p: Proc) => live(p) && !s.ghost.robbed.includes(p.name);
  const holders = s.procs.filter((p) => believes(p) && HOLDS_LOCK[p.kind].includes(p.pc));
  if (holders.length > 1) return { invariant: 'one-lock-holder', detail: `${holders.map((p) => p.name).join(' and ')} both believe they hold the lock` };
  if (holders.length === 1 && s.lock !== holders[0]!.name) {
    return { invariant: 'one-lock-holder', detail: `${holders[0]!.name} believes it holds the lock, but it is ${s.lock ?? 'free'}` };
  }
  const writers = s.procs.filter((p) => believes(p) && LEDGER_WRITER[p.kind].includes(p.pc));
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
  // Processes still on their way keep the answer open; one hung for good, not holding the lock, does not.
  if (s.procs.some((p) => live(p) && p.life !== 'hung')) return false;
  const probeState = clone(s);
  const fresh: Proc = { name: 'probe', kind: 'launch', pid: nextPid(probeState), startId: 'probe', pc: 'acquire', life: 'alive' };
  probeState.procs.push(fresh);
  if (!lockTakeable(probeState, fresh, options)) return false;
  sweep(probeState, options, fresh);
  return findPending(probeState, options, fresh) === null;
}

/** A canonical key of a state (the visited set). */
export function stateKey(s: State): string {
  const age = (a: number | undefined) => (a === undefined ? '' : String(a));
  const procs = s.procs.map((p) => `${p.name}.${p.pc}.${p.life[0]}${age(p.age)}.${p.token ?? ''}.${p.epoch ?? ''}.${p.sawCancelled ? 'c' : ''}${age(p.givenUp)}.${age(p.count)}${p.lockLost ? 'L' : ''}`).join(',');
  const files = Object.keys(s.files)
    .sort()
    .map((t) => {
      const f = s.files[t]!;
      return `${t}:${f.alive ? `${f.alive.pid}/${f.alive.startId}/${f.alive.age}/${f.alive.shift}` : '-'}:${f.cancelled ? `${f.cancelled.age}/${f.cancelled.shift}` : '-'}`;
    })
    .join(',');
  const b = s.budget;
  const g = s.ghost;
  return [s.shift, s.lock ?? '', s.ledger.count, s.ledger.epoch, s.ledger.request ?? '', s.ledger.executedTo ?? '', files, s.reused.join('/'), procs, b.launches, b.resets, b.statuses, b.kills, b.stops, b.reuses, b.jumps, b.unlinks, g.rises, g.spawns, g.executed, g.cancelled.join('/'), g.clockMoved ? 1 : 0, g.robbed.join('/')].join('|');
}
