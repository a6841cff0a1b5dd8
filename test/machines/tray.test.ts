import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { TRAY_COLORS, trayMachine } from '../../machines/tray.machine.js';
import { TRAY_STATUSES } from '../../machines/types.js';
import { World } from '../support/world.js';

function tray() {
  const published: { status: string; color: string; overlay: string | null }[] = [];
  const actor = createActor(
    trayMachine.provide({ actions: { publish: (_, p) => published.push(p.payload as never) } }),
    { input: { mode: 'LISTENING' } },
  );
  actor.start();
  return { actor, published };
}

describe('tray (TR)', () => {
  it('TR-1 exactly three statuses with their colours', () => {
    expect(Object.keys(TRAY_COLORS).sort()).toEqual([...TRAY_STATUSES].sort());
    expect(TRAY_COLORS).toEqual({ SLEEPING: '#808080', LISTENING: '#007AFF', PROCESSING: '#FF9500' });
    const { actor, published } = tray();
    for (const mode of ['PROCESSING', 'SLEEPING', 'LISTENING'] as const) actor.send({ type: 'app.mode_changed', mode });
    expect(published.map((p) => [p.status, p.color])).toEqual([
      ['LISTENING', '#007AFF'],
      ['PROCESSING', '#FF9500'],
      ['SLEEPING', '#808080'],
      ['LISTENING', '#007AFF'],
    ]);
  });

  it('TR-2 during first-run a lock badge is drawn over the status, not a fourth mode', () => {
    const { actor, published } = tray();
    actor.send({ type: 'permissions.first_run_started' });
    actor.send({ type: 'app.mode_changed', mode: 'PROCESSING' });
    const last = published.at(-1)!;
    expect(last.overlay).toBe('lock');
    // The red lock of the seed (issue 13.11: the colour itself is asserted, not only the badge).
    expect(last).toMatchObject({ overlay_color: '#FF3B30' });
    expect(TRAY_STATUSES).toContain(last.status);
  });

  it.each(['permissions.first_run_completed', 'permissions.first_run_failed'] as const)(
    'TR-3 on %s the badge goes and the status follows the current mode again',
    (type) => {
      const { actor, published } = tray();
      actor.send({ type: 'permissions.first_run_started' });
      actor.send({ type: 'app.mode_changed', mode: 'PROCESSING' });
      actor.send({ type });
      expect(published.at(-1)).toMatchObject({ status: 'PROCESSING', color: '#FF9500', overlay: null, overlay_color: null });
    },
  );

  it('TR-2 the badge survives a persist → JSON → restore, and the new process draws it again', () => {
    const { actor } = tray();
    actor.send({ type: 'permissions.first_run_started' });
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const published: { overlay: string | null }[] = [];
    const restored = createActor(
      trayMachine.provide({ actions: { publish: (_, p) => published.push(p.payload as never) } }),
      { snapshot: persisted, input: {} },
    );
    restored.start();
    restored.send({ type: 'runtime.booted', bootId: 'b2', pid: 2, at: 0 });
    expect(published).toEqual([expect.objectContaining({ overlay: 'lock' })]);
  });

  it('TR-3 across a whole first run: lock during, mode after; tray.status_updated only with the three statuses', async () => {
    const world = new World({
      permissions: { microphone: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 100 } } },
    });
    await world.settle();
    const updates = world.eventsOf('tray.status_updated') as never as { status: string; overlay: string | null; boot: number }[];
    for (const update of updates) expect(TRAY_STATUSES).toContain(update.status);
    expect(updates.some((u) => u.overlay === 'lock')).toBe(true);
    expect(updates.at(-1)!.overlay).toBeNull();
  });
});
