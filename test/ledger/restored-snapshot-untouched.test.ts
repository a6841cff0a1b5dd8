/**
 * The ledger store keeps the snapshot it loaded and works out its durable key only at the first commit
 * (src/ledger/ledger-store.ts), trusting that nothing writes to that object meanwhile. The runtime hands
 * it to XState to restore: this checks that restoring and running never writes to it — every ledger of
 * a first run with a restart, deep-frozen (a write to a frozen object throws in strict mode, and the
 * actor would end in error).
 */
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../machines/types.js';
import { ManualClock } from '../../src/clock.js';
import { createFirstRunService } from '../../src/service/create-first-run-service.js';
import { flush, World } from '../support/world.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('a restored snapshot', () => {
  it('is never written to by the machines that restore and run it', async () => {
    const world = new World({
      permissions: {
        ...Object.fromEntries(PERMISSIONS.map((p) => [p, { status: 'granted' as const }])),
        screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 100, afterRestart: true } },
      },
    });
    await world.settle();
    await world.settle();
    expect(world.ledger.length).toBeGreaterThan(3);
    for (const [index, entry] of world.ledger.entries()) {
      const snapshot = deepFreeze(structuredClone(entry.snapshot));
      const service = createFirstRunService({ settings: world.settings, backend: world.tcc.view(), clock: new ManualClock(), bootId: `check-${index}`, snapshot });
      const errors: unknown[] = [];
      service.on('service.error', (event) => errors.push(event));
      service.start();
      await flush();
      expect(service.actor.getSnapshot().status, `ledger entry ${index} (${entry.phase})`).not.toBe('error');
      expect(errors, `ledger entry ${index} (${entry.phase})`).toEqual([]);
      service.actor.stop();
    }
  });
});
