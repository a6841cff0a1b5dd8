import { describe, expect, it } from 'vitest';
import { World, flush } from '../support/world.js';
import { testSettings } from '../support/settings.js';
import type { PermissionName } from '../../machines/types.js';
import { DEMO_PERMISSIONS } from '../support/scenarios.js';

const DEMO = DEMO_PERMISSIONS;

const phases = (world: World, boot?: number) =>
  world
    .eventsOf('permissions.v2.phase')
    .filter((e) => boot === undefined || e.boot === boot)
    .map((e) => (e as unknown as { phase: string }).phase);

describe('first-run pipeline (FR)', () => {
  it('FR-1 all granted at precheck → first_run_completed at once, no prompt, no restart', async () => {
    const world = new World({ permissions: {} });
    expect(await world.settle()).toBe('COMPLETED');
    expect(phases(world)).toEqual(['PRECHECK', 'COMPLETED']);
    expect(world.tcc.activations).toEqual([]);
    expect(world.executions).toEqual([]);
    expect(world.eventsOf('permissions.first_run_started')).toEqual([]);
    expect(world.eventsOf('permissions.first_run_completed')).toHaveLength(1);
  });

  it('FR-1 a completed ledger is only a cache: a revoked permission is found at the next launch', async () => {
    const world = new World({ permissions: DEMO as never });
    expect(await world.settle()).toBe('COMPLETED');
    world.tcc['state'].set('microphone', { status: 'denied' });
    const service = world.launch();
    await world.run(60_000);
    expect(phases(world, world.boots)).toContain('PIPELINE');
    expect(service.restartCount).toBe(1);
    await world.exit();
    expect(world.executions).toHaveLength(1);
  });

  it('FR-2 steps run one at a time in the configured order, only the missing ones', async () => {
    const settings = testSettings({ order: ['screen_capture', 'input_monitoring', 'microphone', 'accessibility'] });
    const world = new World({ permissions: DEMO as never, settings });
    await world.settle();
    const started = world.eventsOf('permissions.v2.step_started').filter((e) => e.boot === 1);
    expect(started.map((e) => (e as unknown as { permission: string }).permission)).toEqual([
      'screen_capture',
      'microphone',
      'accessibility',
    ]);
    // Never in parallel: every step completes before the next starts.
    const sequence = world.events
      .filter((e) => e.boot === 1 && /step_(started|completed)/.test(e.type))
      .map((e) => e.type.endsWith('started'));
    expect(sequence).toEqual([true, false, true, false, true, false]);
  });

  it.each([
    [true, 'timed_out'],
    [false, null],
  ])('FR-3 a step that never resolves with advance_on_timeout=%s → %s', async (advance, outcome) => {
    const settings = testSettings({ advanceOnTimeout: advance, order: ['accessibility'] });
    settings.steps.accessibility.hard = false;
    const world = new World({ permissions: { accessibility: { status: 'not_determined' } }, settings });
    const service = world.launch();
    await world.run(15_000 + 1_000);
    const completed = world.eventsOf('permissions.v2.step_completed');
    if (outcome) {
      expect(completed.map((e) => (e as unknown as { outcome: string }).outcome)).toEqual([outcome]);
    } else {
      expect(completed).toEqual([]);
      expect(service.phase).toBe('PIPELINE');
      expect(world.eventsOf('permissions.v2.step_timeout')).toHaveLength(1);
      // It keeps polling until the user answers.
      world.tcc['state'].set('accessibility', { status: 'granted' });
      await world.run(2_000);
      expect(world.eventsOf('permissions.v2.step_completed').map((e) => (e as never as { outcome: string }).outcome)).toEqual(['granted']);
    }
    await world.exit();
  });

  it('FR-3 the timebox is per step and overridable', async () => {
    const settings = testSettings({ order: ['input_monitoring', 'accessibility'] });
    settings.steps.input_monitoring.timeoutMs = 4_000;
    const world = new World({
      permissions: { input_monitoring: { status: 'not_determined' }, accessibility: { status: 'not_determined' } },
      settings,
    });
    world.launch();
    await world.run(4_000 + 500);
    expect(world.eventsOf('permissions.v2.step_completed')).toHaveLength(1);
    await world.run(15_000);
    expect(world.eventsOf('permissions.v2.step_completed')).toHaveLength(2);
    await world.exit();
  });

  it('FR-4 granted in the step → confirmed by 2 re-checks 2 s apart → granted', async () => {
    const settings = testSettings({ order: ['microphone'] });
    const world = new World({ permissions: { microphone: { status: 'granted' } }, settings });
    // Precheck reads denied; by the step's first read the user has granted it.
    let reads = 0;
    const backend = world.tcc.view();
    const stepStart = world.clock.now();
    world.launch({ backend: { ...backend, getStatus: async (p) => (reads++ === 0 ? 'denied' : backend.getStatus(p)) } });
    await world.run(10_000, 100);
    const times = world
      .eventsOf('permissions.status_checked')
      .filter((e) => e.boot === 1)
      .map((e) => Date.parse(e.ts) - stepStart);
    // Precheck, the step's first read, then two confirmations 2 s apart.
    expect(times).toEqual([0, 0, 2_000, 4_000]);
    const done = world.eventsOf('permissions.v2.step_completed');
    expect(done.map((e) => (e as never as { outcome: string }).outcome)).toEqual(['granted']);
    expect(Date.parse(done[0]!.ts) - stepStart).toBe(4_000);
    await world.exit();
  });

  it('FR-4 a grant that does not hold through the confirmations is routed again (Settings, polling)', async () => {
    const settings = testSettings({ order: ['microphone'] });
    const world = new World({ permissions: { microphone: { status: 'denied' } }, settings });
    world.launch();
    await flush();
    world.tcc['state'].set('microphone', { status: 'granted' });
    await world.run(1_000, 100);
    world.tcc['state'].set('microphone', { status: 'denied', onSettings: { result: 'granted', afterMs: 3_000 } });
    await world.run(10_000, 100);
    expect(world.tcc.settingsOpened.map((s) => s.permission)).toEqual(['microphone']);
    expect(world.eventsOf('permissions.v2.step_completed').map((e) => (e as never as { outcome: string }).outcome)).toEqual(['granted']);
    await world.exit();
  });

  it('FR-4 restricted → outcome restricted at once, nothing shown', async () => {
    const settings = testSettings({ order: ['microphone'] });
    settings.steps.microphone.hard = false;
    const world = new World({ permissions: { microphone: { status: 'restricted' } }, settings });
    world.launch();
    await world.run(1_000);
    expect(world.eventsOf('permissions.v2.step_completed').map((e) => (e as never as { outcome: string }).outcome)).toEqual(['restricted']);
    expect(world.tcc.activations).toEqual([]);
    expect(world.tcc.settingsOpened).toEqual([]);
    await world.exit();
  });

  it('FR-4 denied (asked before) → System Settings → poll until granted', async () => {
    const settings = testSettings({ order: ['microphone'] });
    const world = new World({ permissions: { microphone: { status: 'denied', onSettings: { result: 'granted', afterMs: 3_000 } } }, settings });
    world.launch();
    await world.run(10_000);
    expect(world.tcc.settingsOpened.map((s) => s.permission)).toEqual(['microphone']);
    expect(world.tcc.activations).toEqual([]);
    expect(world.eventsOf('permissions.changed').length).toBeGreaterThanOrEqual(1);
    await world.exit();
  });

  it('FR-4 not_determined, user declines → denied; publishes permissions.changed', async () => {
    const settings = testSettings({ order: ['input_monitoring'] });
    settings.steps.input_monitoring.hard = false;
    const world = new World({ permissions: { input_monitoring: { status: 'not_determined', onRequest: { result: 'denied', afterMs: 1_000 } } }, settings });
    world.launch();
    await world.run(5_000);
    expect(world.eventsOf('permissions.v2.step_completed').map((e) => (e as never as { outcome: string }).outcome)).toEqual(['denied']);
    expect(world.eventsOf('permissions.changed').map((e) => [(e as never as { from: string }).from, (e as never as { to: string }).to])).toContainEqual(['not_determined', 'denied']);
    await world.exit();
  });

  it.each<[string, PermissionName, Partial<{ assume: boolean; needsRestart: boolean }>, string]>([
    ['assume_granted_on_timeout (microphone default)', 'microphone', {}, 'assumed_granted'],
    ['needs_restart and requested', 'input_monitoring', {}, 'pending_restart'],
    ['neither', 'input_monitoring', { needsRestart: false }, 'timed_out'],
  ])('FR-4 timeout outcome: %s', async (_label, permission, tweak, outcome) => {
    const settings = testSettings({ order: [permission] });
    if (tweak.needsRestart !== undefined) settings.steps[permission].needsRestart = tweak.needsRestart;
    const world = new World({ permissions: { [permission]: { status: 'not_determined' } }, settings });
    world.launch();
    await world.run(16_000);
    expect(world.eventsOf('permissions.v2.step_completed').map((e) => (e as never as { outcome: string }).outcome)).toEqual([outcome]);
    await world.exit();
  });

  it('FR-4 Screen Capture: its dialog is shown at most once per process, even when the step re-routes', async () => {
    const settings = testSettings({ order: ['screen_capture'], confirmRetries: 2 });
    const world = new World({ permissions: { screen_capture: { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } } }, settings });
    world.launch();
    await world.run(16_000);
    expect(world.tcc.activations.filter((a) => a.permission === 'screen_capture')).toHaveLength(1);
    await world.exit();
  });

  it('FR-5 a soft step may fail without blocking completion; a hard one fails the run', async () => {
    const soft = testSettings({ order: ['microphone', 'input_monitoring'] });
    soft.steps.input_monitoring = { ...soft.steps.input_monitoring, hard: false, needsRestart: false };
    const w1 = new World({ permissions: { input_monitoring: { status: 'restricted' } }, settings: soft });
    expect(await w1.settle()).toBe('COMPLETED');
    const hard = testSettings({ order: ['microphone', 'input_monitoring'] });
    const w2 = new World({ permissions: { input_monitoring: { status: 'restricted' } }, settings: hard });
    expect(await w2.settle()).toBe('FAILED');
    expect(w2.executions).toEqual([]);
  });

  it('FR-6 Accessibility reads denied when never asked: it is asked (once), and the ledger remembers it', async () => {
    const settings = testSettings({ order: ['accessibility'] });
    settings.steps.accessibility.hard = false;
    const world = new World({ permissions: { accessibility: { status: 'denied' } }, settings });
    world.launch();
    await world.run(16_000);
    expect(world.tcc.activations.map((a) => a.permission)).toEqual(['accessibility']);
    await world.exit();
    // Next launch: the ledger says it was requested → Settings, no new activation.
    world.launch();
    await world.run(16_000);
    expect(world.tcc.activations.map((a) => a.permission)).toEqual(['accessibility']);
    expect(world.tcc.settingsOpened.filter((s) => s.process === 2).map((s) => s.permission)).toEqual(['accessibility']);
    await world.exit();
  });

  it('FR-6 an activation that never settles cannot hold the timebox', async () => {
    const settings = testSettings({ order: ['microphone'] });
    const world = new World({ permissions: { microphone: { status: 'not_determined' } }, settings });
    const backend = world.tcc.view();
    const hanging = { ...backend, activate: () => new Promise<void>(() => {}) };
    const service = world.launch({ backend: hanging });
    await world.run(16_000);
    expect(world.eventsOf('permissions.v2.step_completed')).toHaveLength(1);
    expect(service.phase).not.toBe('PIPELINE');
    await world.exit();
  });

  it('FR-6 an unplanned restart mid-pipeline (macOS "Quit & Reopen") resumes without counting as ours', async () => {
    const world = new World({ permissions: DEMO as never });
    world.launch();
    await world.run(1_000);
    expect(world.current!.phase).toBe('PIPELINE');
    await world.exit();
    world.launch();
    await world.run(1_000);
    expect(world.current!.phase).toBe('PIPELINE');
    expect(world.current!.restartCount).toBe(0);
    await world.exit();
    expect(await world.settle()).toBe('COMPLETED');
    expect(world.executions).toHaveLength(1);
  });

  it('FR-3 a restored timebox goes on with the time left at the last commit, not a wall-clock deadline', async () => {
    const settings = testSettings({ order: ['input_monitoring'] });
    settings.steps.input_monitoring.needsRestart = false;
    settings.steps.input_monitoring.hard = false;
    const world = new World({ permissions: { input_monitoring: { status: 'not_determined' } }, settings });
    world.launch();
    await world.run(10_000);
    world.crash();
    // Nothing changed after the first read (no answer to the prompt), so the last commit held 15 s: the
    // new process waits its 15 s instead of ending at once on a deadline that passed while it was down.
    world.launch();
    await world.run(14_000);
    expect(world.eventsOf('permissions.v2.step_timeout')).toEqual([]);
    await world.run(1_500);
    expect(world.eventsOf('permissions.v2.step_timeout').map((e) => e.boot)).toEqual([2]);
    await world.exit();
  });

  it('FR-4 every status read publishes permissions.status_checked', async () => {
    const world = new World({ permissions: DEMO as never });
    await world.settle();
    expect(world.eventsOf('permissions.status_checked').length).toBeGreaterThan(8);
  });
});
