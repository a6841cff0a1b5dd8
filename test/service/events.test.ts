import { describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { ServiceError } from '../../src/errors.js';

describe('event contract (EV)', () => {
  it('EV-1 inputs: tray.quit_clicked and app.mode_changed reach their actors', async () => {
    const world = new World({ permissions: { microphone: { status: 'not_determined' } } });
    const service = world.launch();
    service.setAppMode('LISTENING');
    await world.run(100);
    service.quit();
    await world.run(100);
    expect(world.eventsOf('app.quit_intent')).toHaveLength(1);
    await world.exit();
  });

  it('EV-2/EV-3 every event has {ts, pid, type} and payload keys never overwrite them', async () => {
    const world = new World({ permissions: { microphone: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 10 } } } });
    await world.settle();
    for (const event of world.events) {
      expect(typeof event.ts).toBe('string');
      expect(Number.isNaN(Date.parse(event.ts))).toBe(false);
      expect(event.pid).toBe(1000 + event.boot);
    }
    const types = new Set(world.events.map((e) => e.type));
    for (const type of [
      'permissions.first_run_started',
      'permissions.status_checked',
      'permissions.changed',
      'permissions.v2.phase',
      'permissions.v2.decision',
      'restart.requested',
      'restart.executed',
      'permissions.first_run_completed',
      'tray.status_updated',
    ]) {
      expect(types).toContain(type);
    }
  });

  it('EV-3 typed subscription to one type, and unsubscribe', async () => {
    const world = new World({ permissions: {} });
    const service = world.launch();
    const phases: string[] = [];
    const off = service.on('permissions.v2.phase', (event) => phases.push(event.phase));
    await world.run(100);
    off();
    await world.exit();
    expect(phases).toEqual(['COMPLETED']);
  });

  it('a service is started once; quit needs a started service', async () => {
    const world = new World({ permissions: {} });
    const service = world.launch();
    expect(() => service.start()).toThrow(ServiceError);
    await world.exit();
    expect(() => service.quit()).toThrow(/started service/);
  });

  it('a listener that throws does not break the run', async () => {
    const world = new World({ permissions: {} });
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onError);
    try {
      const service = world.launch();
      service.on('*', () => {
        throw new Error('host bug');
      });
      service.setAppMode('PROCESSING');
      await world.run(100);
      expect(service.phase).toBe('COMPLETED');
    } finally {
      process.off('uncaughtException', onError);
    }
    await world.exit();
  });
});
