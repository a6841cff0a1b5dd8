import { describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { testSettings } from '../support/settings.js';
import type { OrchestratorSettings } from '../../machines/types.js';
import { DEMO_PERMISSIONS } from '../support/scenarios.js';

const DEMO = DEMO_PERMISSIONS;

function world(settings: Partial<OrchestratorSettings> = {}, extra: Partial<ConstructorParameters<typeof World>[0]> = {}) {
  return new World({ permissions: DEMO as never, settings: testSettings(settings), ...extra });
}

/** Launch and run until the pipeline decided and the gate armed the request. */
async function untilArmed(w: World) {
  const service = w.launch();
  for (let i = 0; i < 200 && w.eventsOf('restart.requested').length === 0; i++) await w.run(250);
  return service;
}

const rejections = (w: World) => w.eventsOf('restart.rejected').map((e) => (e as never as { reason: string }).reason);

describe('restart (RS)', () => {
  it('RS-1 the decision is made once, at the end of the pipeline, and logged as [PERMISSION_RESTART] once', async () => {
    const w = world();
    const lines: string[] = [];
    w.launch({ log: (line) => lines.push(line) });
    await w.settle();
    expect(w.eventsOf('permissions.v2.decision')).toHaveLength(1);
    expect(lines.filter((l) => l === '[PERMISSION_RESTART] Restart requested')).toHaveLength(1);
    const order = w.events.filter((e) => e.boot === 1).map((e) => e.type);
    expect(order.indexOf('permissions.v2.decision')).toBeGreaterThan(order.lastIndexOf('permissions.v2.step_completed'));
  });

  it('RS-2 every condition must hold: hard steps failed → no restart, FAILED', async () => {
    const w = new World({ permissions: { ...DEMO, accessibility: { status: 'denied' } } as never });
    expect(await w.settle()).toBe('FAILED');
    expect(w.executions).toEqual([]);
    expect((w.eventsOf('permissions.v2.decision')[0] as never as { blockedBy: string[] }).blockedBy).toEqual(['hard_step_failed']);
  });

  it('RS-2 require_needs_restart: nothing that needs a restart → no restart, COMPLETED', async () => {
    const w = new World({
      permissions: { microphone: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 100 } } },
      settings: testSettings({ restart: { ...testSettings().restart, requireNeedsRestart: true } }),
    });
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
  });

  it('RS-2 the kill switch NEXY_KS_FIRST_RUN_RESTART blocks the restart (and is read per launch)', async () => {
    const w = world({ killSwitch: true });
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
    expect(rejections(w)).toEqual(['kill_switch']);
  });

  it('RS-3 restart_count goes 0 → 1 once; later launches never restart again', async () => {
    const w = world();
    expect(await w.settle()).toBe('COMPLETED');
    for (let i = 0; i < 3; i++) {
      w.tcc['state'].set('microphone', { status: 'denied', onSettings: { result: 'granted', afterMs: 100 } });
      expect(await w.settle()).toBe('COMPLETED');
    }
    expect(w.executions).toHaveLength(1);
    expect(w.eventsOf('restart.count_changed')).toHaveLength(1);
    expect(rejections(w)).toEqual(['budget_spent', 'budget_spent', 'budget_spent']);
  });

  it('RS-3 the 0 → 1 commit is durable before the successor starts', async () => {
    const w = world();
    await w.settle();
    expect(w.executions).toEqual([{ bootId: 'boot-1', requestId: 'boot-1:1', committedCount: 1 }]);
  });

  it('RS-4 a quit in the delay window cancels the restart; the count is not spent', async () => {
    const w = world();
    const service = await untilArmed(w);
    service.quit();
    const result = await service.whenSettled();
    expect(result.outcome).toBe('quit');
    await w.run(10_000);
    await w.exit();
    expect(w.executions).toEqual([]);
    expect(w.eventsOf('restart.cancelled')).toHaveLength(1);
    expect(result.restartCount).toBe(0);
    // The next launch is a new process: it verifies, and does not restart.
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
  });

  it('RS-4 a quit during the pipeline → the app exits and nothing is relaunched', async () => {
    const w = world();
    const service = w.launch();
    await w.run(300);
    service.quit();
    expect((await service.whenSettled()).outcome).toBe('quit');
    await w.run(60_000);
    expect(w.executions).toEqual([]);
    expect(rejections(w)).toEqual(['user_quit']);
    await w.exit();
  });

  it('RS-5 a legacy restart request is rejected and journaled, at any time', async () => {
    const w = world();
    const service = w.launch();
    service.requestLegacyRestart();
    await w.run(500);
    service.requestLegacyRestart();
    await w.settle();
    expect(rejections(w)).toEqual(['legacy_source', 'legacy_source']);
    expect(w.executions).toHaveLength(1);
  });

  it('RS-5 a restart request restored from a dead process is not executed by the next one', async () => {
    const w = world();
    await untilArmed(w);
    w.crash();
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toEqual([]);
    expect(rejections(w)).toEqual(['restored_request']);
  });

  it('RS-6 dry run (NEXY_DISABLE_AUTO_RESTART): everything runs, the decision is journaled, nothing executes', async () => {
    const w = world({ dryRun: true });
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.eventsOf('permissions.v2.decision')).toHaveLength(1);
    expect(rejections(w)).toEqual(['dry_run']);
    expect(w.executions).toEqual([]);
  });

  it('RS-7 no successor within the hand-off: verify in place, complete with restart_unverified, never retry', async () => {
    const w = world({}, {
      successor: 'never',
      permissions: { ...DEMO, screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 300 } } } as never,
    });
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.eventsOf('permissions.v2.phase').map((e) => (e as never as { phase: string }).phase)).toContain('POST_RESTART_VERIFY');
    expect(w.executions).toHaveLength(1);
    const completed = w.eventsOf('permissions.first_run_completed')[0] as never as { warnings: string[] };
    expect(completed.warnings).toEqual(['restart_unverified']);
    expect(w.eventsOf('restart.failed')).toHaveLength(1);
    expect(await w.settle()).toBe('COMPLETED');
    expect(w.executions).toHaveLength(1);
  });

  it('RS-9 POST_RESTART_VERIFY requests what is still missing, then FAILED when a hard step stays missing', async () => {
    const w = new World({
      permissions: { ...DEMO, screen_capture: { status: 'not_determined', onRequest: { result: 'none', afterMs: 0 } } } as never,
    });
    expect(await w.settle()).toBe('FAILED');
    expect(w.executions).toHaveLength(1);
    const verifySteps = w.eventsOf('permissions.v2.step_started').filter((e) => e.boot === 2);
    expect(verifySteps.map((e) => (e as never as { permission: string }).permission)).toEqual(['screen_capture']);
  });
});
