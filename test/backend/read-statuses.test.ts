/** `readEveryStatus` (the precheck's read, shared by the service and the warm launch) and the sim's one-read batch. */
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEveryStatus, type PermissionBackend } from '../../src/backend/permission-backend.js';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { tempDir } from '../support/temp-dir.js';

const ORDER = ['microphone', 'accessibility', 'input_monitoring', 'screen_capture'] as const;

function simFile(permissions: Record<string, unknown>): string {
  const file = path.join(tempDir('read-statuses-'), 'tcc.json');
  writeFileSync(file, JSON.stringify({ permissions }));
  return file;
}

describe('readEveryStatus', () => {
  it('one by one: a read that throws is kept as its message, the others are still read', async () => {
    const backend: PermissionBackend = {
      name: 'fake',
      getStatus: async (p) => {
        if (p === 'accessibility') throw new Error('TCC unavailable');
        return 'granted';
      },
      activate: async () => {},
      openSettings: async () => {},
    };
    const reading = await readEveryStatus(backend, [...ORDER], () => 7);
    expect(reading).toEqual({
      statuses: { microphone: 'granted', input_monitoring: 'granted', screen_capture: 'granted' },
      errors: { accessibility: 'TCC unavailable' },
      at: 7,
    });
  });

  it('the sim reads its database once for all of them, with the same answers as one by one', async () => {
    const file = simFile({ microphone: { status: 'granted' }, accessibility: { status: 'denied' }, screen_capture: { status: 'restricted' } });
    const backend = createSimBackend({ file });
    const batch = await readEveryStatus(backend, [...ORDER], () => 0);
    const single = { statuses: {} as Record<string, string>, errors: {}, at: 0 };
    for (const p of ORDER) single.statuses[p] = await backend.getStatus(p);
    expect(batch).toEqual(single);
    expect(batch.statuses).toMatchObject({ microphone: 'granted', accessibility: 'denied', screen_capture: 'restricted' });
    await backend.close();
  });

  it('a batch that fails fails every permission, with the reason', async () => {
    const file = simFile({ microphone: { status: 'granted' } });
    const backend = createSimBackend({ file });
    rmSync(file);
    const reading = await readEveryStatus(backend, [...ORDER], () => 0);
    expect(reading.statuses).toEqual({});
    expect(Object.keys(reading.errors)).toEqual([...ORDER]);
    expect(reading.errors.microphone).toMatch(/tcc\.json/);
    await backend.close();
  });
});
