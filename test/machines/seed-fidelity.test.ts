/**
 * Issue 13 (seed fidelity) and issue 10.10: what the client's user sees matches the seed-004 first-run flow.
 * Each `it` names the item it proves; each failed on the code before the fix.
 */
import { describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { testSettings } from '../support/settings.js';
import { DEMO_PERMISSIONS } from '../support/scenarios.js';
import type { OrchestratorSettings, PermissionName } from '../../machines/types.js';
import type { FakePermission } from '../support/fake-tcc.js';

const field = <T = unknown>(event: unknown, key: string) => (event as Record<string, T>)[key];
const outcomes = (w: World, boot?: number) =>
  w
    .eventsOf('permissions.v2.step_completed')
    .filter((e) => boot === undefined || e.boot === boot)
    .map((e) => `${field(e, 'permission')}:${field(e, 'outcome')}`);
const rejections = (w: World) => w.eventsOf('restart.rejected').map((e) => field(e, 'reason'));

/** One soft step that never gets an answer, so only its timebox can end it. */
function oneStep(permission: PermissionName, tcc: FakePermission, timeoutMs = 15_000, overrides: Partial<OrchestratorSettings> = {}) {
  const settings = testSettings({ order: [permission], ...overrides });
  settings.steps[permission] = { ...settings.steps[permission], timeoutMs, hard: false, needsRestart: false };
  return new World({ permissions: { [permission]: tcc }, settings });
}

/** Run until the gate armed the orchestrator's request. */
async function untilArmed(w: World) {
  const service = w.current ?? w.launch();
  for (let i = 0; i < 400 && w.eventsOf('restart.requested').length === 0; i++) await w.run(250);
  expect(w.eventsOf('restart.requested')).not.toHaveLength(0);
  return service;
}

describe('13.1 a denied microphone is never assumed granted', () => {
  it('should end an explicitly denied microphone `denied` at the timeout, fail the run, and not restart', async () => {
    const w = new World({ permissions: { ...DEMO_PERMISSIONS, microphone: { status: 'denied' } } as never });
    expect(await w.settle()).toBe('FAILED');
    expect(outcomes(w, 1)).toContain('microphone:denied');
    expect(outcomes(w)).not.toContain('microphone:assumed_granted');
    expect(w.executions).toEqual([]);
    expect(w.eventsOf('permissions.first_run_completed')).toEqual([]);
  });

  it('should still assume a grant on the never-answered path (not_determined → prompt → no answer)', async () => {
    const w = new World({
      permissions: { ...DEMO_PERMISSIONS, microphone: { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } } } as never,
    });
    await w.settle();
    expect(outcomes(w, 1)).toContain('microphone:assumed_granted');
  });

  it('should settle an assumed grant in POST_RESTART_VERIFY by what TCC says then (denied → FAILED)', async () => {
    const w = new World({
      permissions: { ...DEMO_PERMISSIONS, microphone: { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } } } as never,
    });
    const first = await untilArmed(w);
    expect(outcomes(w, 1)).toContain('microphone:assumed_granted');
    // Between the two processes the user denies the microphone in System Settings.
    w.tcc['state'].set('microphone', { status: 'denied' });
    let settled: string | null = null;
    void first.whenSettled().then((r) => (settled = r.outcome));
    while (settled === null) await w.run(500);
    await w.exit();
    expect(await w.settle()).toBe('FAILED');
    expect(outcomes(w, 2)).toEqual(['microphone:denied']);
    expect(w.executions).toHaveLength(1);
  });
});

describe('13.2 only running time counts: a restored step goes on with the time it had left at its last commit', () => {
  it('should give a step restored after a crash and a late re-open its time back, and ask again', async () => {
    const w = oneStep('input_monitoring', { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } });
    w.launch();
    await w.run(10_000);
    w.crash();
    // The app was not running for ten minutes.
    w.clock.advance(10 * 60_000);
    w.launch();
    await w.run(14_000);
    expect(w.eventsOf('permissions.v2.step_timeout').filter((e) => e.boot === 2)).toEqual([]);
    expect(w.tcc.activations.filter((a) => a.process === 2).map((a) => a.permission)).toEqual(['input_monitoring']);
    expect(w.eventsOf('permissions.v2.step_resumed').map((e) => field(e, 'remaining_ms'))).toEqual([15_000]);
    await w.run(1_500);
    expect(w.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await w.exit();
  });

  it('should charge the time up to the last commit: a status change 5 s in leaves 10 s after a restore', async () => {
    // Screen Capture never reads not_determined after a prompt: a `denied` 5 s in is a change, not an answer.
    const w = oneStep('screen_capture', { status: 'not_determined', onRequest: { result: 'denied', afterMs: 5_000 } });
    w.launch();
    await w.run(8_000);
    w.crash();
    w.clock.advance(60_000);
    w.launch();
    expect(w.eventsOf('permissions.v2.step_resumed').map((e) => field(e, 'remaining_ms'))).toEqual([10_000]);
    await w.run(9_500);
    expect(w.eventsOf('permissions.v2.step_timeout')).toEqual([]);
    await w.run(1_000);
    expect(w.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await w.exit();
  });

  it('10.10 should clamp a restored wait to this launch\'s timebox: an edited ledger cannot stretch it', async () => {
    const w = oneStep('input_monitoring', { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } }, 3_000);
    w.launch();
    await w.run(1_000);
    w.crash();
    // Someone (or a clock jump, before this fix) makes the step look ten minutes long.
    const step = (w.lastCommitted!.snapshot as { children: { step: { snapshot: { context: Record<string, unknown> } } } }).children.step
      .snapshot.context;
    step.remainingMs = 600_000;
    step.deadlineAt = w.clock.now() + 600_000;
    // The invoked timebox is persisted with its input too: stretch that as well.
    const timebox = (w.lastCommitted!.snapshot as { children: { step: { snapshot: { children: { timebox: { snapshot: { input: Record<string, unknown> } } } } } } })
      .children.step.snapshot.children.timebox.snapshot.input;
    timebox.ms = 600_000;
    timebox.deadlineAt = w.clock.now() + 600_000;
    w.launch();
    await w.run(3_250);
    expect(w.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await w.exit();
  });

  it('should resume a step from a ledger written before running time was kept (deadlineAt only) with its timebox', async () => {
    const w = oneStep('input_monitoring', { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } }, 4_000);
    w.launch();
    await w.run(1_000);
    w.crash();
    const context = (w.lastCommitted!.snapshot as { children: { step: { snapshot: { context: Record<string, unknown> } } } }).children.step
      .snapshot.context;
    delete context.remainingMs;
    delete context.countedFrom;
    context.deadlineAt = w.clock.now() - 60_000;
    w.launch();
    await w.run(3_750);
    expect(w.eventsOf('permissions.v2.step_timeout')).toEqual([]);
    await w.run(500);
    expect(w.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await w.exit();
  });

  it('10.10 should clamp a restored step to a shorter timebox configured since', async () => {
    const w = oneStep('input_monitoring', { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } });
    w.launch();
    await w.run(1_000);
    w.crash();
    w.settings = structuredClone(w.settings);
    w.settings.steps.input_monitoring.timeoutMs = 2_000;
    w.launch();
    await w.run(2_250);
    expect(w.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await w.exit();
  });
});

describe('13.3 restart safety: a restart that comes due while the host is busy waits for idle', () => {
  const demo = (overrides: Partial<OrchestratorSettings> = {}) =>
    new World({ permissions: DEMO_PERMISSIONS as never, settings: testSettings(overrides) });

  it('should defer while busy (restart.deferred), then restart once the host says idle', async () => {
    const w = demo();
    const service = await untilArmed(w);
    service.setBusy(true);
    await w.run(60_000);
    expect(w.executions).toEqual([]);
    expect(w.eventsOf('restart.deferred')).toHaveLength(1);
    expect(w.eventsOf('restart.deferred')[0]).toMatchObject({ reason: 'busy', max_defer_ms: 300_000 });
    expect(service.restartCount).toBe(0);
    service.setBusy(false);
    await w.run(500);
    expect(w.executions).toHaveLength(1);
    expect(w.eventsOf('restart.deferral_ended')).toHaveLength(1);
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toHaveLength(1);
  });

  it('should not defer when the host said idle again before the restart came due', async () => {
    const w = demo();
    const service = await untilArmed(w);
    service.setBusy(true);
    service.setBusy(false);
    await w.run(3_500);
    expect(w.eventsOf('restart.deferred')).toEqual([]);
    expect(w.executions).toHaveLength(1);
    await w.exit();
  });

  it('should give up after restart.max_defer_s: the decision is recorded, nothing is spent, the next launch decides again', async () => {
    const w = demo({ restart: { ...testSettings().restart, maxDeferMs: 20_000 } });
    const service = await untilArmed(w);
    service.setBusy(true);
    const result = service.whenSettled();
    await w.run(25_000);
    expect(rejections(w)).toEqual(['busy_timeout']);
    expect(await result).toMatchObject({ outcome: 'completed', restartCount: 0 });
    expect(service.context.restartOutcome).toBe('rejected:busy_timeout');
    expect(w.executions).toEqual([]);
    await w.exit();
    expect(w.lastCommitted?.restart_count).toBe(0);
    // The next launch decides again from what TCC says then: PRECHECK, not a replay of the old decision.
    w.launch();
    await w.run(1_000);
    expect(w.eventsOf('permissions.v2.phase').filter((e) => e.boot === 2).map((e) => field(e, 'phase'))[0]).toBe('PRECHECK');
    await w.exit();
  });

  it('should let a quit win while deferred: cancelled, nothing executed, the count unspent', async () => {
    const w = demo();
    const service = await untilArmed(w);
    service.setBusy(true);
    await w.run(5_000);
    expect(w.eventsOf('restart.deferred')).toHaveLength(1);
    service.quit();
    expect(await service.whenSettled()).toMatchObject({ outcome: 'quit', restartCount: 0 });
    service.setBusy(false);
    await w.run(5_000);
    expect(w.executions).toEqual([]);
    expect(w.eventsOf('restart.cancelled')).toHaveLength(1);
    await w.exit();
  });

  it('should never execute a deferred restart restored in another process', async () => {
    const w = demo();
    const service = await untilArmed(w);
    service.setBusy(true);
    await w.run(5_000);
    w.crash();
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
    expect(rejections(w)).toContain('restored_request');
  });
});

describe('13.4 advance_on_timeout=false: after the timebox the step waits for the user', () => {
  it('should say it waits for the user, commit nothing while nothing changes, and keep quit working', async () => {
    const w = oneStep('accessibility', { status: 'denied' }, 5_000, { advanceOnTimeout: false });
    const service = w.launch();
    await w.run(6_000);
    expect(w.eventsOf('permissions.v2.step_waiting_for_user')).toEqual([
      expect.objectContaining({ permission: 'accessibility', status: 'denied' }),
    ]);
    const commits = w.ledger.length;
    await w.run(60_000);
    expect(w.ledger.length, 'a poll that reads the same status commits nothing').toBe(commits);
    expect(service.phase).toBe('PIPELINE');
    service.quit();
    expect(await service.whenSettled()).toMatchObject({ outcome: 'quit' });
    await w.exit();
  });

  it('should keep waiting without a bound after a restore, and finish when the user answers', async () => {
    const w = oneStep('accessibility', { status: 'denied' }, 5_000, { advanceOnTimeout: false });
    w.launch();
    await w.run(6_000);
    w.crash();
    w.launch();
    expect(w.eventsOf('permissions.v2.step_resumed').map((e) => field(e, 'waiting_for_user'))).toEqual([true]);
    await w.run(30_000);
    expect(w.eventsOf('permissions.v2.step_completed')).toEqual([]);
    w.tcc['state'].set('accessibility', { status: 'granted' });
    await w.run(6_000);
    expect(outcomes(w, 2)).toEqual(['accessibility:granted']);
    await w.exit();
  });
});

describe('13.5 permissions.first_run_restart_pending (seed 004)', () => {
  it('should be published once when the pipeline ends needing a restart, before the restart is scheduled', async () => {
    const w = new World({ permissions: DEMO_PERMISSIONS as never });
    await w.settle();
    const types = w.events.filter((e) => e.boot === 1).map((e) => e.type);
    expect(types.filter((t) => t === 'permissions.first_run_restart_pending')).toHaveLength(1);
    expect(types.indexOf('permissions.first_run_restart_pending')).toBeGreaterThan(types.indexOf('permissions.v2.decision'));
    expect(types.indexOf('permissions.first_run_restart_pending')).toBeLessThan(types.indexOf('restart.requested'));
    // Information only: the tray keeps its first-run badge until first_run_completed (seed 003 inputs).
    const trayAfter = w.events.slice(w.events.findIndex((e) => e.type === 'permissions.first_run_restart_pending'));
    const firstBadgeOff = trayAfter.findIndex((e) => e.type === 'tray.status_updated' && field(e, 'overlay') === null);
    const completed = trayAfter.findIndex((e) => e.type === 'permissions.first_run_completed');
    expect(firstBadgeOff).toBeGreaterThan(completed);
  });

  it('should not be published when the decision is no restart', async () => {
    const w = new World({ permissions: { microphone: { status: 'not_determined', onRequest: { result: 'denied', afterMs: 100 } } } });
    expect(await w.settle()).toBe('FAILED');
    expect(w.eventsOf('permissions.v2.decision').map((e) => field(e, 'allowed'))).toEqual([false]);
    expect(w.eventsOf('permissions.first_run_restart_pending')).toEqual([]);
  });
});

describe('13.8 NEXY_DEV_FORCE_PERMISSIONS runs the flow even when everything is granted', () => {
  it('should run every step when forced, and skip the flow when not', async () => {
    const forced = new World({ permissions: {}, settings: testSettings({ devForcePermissions: true }) });
    forced.launch();
    await forced.run(30_000);
    expect(forced.eventsOf('permissions.first_run_started')).toEqual([expect.objectContaining({ dev_forced: true })]);
    expect(forced.eventsOf('permissions.v2.step_started')).toHaveLength(4);
    await forced.exit();
    const plain = new World({ permissions: {} });
    expect(await plain.settle()).toBe('COMPLETED');
    expect(plain.eventsOf('permissions.v2.step_started')).toEqual([]);
  });
});

describe('13.11 test holes', () => {
  it('RS-2 the kill switch is read per launch: set after a crash, it holds', async () => {
    const w = new World({ permissions: DEMO_PERMISSIONS as never });
    w.launch();
    await w.run(1_000);
    expect(w.current?.phase).toBe('PIPELINE');
    w.crash();
    w.settings = testSettings({ killSwitch: true });
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
    expect(rejections(w)).toEqual(['kill_switch']);
  });

  it('FR-4 the Screen Capture dialog is shown once per process, also across the steps of PIPELINE and an in-place verify', async () => {
    const w = new World({
      permissions: { screen_capture: { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } } },
      settings: testSettings({ order: ['screen_capture'] }),
      successor: 'never',
    });
    w.launch();
    await w.run(60_000);
    // pending_restart → restart → no successor → POST_RESTART_VERIFY in place asks again, in the same process.
    expect(w.eventsOf('permissions.v2.phase').map((e) => field(e, 'phase'))).toContain('POST_RESTART_VERIFY');
    expect(w.eventsOf('permissions.v2.step_started')).toHaveLength(2);
    expect(w.tcc.activations.filter((a) => a.permission === 'screen_capture')).toHaveLength(1);
    expect(w.tcc.settingsOpened.filter((a) => a.permission === 'screen_capture').length).toBeGreaterThanOrEqual(1);
    await w.exit();
  });
});
