/**
 * HE-9 the machine, not its name: a lock holder is "on this machine" by a stable machine identity and a
 * boot identity (src/lock/machine-identity.ts), never by `os.hostname()`, which changes under a running
 * app. A rename never strands a dead holder's lock; a holder from an earlier boot is dead; a holder on
 * another machine is still never judged.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireInstanceLock, getLockStatus, tryAcquireInstanceLock } from '../../src/lock/index.js';
import { fnv1a48, newToken, parseOwner, serializeOwner, startKey, type LockOwnerV3 } from '../../src/lock/lock-record.js';
import { machineIdentity, parseIoregPlatformUuid, readMachineIdentity, type MachineIdentityIO } from '../../src/lock/machine-identity.js';
import { probeProcess } from '../../src/lock/process-identity.js';
import { ALL_GRANTED, allWritersGone, assertBuilt, endsWithin, journal, launch, ledgerPhase, sandbox, sleeper, killSleepers, waitFor } from '../support/processes.js';
import { cleanupAll, tempDir } from './helpers.js';

afterAll(async () => {
  killSleepers();
  await cleanupAll();
});

const RENAMED_HOST = path.resolve(import.meta.dirname, 'fixtures/renamed-host.cjs');

function plantLink(stateDir: string, target: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  symlinkSync(target, path.join(stateDir, 'instance.lock'));
}

function v3(overrides: Partial<LockOwnerV3>): LockOwnerV3 {
  const { machine, boot } = machineIdentity();
  return { version: 3, pid: process.pid, host: `machine ${machine}`, startedAt: null, startId: null, token: newToken(), acquiredAt: new Date().toISOString(), machine, boot, ...overrides };
}

describe('HE-9 a holder killed under an old host name', () => {
  it('should be taken over by the next launch on the same machine (a rename never strands its lock)', async () => {
    assertBuilt();
    const box = sandbox(ALL_GRANTED);
    // The holder runs while the Mac is called MacBook-Pro.local …
    const holder = launch(box, ['--stay'], { NODE_OPTIONS: `--require ${RENAMED_HOST}`, FAKE_HOSTNAME: 'MacBook-Pro.local' });
    await waitFor('the holder to settle and stay', () => journal(box).some((e) => e.pid === holder.child.pid && e.type === 'permissions.first_run_completed'));
    holder.child.kill('SIGKILL');
    await holder.exited;
    // … and the next launch starts after the rename to MacBook-Pro-2.local.
    const next = await endsWithin(launch(box, [], { NODE_OPTIONS: `--require ${RENAMED_HOST}`, FAKE_HOSTNAME: 'MacBook-Pro-2.local' }), 30_000);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 0 });
    expect(journal(box).filter((e) => e.type === 'instance.lock_acquired').map((e) => e.pid)).toEqual([holder.child.pid, next.stdout && JSON.parse(next.stdout.trim()).pid]);
  }, 60_000);

  it('should still respect a live holder of this machine whatever name it started under', async () => {
    const box = sandbox(ALL_GRANTED);
    const holder = launch(box, ['--stay'], { NODE_OPTIONS: `--require ${RENAMED_HOST}`, FAKE_HOSTNAME: 'MacBook-Pro.local' });
    try {
      await waitFor('the holder to settle and stay', () => journal(box).some((e) => e.pid === holder.child.pid && e.type === 'permissions.first_run_completed'));
      const next = await endsWithin(launch(box), 30_000);
      expect(next.code).toBe(3);
      expect(next.stdout).toContain(String(holder.child.pid));
    } finally {
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
  }, 60_000);
});

describe('HE-9 judging a version-3 record', () => {
  it('should judge a holder of this machine from an earlier boot dead, even when its PID is alive (it is another process now)', async () => {
    const other = sleeper();
    const stateDir = path.join(tempDir(), 'state');
    // Its recorded start is not the live process's: the PID is another process's now.
    plantLink(stateDir, serializeOwner(v3({ pid: other.pid!, boot: fnv1a48('an earlier boot'), startId: startKey('another start') })));
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: true, reason: 'earlier-boot' });
    const handle = await acquireInstanceLock({ stateDir });
    handle.releaseSync();
  });

  it('should keep a holder from another boot tag whose live PID has no start to check (never guess dead)', () => {
    const other = sleeper();
    const stateDir = path.join(tempDir(), 'state');
    plantLink(stateDir, serializeOwner(v3({ pid: other.pid!, boot: fnv1a48('a moved boot'), startId: null })));
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: false, reason: 'held-unverified' });
  });

  it('should keep a holder from another boot tag that is alive with its recorded start identity (a boot tag moved with the clock)', () => {
    const other = sleeper();
    const stateDir = path.join(tempDir(), 'state');
    plantLink(stateDir, serializeOwner(v3({ pid: other.pid!, boot: fnv1a48('a moved boot'), startId: startKey(probeProcess(other.pid!).startId!) })));
    expect(getLockStatus({ stateDir })).toMatchObject({ stale: false, reason: 'held' });
  });

  it('should never judge a holder on another machine, even with a dead PID', async () => {
    const stateDir = path.join(tempDir(), 'state');
    plantLink(stateDir, serializeOwner(v3({ pid: 999_999, machine: fnv1a48('another machine'), boot: fnv1a48('its boot') })));
    const status = getLockStatus({ stateDir });
    expect(status).toMatchObject({ stale: false, reason: 'foreign-host' });
    expect(status.holder?.host).toBe(`machine ${fnv1a48('another machine')}`);
    const result = await tryAcquireInstanceLock({ stateDir });
    expect(result.acquired).toBe(false);
    await expect(acquireInstanceLock({ stateDir })).rejects.toThrow(`pid 999999 on machine ${fnv1a48('another machine')}`);
  });

  it('should judge a dead holder of this machine and boot stale, and show this host name for it', () => {
    const stateDir = path.join(tempDir(), 'state');
    plantLink(stateDir, serializeOwner(v3({ pid: 999_999 })));
    expect(getLockStatus({ stateDir })).toMatchObject({ stale: true, reason: 'dead-pid', holder: { host: hostname() } });
  });

  it('should write a record that fits a fast symlink with a 7-digit PID and parses back as written', () => {
    const owner = v3({ pid: 4_194_304, startId: startKey('linux:boot:1') });
    const text = serializeOwner(owner);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(59);
    expect(text).toMatch(/^3 4194304 [A-Za-z0-9_-]{12} [A-Za-z0-9_-]{8} [0-9a-z]+ [A-Za-z0-9_-]{8} ([A-Za-z0-9_-]{8}|-)$/);
    expect(parseOwner(text)).toEqual({ ...owner, acquiredAt: new Date(Math.trunc(Date.parse(owner.acquiredAt))).toISOString() });
    expect(parseOwner(serializeOwner({ ...owner, boot: null }))).toMatchObject({ version: 3, boot: null });
  });

  it.each([
    ['a bad machine tag', (t: string) => t.replace(/ (\S{8}) (\S+)$/, ' bad! $2')],
    ['a missing boot field', (t: string) => t.replace(/ \S+$/, '')],
    ['an extra field', (t: string) => `${t} x`],
  ])('should read %s as no owner record', (_what, damage) => {
    expect(parseOwner(damage(serializeOwner(v3({}))))).toBeNull();
  });
});

describe('HE-9 reading the machine identity', () => {
  const io = (overrides: Partial<MachineIdentityIO>): MachineIdentityIO => ({
    platform: 'linux',
    readSmallFile: (file) => ({ '/etc/machine-id': `${'a'.repeat(32)}\n` })[file] ?? null,
    linuxBootId: () => 'boot-1',
    readLink: () => 'pid:[4026531836]',
    runIoreg: () => null,
    bootSeconds: () => null,
    hostname: () => 'vm',
    cache: null,
    ...overrides,
  });

  it('should name a Linux machine by its machine-id and PID namespace, never by its host name', () => {
    const base = readMachineIdentity(io({}));
    expect(base).toMatchObject({ source: 'machine-id', boot: fnv1a48('boot-1') });
    expect(readMachineIdentity(io({ hostname: () => 'renamed' })).machine).toBe(base.machine);
    expect(readMachineIdentity(io({ readLink: () => 'pid:[4026532999]' })).machine, 'a container with its own PID namespace').not.toBe(base.machine);
    expect(readMachineIdentity(io({ readSmallFile: (f) => (f === '/var/lib/dbus/machine-id' ? 'a'.repeat(32) : null) })).machine).toBe(base.machine);
  });

  it('should fall back to the host name where no machine identity can be read', () => {
    const fallback = readMachineIdentity(io({ readSmallFile: () => null, linuxBootId: () => null }));
    expect(fallback).toEqual({ machine: fnv1a48('host:vm'), boot: null, source: 'hostname' });
    expect(readMachineIdentity(io({ readSmallFile: (f) => (f === '/etc/machine-id' ? 'not a machine id' : null) })).source).toBe('hostname');
  });

  it('should read the macOS platform UUID once per boot through the per-user cache', () => {
    let ioregRuns = 0;
    let cached: string | null = null;
    const mac = io({
      platform: 'darwin',
      bootSeconds: () => 1_765_000_000,
      runIoreg: () => {
        ioregRuns++;
        return '+-o J314sAP  <class IOPlatformExpertDevice>\n    {\n      "IOPlatformUUID" = "0a1b2c3d-4E5F-6789-ABCD-EF0123456789"\n    }\n';
      },
      cache: { read: () => cached, write: (text) => void (cached = text) },
    });
    const first = readMachineIdentity(mac);
    expect(first).toEqual({ machine: fnv1a48('platform-uuid:0A1B2C3D-4E5F-6789-ABCD-EF0123456789'), boot: fnv1a48('1765000000'), source: 'platform-uuid' });
    expect(readMachineIdentity(mac)).toEqual(first);
    expect(ioregRuns).toBe(1);
    cached = '1764000000 0A1B2C3D-4E5F-6789-ABCD-EF0123456789'; // written in an earlier boot: asked again
    readMachineIdentity(mac);
    expect(ioregRuns).toBe(2);
    expect(readMachineIdentity({ ...mac, runIoreg: () => null, cache: null }).source).toBe('hostname');
  });

  it('should parse IOPlatformUUID out of ioreg output, and nothing else', () => {
    expect(parseIoregPlatformUuid('"IOPlatformUUID" = "0A1B2C3D-4E5F-6789-ABCD-EF0123456789"')).toBe('0A1B2C3D-4E5F-6789-ABCD-EF0123456789');
    expect(parseIoregPlatformUuid('"IOPlatformSerialNumber" = "C02XXXX"')).toBeNull();
  });

  it('should read the identity once per process', () => {
    expect(machineIdentity()).toBe(machineIdentity());
  });
});
