/**
 * The model's side of the replays (`replay.test.ts`): a trace of the model in which one process is
 * SIGKILLed at a given step of an otherwise undisturbed hand-off, and every outcome the model allows
 * after that crash — so a real run, killed at the same step by the fault-injection hook, can be checked
 * against it.
 */
import { formatTrace, type TraceStep } from './explore.js';
import { DEFAULT_BOUND, defaultOptions, initialState, moves, moveViolation, stateKey, stateViolation, type ModelOptions, type State } from './model.js';

/** What a run leaves behind that the journal shows too. */
export interface Outcome {
  /** The ledger's restart_count at the end. */
  restartCount: number;
  /** Successors started (`restart.handoff_started`). */
  successorsStarted: number;
  /** Restarts executed (`restart.executed`). */
  restartsExecuted: number;
}

export const outcomeKey = (o: Outcome) => `restart_count ${o.restartCount}, ${o.successorsStarted} successor(s) started, ${o.restartsExecuted} restart(s) executed`;

/** The options of the replays: the node strategy, one crash, no reset, launches enough to settle. */
export const replayOptions: ModelOptions = defaultOptions({
  bound: { ...DEFAULT_BOUND, launches: 3, resets: 0, statuses: 0, kills: 1, stops: 0, reuses: 0, jumps: 0 },
});

/**
 * The model's trace "the hand-off runs undisturbed (first process step first) until `victim` is at
 * program counter `pc`, then `victim` is SIGKILLed".
 */
export function crashTrace(victim: string, pc: string, options: ModelOptions = replayOptions): { trace: TraceStep[]; state: State } {
  let state = initialState(options.bound);
  const trace: TraceStep[] = [];
  for (let guard = 0; guard < 100; guard++) {
    const all = moves(state, options);
    const atVictim = state.procs.find((p) => p.name === victim && p.life === 'alive' && p.pc === pc);
    const move = atVictim ? all.find((m) => m.label === `SIGKILL ${victim}`) : all.find((m) => m.actor !== 'user' && m.actor !== 'env');
    if (!move) throw new Error(`the model never brings ${victim} to ${pc}: ${trace.map((s) => `${s.actor} ${s.label}`).join(' / ')}`);
    trace.push({ actor: move.actor, label: move.label, fn: move.fn });
    state = move.next;
    if (atVictim) return { trace, state };
  }
  throw new Error(`no crash of ${victim} at ${pc} within 100 moves`);
}

/**
 * Every outcome the model allows once nothing of ours runs any more and the app ran after the crash:
 * processes step, time passes (not "a long time": a replay lasts seconds), and the user launches the app
 * again whenever nothing runs — no further fault. Throws if an invariant breaks on the way.
 */
export function outcomesAfter(start: State, options: ModelOptions = replayOptions): Set<string> {
  const seen = new Set<string>();
  const outcomes = new Set<string>();
  const queue: { state: State; ran: boolean }[] = [{ state: start, ran: false }];
  while (queue.length > 0) {
    const { state, ran } = queue.shift()!;
    const idle = !state.procs.some((p) => p.life === 'alive' || p.life === 'stopped');
    if (idle && ran) outcomes.add(outcomeKey({ restartCount: state.ledger.count, successorsStarted: state.ghost.spawns, restartsExecuted: state.ghost.executed }));
    for (const move of moves(state, options)) {
      if (move.fault || move.label.startsWith('a long time')) continue;
      if (move.actor === 'user' && (!idle || !move.label.startsWith('launches'))) continue;
      const broken = moveViolation(move.next) ?? stateViolation(move.next);
      if (broken) throw new Error(formatTrace({ ...broken, trace: [] }));
      const next = { state: move.next, ran: ran || move.fn.includes('store.commit') };
      const key = `${next.ran}|${stateKey(next.state)}`;
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(next);
      }
    }
  }
  return outcomes;
}

/**
 * Every outcome the model allows when `victim` is SIGKILLed at one of `pcs`, in whichever fault-free
 * interleaving it got there (a real process is killed right after a journal line, while the others run
 * on: they may be anywhere the model allows).
 */
export function outcomesOfCrash(victim: string, pcs: string[], options: ModelOptions = replayOptions): Set<string> {
  const all = new Set<string>();
  const seen = new Set<string>();
  const queue: State[] = [initialState(options.bound)];
  while (queue.length > 0) {
    const state = queue.shift()!;
    for (const move of moves(state, options)) {
      const atVictim = state.procs.some((p) => p.name === victim && p.life === 'alive' && pcs.includes(p.pc));
      if (atVictim && move.label === `SIGKILL ${victim}`) {
        for (const outcome of outcomesAfter(move.next, options)) all.add(outcome);
        continue;
      }
      if (move.fault || move.actor === 'user' || move.label.startsWith('a long time')) continue;
      const key = stateKey(move.next);
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(move.next);
      }
    }
  }
  return all;
}
