/** The invariants' classes and small helpers shared by the protocol-model tests. */
import { expect } from 'vitest';
import { explore, formatTrace, type Exploration, type Found, type Limits } from './explore.js';
import { DEFAULT_BOUND, type Bound, type ModelOptions } from './model.js';

/** Must hold in every interleaving, whatever the faults. */
export const SAFETY = [
  'one-lock-holder',
  'one-ledger-writer',
  'restart-count-once',
  'restart-count-monotonic',
  'one-relaunch',
  'no-phantom-successor',
  'no-lockout',
];

/** Every invariant the model judges: the safety ones and the hand-off's claims. */
export const INVARIANTS = [...SAFETY, 'reset-respects-handoff', 'cancelled-successor-never-runs'];

/**
 * Refutations the model may still report, each by its exact shortest trace (`formatTrace`), never by
 * invariant name alone: a new refutation of the same invariant elsewhere still fails. Empty since the
 * give-up order (`giveUpPlan`: the ledger drops the request before the child is killed and the marker
 * written) closed the last residual — a `bundle` successor that outlived its SIGKILLed predecessor and a
 * clock jump past its marker's keep time, and verified a restart whose give-up was never recorded.
 */
export const KNOWN_DEFECTS: string[] = [];

export const NO_FAULTS = { kills: 0, stops: 0, hangs: 0, reuses: 0, jumps: 0, unlinks: 0, quits: 0, statuses: 0 };
/** A bound: the default processes, only the faults given. */
export const bound = (overrides: Partial<Bound>): Bound => ({ ...DEFAULT_BOUND, ...NO_FAULTS, ...overrides });

/** The shortest violation of `invariant` (throws when there is none). */
export function named(result: Exploration, invariant: string): Found {
  const found = result.violations.find((v) => v.invariant === invariant);
  if (!found) throw new Error(`expected a violation of ${invariant}; found ${result.violations.map((v) => v.invariant).join(', ') || 'none'}`);
  return found;
}

/** A trace as `actor label` strings. */
export const labels = (found: Found) => found.trace.map((step) => `${step.actor} ${step.label}`);

/** One bound to explore, named for the log. */
export interface Run {
  name: string;
  options: ModelOptions;
}

/** The log line of one exploration: `N states` and what it refuted. */
export function summary(name: string, result: Exploration): string {
  const found = result.violations.map((v) => `${v.invariant} (${v.trace.length} steps)`).join(', ') || 'none';
  return `${name}: ${result.states} states, ${result.transitions} transitions, depth ${result.depth}, ${result.ms} ms; claims refuted: ${found}`;
}

/**
 * Under `npm run sabotage` the exploration stops early: once every invariant the sabotage is expected to
 * refute was refuted (`FIRST_RUN_SABOTAGE_EXPECT`), else at the first refutation.
 */
function sabotageLimits(env: NodeJS.ProcessEnv): Limits {
  if (env.FIRST_RUN_SABOTAGE !== '1') return {};
  const expected = (env.FIRST_RUN_SABOTAGE_EXPECT ?? '').split(',').filter((name) => INVARIANTS.includes(name));
  return expected.length > 0 ? { stopOnAll: expected } : { stopOn: INVARIANTS };
}

/** Explore one bound and hold it to every invariant; a known refutation is excused only by its exact trace. */
export function checkRun({ name, options }: Run): void {
  // `npm run sabotage` only needs the first refutation: stop there (the liveness check is then skipped).
  const result = explore(options, sabotageLimits(process.env));
  console.log(summary(name, result));
  const broken = result.violations.filter((v) => SAFETY.includes(v.invariant));
  expect(broken.map(formatTrace).join('\n\n')).toBe('');
  expect(result.violations.map(formatTrace).filter((trace) => !KNOWN_DEFECTS.includes(trace))).toEqual([]);
  expect(result.complete).toBe(true);
}
