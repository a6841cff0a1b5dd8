/**
 * The protocol model's findings and sabotage checks (docs/architecture.md, "The multi-process protocol,
 * model-checked"): the hand-off claims the model refutes, pinned with their shortest counterexamples, and
 * two weakened protocols the exploration must catch.
 */
import { describe, expect, it } from 'vitest';
import { judgeProof } from '../../src/handoff/handoff-protocol.js';
import * as protocol from '../../src/protocol/decisions.js';
import { bound, labels, named } from './checks.js';
import { explore, formatTrace } from './explore.js';
import { defaultOptions } from './model.js';

describe('the two claims the model refuted, now fixed (docs/architecture.md, "What the model found")', () => {
  const faultFree = defaultOptions({ bound: bound({}) });

  it('without any fault, no interleaving refutes any claim, for either strategy', () => {
    for (const strategy of ['node', 'bundle'] as const) {
      const result = explore({ ...faultFree, strategy });
      expect(result.complete).toBe(true);
      expect(result.violations.map(formatTrace)).toEqual([]);
    }
  });

  it('a predecessor SIGKILLed before its successor proved no longer lets that successor run on a reset ledger', () => {
    for (const strategy of ['node', 'bundle'] as const) {
      const result = explore({ ...faultFree, strategy, bound: bound({ kills: 1 }) });
      expect(result.complete).toBe(true);
      expect(result.violations.map(formatTrace)).toEqual([]);
    }
  });
});

describe('sabotage: the exploration catches a weakened protocol, with a shortest counterexample', () => {
  const faults = bound({ kills: 1, reuses: 1 });
  let real: ReturnType<typeof explore> | undefined;
  /** The real protocol under the same faults (explored once). */
  const realUnderFaults = () => (real ??= explore(defaultOptions({ bound: faults })));

  it('an identity check without the start time (PID existence only) lets a recycled PID pass as the successor', () => {
    expect(realUnderFaults().violations.map((v) => v.invariant)).not.toContain('no-phantom-successor');

    const pidOnly = defaultOptions({ bound: faults, judge: (proof, seen) => judgeProof({ ...proof, startId: null }, seen) });
    const sabotaged = explore(pidOnly, { stopOn: ['no-phantom-successor'] });
    const found = named(sabotaged, 'no-phantom-successor');
    console.log(formatTrace(found));
    expect(labels(found)).toEqual([
      'L1 takes the lock',
      'L1 sweeps handoff/ (nothing to remove)',
      'L1 finds no pending hand-off; loads the ledger (restart_count 0): the app runs; commits restart_count 1 before relaunching (RS-3)',
      'L1 starts successor S1 (pid 101, token T1)',
      'S1 is not cancelled',
      'S1 writes T1.alive (pid 101, start s101)',
      'env SIGKILL S1',
      "env PID 101 (S1's) reused by another program",
      "L1 accepts S1's proof",
    ]);
    // Shortest: no interleaving of one move fewer violates it.
    const shorter = explore(pidOnly, { maxDepth: found.trace.length - 1, stopOn: ['no-phantom-successor'] });
    expect(shorter.violations.map((v) => v.invariant)).not.toContain('no-phantom-successor');
  });

  it('an identity check by PID existence and a proof trusted at any age lock the app out for good after one PID reuse', () => {
    const ageless = (proof: Parameters<typeof judgeProof>[0], seen: Parameters<typeof judgeProof>[1]) =>
      judgeProof({ ...proof, startId: null }, { ...seen, now: Date.parse(proof.provedAt) });
    const found = named(explore(defaultOptions({ bound: faults, judge: ageless })), 'no-lockout');
    console.log(formatTrace(found));
    expect(found.trace).toHaveLength(11);
    expect(labels(found).slice(-2)).toEqual(['env SIGKILL S1', "env PID 101 (S1's) reused by another program"]);
    expect(realUnderFaults().violations.map((v) => v.invariant)).not.toContain('no-lockout');
  });

  it('a reset that ignores a pending hand-off clears the ledger under a successor, with no fault and no time passing', () => {
    const options = defaultOptions({ bound: bound({}), decisions: { ...protocol, resetUnderLock: () => ({ kind: 'reset' }) } });
    const sabotaged = explore(options, { stopOn: ['reset-respects-handoff'] });
    const found = named(sabotaged, 'reset-respects-handoff');
    console.log(formatTrace(found));
    expect(found.trace).toHaveLength(13);
    expect(found.trace.filter((step) => step.actor === 'env')).toEqual([]);
    expect(labels(found).at(-1)).toMatch(/^R goes on to reset; resets the ledger/);
    const shorter = explore(options, { maxDepth: found.trace.length - 1, stopOn: ['reset-respects-handoff'] });
    expect(shorter.violations).toEqual([]);
    // The real reset holds in the same space.
    expect(explore(defaultOptions({ bound: bound({}) })).violations).toEqual([]);
  });
});
