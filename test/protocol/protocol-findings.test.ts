/**
 * The protocol model's findings and sabotage checks (docs/architecture.md, "The multi-process protocol,
 * model-checked"): the hand-off claims the model refutes, pinned with their shortest counterexamples, and
 * two weakened protocols the exploration must catch.
 */
import { describe, expect, it } from 'vitest';
import { judgeProof } from '../../src/handoff/handoff-protocol.js';
import { bound, labels, named, SAFETY } from './checks.js';
import { explore, formatTrace } from './explore.js';
import { defaultOptions } from './model.js';

describe('the defects the model finds in the hand-off (reported; these tests pin them until fixed)', () => {
  const faultFree = defaultOptions({ bound: bound({}) });

  it('without any fault, a successor that oversleeps its own wait still takes the lock once, after reset judged it gone', () => {
    const result = explore(faultFree);
    expect(result.complete).toBe(true);
    expect(result.violations.map((v) => v.invariant)).toEqual(['reset-respects-handoff']);
    const found = named(result, 'reset-respects-handoff');
    expect(found.trace).toHaveLength(19);
    expect(labels(found)).toContain('env a long time passes (> 607 s)');
    expect(labels(found)).toContain('S1 takes the lock (its own wait is over: the final attempt)');
  });

  it('bundle strategy: a successor that oversleeps between its cancel check and its proof runs after its predecessor gave up', () => {
    const result = explore({ ...faultFree, strategy: 'bundle' });
    const found = named(result, 'cancelled-successor-never-runs');
    expect(labels(found)).toContain('L1 gives up: writes T1.cancelled');
    expect(labels(found)).toContain('env a long time passes (> 607 s)');
    expect(labels(found)).toContain('S1 takes the lock (its own wait is over: the final attempt)');
  });

  it('with the successor giving up at its own deadline, no fault-free interleaving refutes any claim', () => {
    for (const strategy of ['node', 'bundle'] as const) {
      const result = explore({ ...faultFree, strategy, successorStopsAtDeadline: true });
      expect(result.complete).toBe(true);
      expect(result.violations.map(formatTrace)).toEqual([]);
    }
  });

  it('even so, a predecessor SIGKILLed before its successor proved lets reset clear the ledger under that successor', () => {
    const result = explore({ ...faultFree, successorStopsAtDeadline: true, bound: bound({ kills: 1 }) });
    const found = named(result, 'reset-respects-handoff');
    expect(labels(found)).toContain('env SIGKILL L1');
    expect(labels(found)).toContain('R takes over the lock of dead L1');
    expect(found.trace.findIndex((s) => s.label.includes('resets the ledger'))).toBeLessThan(found.trace.findIndex((s) => s.label.startsWith('writes T1.alive')));
    expect(result.violations.filter((v) => SAFETY.includes(v.invariant)).map(formatTrace)).toEqual([]);
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
    const options = defaultOptions({ bound: bound({}), resetChecksPending: false });
    const sabotaged = explore(options, { stopOn: ['reset-respects-handoff'] });
    const found = named(sabotaged, 'reset-respects-handoff');
    console.log(formatTrace(found));
    expect(found.trace).toHaveLength(18);
    expect(found.trace.filter((step) => step.actor === 'env')).toEqual([]);
    const shorter = explore(options, { maxDepth: found.trace.length - 1, stopOn: ['reset-respects-handoff'] });
    expect(shorter.violations).toEqual([]);
    // The real reset needs the successor to oversleep its wait (the defect above), and with that fixed it holds.
    expect(named(explore(defaultOptions({ bound: bound({}) })), 'reset-respects-handoff').trace.some((s) => s.actor === 'env')).toBe(true);
    const fixed = explore({ ...options, successorStopsAtDeadline: true }, { stopOn: ['reset-respects-handoff'] });
    expect(fixed.violations.map((v) => v.invariant)).toContain('reset-respects-handoff');
    expect(explore(defaultOptions({ bound: bound({}), successorStopsAtDeadline: true })).violations).toEqual([]);
  });
});
