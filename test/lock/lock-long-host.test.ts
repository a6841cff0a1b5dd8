/**
 * A machine whose host name does not fit a version-2 record as it is (`os.hostname()` mocked to 64
 * characters): its records carry a prefix and the hash of the whole name, stay within a fast symlink,
 * and are judged as this host's; a host with the same prefix and another name is foreign.
 */
import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { acquireInstanceLock, getLockStatus, parseOwner, probeProcess } from '../../src/lock/index.js';
import { FAST_SYMLINK_MAX, hostLabel, newToken, serializeOwner, startKey } from '../../src/lock/lock-record.js';
import { cleanupAll, tempDir } from './helpers.js';

const LONG_HOST = vi.hoisted(() => `${'mac-studio-'.repeat(5)}office.corp`); // 66 characters

vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  return { ...os, hostname: () => LONG_HOST, default: { ...os, hostname: () => LONG_HOST } };
});

afterEach(cleanupAll);

function plantLink(stateDir: string, target: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  symlinkSync(target, path.join(stateDir, 'instance.lock'));
}

describe('a host name longer than a record keeps', () => {
  it('LK-3 our record fits a fast symlink, names the machine (not the long host name), and is judged ours; status shows the name', async () => {
    const stateDir = path.join(tempDir(), 'state');
    const handle = await acquireInstanceLock({ stateDir });
    try {
      const text = readlinkSync(path.join(stateDir, 'instance.lock'));
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(FAST_SYMLINK_MAX);
      expect(parseOwner(text)?.version).toBe(3);
      expect(text).not.toContain('mac-studi');
      expect(hostLabel(LONG_HOST)).toMatch(/^mac-studi~[A-Za-z0-9_-]{8}$/);
      expect(getLockStatus({ stateDir })).toMatchObject({ stale: false, reason: 'held-by-this-process' });
      expect(getLockStatus({ stateDir }).description).toContain(LONG_HOST);
    } finally {
      handle.releaseSync();
    }
  });

  it('LK-2 a host with the same prefix but another name is foreign; a version-1 record with the full name is ours', () => {
    const twin = `${LONG_HOST.slice(0, -1)}x`;
    const foreign = path.join(tempDir(), 'state');
    const record = { version: 2 as const, pid: process.pid, host: hostLabel(twin), startedAt: null, startId: startKey('linux:another-boot:1'), token: newToken(), acquiredAt: new Date().toISOString() };
    plantLink(foreign, serializeOwner(record));
    expect(getLockStatus({ stateDir: foreign })).toMatchObject({ stale: false, reason: 'foreign-host' });
    const ours = path.join(tempDir(), 'state');
    plantLink(ours, serializeOwner({ ...record, host: hostLabel(LONG_HOST) }));
    expect(getLockStatus({ stateDir: ours })).toMatchObject({ stale: true, reason: 'recycled-pid' });
    const v1 = path.join(tempDir(), 'state');
    plantLink(v1, JSON.stringify({ version: 1, pid: process.pid, host: LONG_HOST, startedAt: null, startId: probeProcess(process.pid).startId, token: 'aaaaaaaa-0000-0000-0000-000000000000', acquiredAt: new Date().toISOString() }));
    expect(getLockStatus({ stateDir: v1 })).toMatchObject({ stale: false, reason: 'held-by-this-process' });
  });
});
