/**
 * The protocol model under the `bundle` strategy — how a macOS app relaunches (`open -n -a`): the
 * successor is not our child, so giving up cannot kill it; only the ledger (the gate's dropped request)
 * and the cancel marker keep it from running. See `protocol-model.test.ts`.
 */
import { describe, it } from 'vitest';
import { bound, checkRun, type Run } from './checks.js';
import { defaultOptions } from './model.js';

const CI_RUNS: Run[] = [
  // Where the last residual lived (closed by the give-up order): a SIGKILL and a clock jump.
  { name: 'bundle strategy, 1 SIGKILL, 1 clock jump', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, jumps: 1 }) }) },
  { name: 'bundle strategy, 1 SIGKILL, a quit during the hand-off', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, quits: 1 }) }) },
];

const FULL_RUNS: Run[] = [
  { name: 'bundle strategy, 1 SIGKILL, 1 PID reuse', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, reuses: 1 }) }) },
  { name: 'bundle strategy, 1 SIGKILL, 1 SIGSTOP', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, stops: 1 }) }) },
  { name: 'bundle strategy, 1 SIGKILL, a hang for good', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, hangs: 1 }) }) },
  { name: 'bundle strategy, 1 SIGKILL, status', options: defaultOptions({ strategy: 'bundle', bound: bound({ kills: 1, statuses: 1 }) }) },
];

const full = process.env.FIRST_RUN_PROTOCOL_FULL === '1';

describe.each(full ? [...CI_RUNS, ...FULL_RUNS] : CI_RUNS)('exhaustive exploration: $name', (run) => {
  it('no interleaving breaks an invariant, and the app can always run again', () => checkRun(run), 300_000);
});
