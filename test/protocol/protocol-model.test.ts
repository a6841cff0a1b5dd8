/**
 * The multi-process protocol, model-checked (docs/architecture.md, "The multi-process protocol,
 * model-checked"): an exhaustive breadth-first exploration of every interleaving of the running app,
 * its successor, a second launch, `reset` and `status` — with SIGKILL, SIGSTOP/SIGCONT, a hang for good,
 * PID reuse, time passing, the wall clock jumping, the lock removed from outside and the user quitting
 * during the hand-off — within a stated bound. Every decision is taken by the real code
 * (`src/protocol/decisions.ts`, `judgeProof`, `sweepDecision`, the gate's `hasRestartBudget`); the
 * invariants are judged from the simulated world. `FIRST_RUN_PROTOCOL_FULL=1` adds larger bounds.
 * The `bundle` strategy (macOS: the successor is not our child) is explored in `protocol-model-bundle.test.ts`.
 */
import { describe, it } from 'vitest';
import { bound, checkRun, type Run } from './checks.js';
import { defaultOptions, type ModelOptions } from './model.js';

/** The `node` bounds CI explores (seconds each): at most 3 processes at once. */
const CI_RUNS: Run[] = [
  { name: 'node strategy, 2 SIGKILLs, 1 PID reuse', options: defaultOptions({ bound: bound({ kills: 2, reuses: 1 }) }) },
  { name: 'node strategy, 1 SIGSTOP, 1 clock jump', options: defaultOptions({ bound: bound({ stops: 1, jumps: 1 }) }) },
  { name: 'node strategy, the lock removed from outside', options: defaultOptions({ bound: bound({ unlinks: 1 }) }) },
  { name: 'node strategy, a hang for good, a quit during the hand-off', options: defaultOptions({ bound: bound({ hangs: 1, quits: 1 }) }) },
  { name: 'node strategy, two resets, 1 SIGSTOP', options: defaultOptions({ bound: bound({ resets: 2, stops: 1 }) }) },
  { name: 'node strategy, status, 1 PID reuse, 1 SIGSTOP', options: defaultOptions({ bound: bound({ statuses: 1, reuses: 1, stops: 1 }) }) },
];

/** Larger bounds, for `FIRST_RUN_PROTOCOL_FULL=1` (the counts are in docs/architecture.md). */
const FULL_RUNS: Run[] = [
  { name: 'node strategy, two resets, 1 SIGKILL', options: defaultOptions({ bound: bound({ resets: 2, kills: 1 }) }) },
  { name: 'node strategy, 1 SIGKILL, status', options: defaultOptions({ bound: bound({ kills: 1, statuses: 1 }) }) },
  { name: 'node strategy, 1 SIGKILL, 1 SIGSTOP', options: defaultOptions({ bound: bound({ kills: 1, stops: 1 }) }) },
  { name: 'node strategy, 1 SIGKILL, 1 clock jump', options: defaultOptions({ bound: bound({ kills: 1, jumps: 1 }) }) },
  { name: 'node strategy, 1 SIGKILL, the lock removed, a quit', options: defaultOptions({ bound: bound({ kills: 1, unlinks: 1, quits: 1 }) }) },
];

const full = process.env.FIRST_RUN_PROTOCOL_FULL === '1';

describe.each(full ? [...CI_RUNS, ...FULL_RUNS] : CI_RUNS)('exhaustive exploration: $name', (run) => {
  it('no interleaving breaks an invariant, and the app can always run again', () => checkRun(run), 300_000);
});
