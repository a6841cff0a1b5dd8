/**
 * The service's host API for issue 13.3 (restart safety) and its wait bounds (issue 10.10).
 */
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../src/errors.js';
import { boundedWait, commitKey, createFirstRunService } from '../../src/service/create-first-run-service.js';
import { testSettings } from '../support/settings.js';
import { DEMO_PERMISSIONS } from '../support/scenarios.js';
import { World } from '../support/world.js';

describe('FirstRunService.setBusy (RS-10)', () => {
  it('should apply a busy said before start(), after runtime.booted (which starts every process idle)', async () => {
    const w = new World({ permissions: DEMO_PERMISSIONS as never });
    const service = createFirstRunService({ settings: testSettings(), backend: w.tcc.view(), clock: w.clock, relauncher: { relaunch: async () => ({ newPid: 2 }) } });
    const deferred: unknown[] = [];
    service.on('restart.deferred', (e) => deferred.push(e));
    service.setBusy(true);
    service.start();
    for (let i = 0; i < 400 && deferred.length === 0; i++) await w.run(250);
    expect(deferred).toHaveLength(1);
    expect(service.gateResult).toEqual({ kind: 'none' });
    await service.stop();
  });

  it('should defer when the host says busy while the run goes on', async () => {
    const w = new World({ permissions: DEMO_PERMISSIONS as never });
    const service = w.launch();
    service.setBusy(true);
    for (let i = 0; i < 400 && w.eventsOf('restart.deferred').length === 0; i++) await w.run(250);
    expect(w.eventsOf('restart.deferred')).toHaveLength(1);
    expect(w.executions).toEqual([]);
    await w.exit();
  });

  it('should refuse anything but a boolean', () => {
    const w = new World({ permissions: {} });
    const service = w.launch();
    expect(() => service.setBusy('yes' as never)).toThrow(ServiceError);
    expect(() => service.setBusy('yes' as never)).toThrow(/Expected `busy` to be true or false, got "yes"/);
  });
});

describe('wait bounds (issue 10.10)', () => {
  it.each([
    [Number.NaN, undefined, 0],
    [-5, undefined, 0],
    [1500, undefined, 1500],
    [600_000, 3_000, 3_000],
    [1e15, undefined, 2 ** 31 - 1],
  ])('boundedWait(%s, max %s) → %s', (ms, max, expected) => {
    expect(boundedWait(ms, max)).toBe(expected);
  });
});

describe('commitKey: what makes a snapshot worth a commit', () => {
  const snapshot = (leaf: string, children: unknown) => ({
    value: { PIPELINE: 'step' },
    context: { a: 1 },
    children: { step: { snapshot: { value: { running: leaf }, context: { status: 'denied' }, children } }, tray: { snapshot: { value: 'firstRun' } } },
  });

  it('should ignore where a running step is inside its polling loop', () => {
    expect(commitKey(snapshot('pollWait', { wait: 1 }))).toBe(commitKey(snapshot('pollRead', { readStatus: 2 })));
  });

  it('should see any other change', () => {
    const a = snapshot('pollWait', {});
    const b = structuredClone(a);
    b.children.step.snapshot.context.status = 'granted';
    expect(commitKey(a)).not.toBe(commitKey(b));
    expect(commitKey({ ...a, value: 'DECISION' })).not.toBe(commitKey(a));
  });

  it("should follow the ledger's rule (its durable projection), not a second one", () => {
    // Per-process fields (a new boot id) and a precheck add nothing a later launch needs: the ledger skips
    // them, so the service does not hand them to persist.
    const a = snapshot('pollWait', {}) as ReturnType<typeof snapshot> & { context: Record<string, unknown> };
    expect(commitKey({ ...a, context: { ...a.context, bootId: 'boot-1' } })).toBe(commitKey({ ...a, context: { ...a.context, bootId: 'boot-2' } }));
    expect(commitKey({ ...a, value: 'PRECHECK', context: { x: 1 } })).toBe(commitKey({ ...a, value: 'PRECHECK', context: { x: 2 } }));
    // The restart count always counts, whatever the projection says.
    const gate = (count: number) => ({ ...a, value: 'PRECHECK', children: { ...a.children, relaunchGate: { snapshot: { context: { restartCount: count } } } } });
    expect(commitKey(gate(1))).not.toBe(commitKey(gate(0)));
  });
});
