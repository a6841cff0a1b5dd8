/**
 * A step whose first status reads fail (MACOS-NOTES: TCC calls that throw, or settle late) still asks
 * once a read succeeds: the status was unknown, so nothing was decided from it yet. Before, the step
 * went to its polling loop on the unknown status and never came back to route: it never prompted, never
 * opened System Settings, and ran out its timebox.
 */
import { describe, expect, it } from 'vitest';
import type { PermissionName } from '../../machines/types.js';
import { testSettings } from '../support/settings.js';
import { World } from '../support/world.js';

describe('a step that could not read its status at first', () => {
  it.each([
    ['microphone', 'not_determined', 'prompts'],
    ['accessibility', 'denied', 'opens System Settings'],
  ] as const)('%s reading %s once the reads work: %s', async (permission, status, _what) => {
    const settings = testSettings({ order: [permission] }, { timeoutMs: 60_000, pollIntervalMs: 1_000 });
    const world = new World({ permissions: { [permission]: { status, onRequest: { result: 'granted', afterMs: 500 }, onSettings: { result: 'granted', afterMs: 500 } } }, settings });
    const view = world.tcc.view();
    let failures = 3; // the precheck's read and the step's first read, then one poll
    const backend = {
      ...view,
      getStatus: async (name: PermissionName) => {
        if (name === permission && failures > 0) {
          failures -= 1;
          throw new Error('TCC did not answer');
        }
        return view.getStatus(name);
      },
    };
    world.launch({ backend });
    await world.run(20_000);
    const asked = permission === 'microphone' ? world.tcc.activations : world.tcc.settingsOpened;
    expect(asked.map((entry) => entry.permission)).toEqual([permission]);
    const completed = world.eventsOf('permissions.v2.step_completed').map((e) => (e as unknown as { outcome: string }).outcome);
    expect(completed).toEqual(['granted']);
    await world.exit();
  });
});
