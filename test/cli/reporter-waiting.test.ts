/**
 * Issue 13.4: with `advance_on_timeout=false` the timebox ends and the step waits for the user without a
 * bound — the CLI shows that, instead of printing "0 s left" every second.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReporter } from '../../src/cli/reporter.js';

function reporter() {
  const out: string[] = [];
  const r = createReporter({ stdout: (t) => out.push(t), stderr: () => {}, env: {} }, { tty: false, countdownMs: 1000 });
  return { r, out };
}
const ev = (type: string, payload: Record<string, unknown> = {}) => ({ type, pid: 7, ts: '', ...payload });

describe('CLI reporter: a step that waits for the user (FR-3)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('should stop counting down once the timebox ended and say it waits for the user', () => {
    const { r, out } = reporter();
    r.onEvent(ev('permissions.v2.step_started', { permission: 'accessibility', timeout_ms: 2000 }));
    vi.advanceTimersByTime(2000);
    r.onEvent(ev('permissions.v2.step_timeout', { permission: 'accessibility', outcome: null, keeps_waiting: true }));
    r.onEvent(ev('permissions.v2.step_waiting_for_user', { permission: 'accessibility', status: 'denied' }));
    const before = out.length;
    vi.advanceTimersByTime(10_000);
    expect(out.slice(before)).toEqual([]);
    expect(out.filter((l) => /waiting for you to answer for accessibility — no time limit/.test(l))).toHaveLength(1);
    r.close();
  });

  it('should count down a resumed step from the time it had left', () => {
    const { r, out } = reporter();
    r.onEvent(ev('permissions.v2.step_resumed', { permission: 'microphone', remaining_ms: 3000, waiting_for_user: false }));
    vi.advanceTimersByTime(1000);
    expect(out).toEqual(['[7]   step microphone resumed — 3 s left in the timebox', '[7]     … microphone: 2 s left in the timebox']);
    r.close();
  });

  it('should show a deferred restart', () => {
    const { r, out } = reporter();
    r.onEvent(ev('restart.deferred', { reason: 'busy', request_id: 'x', max_defer_ms: 300_000 }));
    expect(out).toEqual(['[7]   restart deferred: the app is busy — it waits for idle, at most 300 s']);
  });

  it.each([
    ['camera', 'system prompt'],
    ['full_disk_access', 'System Settings'],
    ['accessibility', 'System Settings'],
  ])('should say how %s was asked: %s (the catalogue)', (permission, how) => {
    const { r, out } = reporter();
    r.onEvent(ev('permissions.v2.activation_requested', { permission }));
    expect(out).toEqual([`[7]     asked for ${permission} (${how})`]);
    r.close();
  });
});
