/**
 * The lock's retry loop gives up only on an attempt made at or after its deadline. A process paused
 * between an attempt and reading the clock (SIGSTOP, a sleeping laptop) used to give up on what it saw
 * before the pause — a relaunched successor then reported a conflict over a lock that had long been free
 * (test/protocol/defects.test.ts caught it on CI). The real-process case is that test; this one pins the rule.
 */
import { describe, expect, it } from 'vitest';
import { pauseAfterRefusal } from '../../src/retry-deadline.js';

describe('pauseAfterRefusal', () => {
  it('sleeps until the next try, never past the deadline, at least 1 ms', () => {
    expect(pauseAfterRefusal(0, 10, 1000, 25)).toBe(25);
    expect(pauseAfterRefusal(0, 990, 1000, 25)).toBe(10);
    expect(pauseAfterRefusal(0, 999.5, 1000, 25)).toBe(1);
  });

  it('gives up on an attempt made at or after the deadline', () => {
    expect(pauseAfterRefusal(1000, 1000, 1000, 25)).toBe('give-up');
    expect(pauseAfterRefusal(5000, 5001, 1000, 25)).toBe('give-up');
  });

  it('tries once more at once when the deadline passed between the attempt and the clock read', () => {
    expect(pauseAfterRefusal(999, 1000, 1000, 25)).toBe(0);
    expect(pauseAfterRefusal(10, 60_000, 1000, 25)).toBe(0);
  });
});
