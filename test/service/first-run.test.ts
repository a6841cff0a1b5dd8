import { describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { testSettings } from '../support/settings.js';

describe('a simulated first run', () => {
  it('restarts once and completes after POST_RESTART_VERIFY', async () => {
    const world = new World({
      permissions: {
        microphone: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 200 } },
        accessibility: { status: 'denied', onSettings: { result: 'granted', afterMs: 500 } },
        input_monitoring: { status: 'granted' },
        screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 300, afterRestart: true } },
      },
    });
    const phase = await world.settle().finally(() => console.log(world.events.map((e) => `${e.boot} ${e.type} ${JSON.stringify({ ...e, ts: undefined, pid: undefined, type: undefined, boot: undefined })}`).join('\n')));
    expect(phase).toBe('COMPLETED');
    expect(world.executions).toHaveLength(1);
    expect(world.eventsOf('restart.executed')).toHaveLength(1);
    console.log(world.events.map((e) => `${e.boot} ${e.type} ${JSON.stringify({ ...e, ts: undefined, pid: undefined, type: undefined, boot: undefined })}`).join('\n'));
  });
});
