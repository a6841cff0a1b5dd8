/**
 * The owner record's text (version 2: one line of at most 59 bytes, an ext4 fast symlink; version 1:
 * the JSON of earlier versions), and how locks carrying either are judged.
 */
import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireInstanceLock, getLockStatus, parseOwner, probeProcess, type InstanceLockHandle, type LockOwner } from '../../src/lock/index.js';
import { ownerForThisProcess } from '../../src/lock/lock-owner.js';
import { machineIdentity } from '../../src/lock/machine-identity.js';
import { FAST_SYMLINK_MAX, HOST_LITERAL_MAX, fnv1a48, hostLabel, newToken, serializeOwner, startKey, type LockOwnerV2 } from '../../src/lock/lock-record.js';
import { cleanupAll, killHard, startHolder, tempDir } from './helpers.js';

const handles: InstanceLockHandle[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) handle.releaseSync();
  await cleanupAll();
});

/** The reference: 64-bit FNV-1a over the UTF-8 bytes in BigInt, xor-folded to 48 bits, base64url. */
function referenceFnv1a48(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  const folded = (h >> 48n) ^ (h & 0xffffffffffffn);
  return Buffer.from(folded.toString(16).padStart(12, '0'), 'hex').toString('base64url');
}

const LINUX_START = 'linux:0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a:123456789';
const LONG_HOST = `${'build-agent-'.repeat(5)}lab.ex`; // 66 characters, longer than any host name
const NOW = Date.UTC(2031, 4, 6, 7, 8, 9, 123);

function v2Owner(overrides: Partial<LockOwnerV2> = {}): LockOwnerV2 {
  return { version: 2, pid: 4_194_304, host: hostLabel('vm'), startedAt: null, startId: startKey(LINUX_START), token: newToken(), acquiredAt: new Date(NOW).toISOString(), ...overrides };
}

function plantLink(stateDir: string, target: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  symlinkSync(target, path.join(stateDir, 'instance.lock'));
}

describe('the owner record, version 2', () => {
  it('LK-3 hashes start identities and host names with FNV-1a (64-bit, folded to 48) without BigInt', () => {
    for (const text of ['', 'a', 'vm', LINUX_START, 'darwin:Tue Feb 20 10:11:12 2024', LONG_HOST, 'höst-ünïcode']) {
      expect(fnv1a48(text)).toBe(referenceFnv1a48(text));
    }
    expect(BigInt.asUintN(64, (0xcbf29ce484222325n ^ 0x61n) * 0x100000001b3n)).toBe(0xaf63dc4c8601ec8cn); // the published vector for "a"
    expect(fnv1a48(LINUX_START)).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(fnv1a48('linux:boot:100')).not.toBe(fnv1a48('linux:boot:101'));
  });

  it('LK-3 tokens are 12 random base64url characters, never the same twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newToken()));
    expect(tokens.size).toBe(1000);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it.each([
    ['a short host, a 7-digit pid', 'vm'],
    [`a host of ${HOST_LITERAL_MAX} characters`, 'a'.repeat(HOST_LITERAL_MAX)],
    ['a typical macOS host', 'Johns-MacBook-Pro.local'],
    ['a 64-character host', 'h'.repeat(64)],
    ['a longer host', LONG_HOST],
    ['a host with characters a record does not keep', 'Jöhn’s Mac mini'],
  ])('LK-3 a record is at most 59 bytes (a fast symlink): %s', (_name, host) => {
    const owner = v2Owner({ host: hostLabel(host) });
    const text = serializeOwner(owner);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(FAST_SYMLINK_MAX);
    expect(parseOwner(text)).toEqual(owner);
  });

  it('LK-3 a host name is kept when short, else abbreviated to a readable prefix and the hash of the whole name', () => {
    expect(hostLabel('vm')).toBe('vm');
    expect(hostLabel('Johns-MacBook-Pro.local')).toBe(`Johns-Mac~${fnv1a48('Johns-MacBook-Pro.local')}`);
    expect(hostLabel('Jöhn’s Mac mini')).toBe(`JhnsMacmi~${fnv1a48('Jöhn’s Mac mini')}`);
    expect(hostLabel('ö'.repeat(3))).toBe(`~${fnv1a48('ööö')}`);
    // Two long names with the same prefix are told apart by the hash.
    expect(hostLabel(`${LONG_HOST}1`)).not.toBe(hostLabel(`${LONG_HOST}2`));
    expect(hostLabel(`${LONG_HOST}1`).slice(0, 9)).toBe(hostLabel(`${LONG_HOST}2`).slice(0, 9));
  });

  it('LK-3 serialise → parse is the identity, with and without a start identity; the text reads as documented', () => {
    const owner = v2Owner({ pid: 48213, token: 'q3Xb9_LmT2aZ' });
    expect(serializeOwner(owner)).toBe(`2 48213 q3Xb9_LmT2aZ ${fnv1a48(LINUX_START)} ${NOW.toString(36)} vm`);
    expect(parseOwner(serializeOwner(owner))).toEqual(owner);
    const unknownStart = v2Owner({ startId: null });
    expect(serializeOwner(unknownStart)).toContain(` ${unknownStart.token} - `);
    expect(parseOwner(serializeOwner(unknownStart))).toEqual(unknownStart);
    const mine = ownerForThisProcess(newToken(), Date.now());
    expect(parseOwner(serializeOwner(mine))).toEqual(mine);
    const { machine, boot } = machineIdentity();
    expect(mine).toMatchObject({ version: 3, pid: process.pid, machine, boot, startedAt: null, startId: startKey(probeProcess(process.pid).startId!) });
  });

  it.each([
    ['too few fields', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)}`],
    ['too many fields', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm extra`],
    ['a double space', `2 123  q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a trailing space', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm `],
    ['pid 0', `2 0 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a negative pid', `2 -5 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a pid with a leading zero', `2 0123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a pid in hex', `2 0x7b q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a pid beyond 2^53', `2 ${2 ** 60} q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a token too short', `2 123 q3Xb9 ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a token with a slash', `2 123 q3Xb9/LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a token with a dot', `2 123 q3Xb9.LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a start hash of 7 characters', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x').slice(1)} ${NOW.toString(36)} vm`],
    ['an acquired time with a sign', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} -${NOW.toString(36)} vm`],
    ['an acquired time in upper case', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36).toUpperCase()} vm`],
    ['a host with other characters', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} höst`],
    ['a host abbreviation with a short hash', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} host~abc`],
    ['another version', `3 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm`],
    ['a newline', `2 123 q3Xb9_LmT2aZ ${fnv1a48('x')} ${NOW.toString(36)} vm\n`],
  ])('LK-3 a malformed record is no record: %s', (_name, text) => {
    expect(parseOwner(text)).toBeNull();
  });

  it('LK-3 version 1 records (JSON) are still read as they were', () => {
    const v1: LockOwner = { version: 1, pid: 4242, host: LONG_HOST, startedAt: '2020-01-01T00:00:00.000Z', startId: LINUX_START, token: 'aaaaaaaa-0000-0000-0000-000000000000', acquiredAt: '2020-01-01T00:00:01.000Z' };
    expect(parseOwner(JSON.stringify(v1))).toEqual(v1);
    expect(parseOwner(`\n ${JSON.stringify(v1)}`)).toEqual(v1);
    expect(parseOwner(JSON.stringify({ ...v1, version: 2 }))).toBeNull();
    expect(parseOwner(JSON.stringify({ ...v1, token: 'has space in it' }))).toBeNull();
  });
});

describe('locks carrying either version, judged', () => {
  it('LK-2 a version-1 lock (JSON link target) of a live holder is honoured; once the holder is dead it is taken over', async () => {
    const stateDir = path.join(tempDir(), 'state');
    const live = await startHolder(path.join(tempDir(), 'state'));
    const probe = probeProcess(live.pid);
    const v1 = { version: 1, pid: live.pid, host: hostname(), startedAt: probe.startedAt, startId: probe.startId, token: '11111111-2222-3333-4444-555555555555', acquiredAt: new Date().toISOString() };
    plantLink(stateDir, JSON.stringify(v1));
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: false, reason: 'held', holder: v1 });
    await killHard(live);
    expect(getLockStatus({ stateDir })).toMatchObject({ stale: true, reason: 'dead-pid' });
    const handle = await acquireInstanceLock({ stateDir });
    handles.push(handle);
    expect(parseOwner(readlinkSync(path.join(stateDir, 'instance.lock')))).toEqual(handle.owner);
    expect(handle.owner.version).toBe(3);
  });

  it('LK-2 version 2: a live holder is held (status shows its start time from the process), the same PID with another start identity is a recycled PID and taken over', async () => {
    const live = await startHolder(path.join(tempDir(), 'state'));
    const probe = probeProcess(live.pid);
    const genuine = path.join(tempDir(), 'state');
    plantLink(genuine, serializeOwner(v2Owner({ pid: live.pid, host: hostLabel(hostname()), startId: startKey(probe.startId!) })));
    expect(getLockStatus({ stateDir: genuine })).toMatchObject({ stale: false, reason: 'held', holder: { pid: live.pid, startedAt: probe.startedAt } });
    expect(getLockStatus({ stateDir: genuine }).description).toContain(`started ${probe.startedAt}`);

    const recycled = path.join(tempDir(), 'state');
    plantLink(recycled, serializeOwner(v2Owner({ pid: live.pid, host: hostLabel(hostname()), startId: startKey(`${probe.startId!}0`) })));
    expect(getLockStatus({ stateDir: recycled })).toMatchObject({ stale: true, reason: 'recycled-pid', holder: { pid: live.pid, startedAt: null } });
    const handle = await acquireInstanceLock({ stateDir: recycled });
    handles.push(handle);
    expect(handle.isHeld()).toBe(true);
    expect(live.proc.exitCode).toBeNull(); // the process behind the recycled PID is left alone
  });

  it('LK-2 version 2: our own PID with another start identity is stale; a dead PID is stale', async () => {
    const ownRecycled = path.join(tempDir(), 'state');
    plantLink(ownRecycled, serializeOwner(v2Owner({ pid: process.pid, host: hostLabel(hostname()), startId: startKey('linux:another-boot:42') })));
    expect(getLockStatus({ stateDir: ownRecycled })).toMatchObject({ stale: true, reason: 'recycled-pid' });
    const dead = await startHolder(path.join(tempDir(), 'state'));
    await killHard(dead);
    const deadDir = path.join(tempDir(), 'state');
    plantLink(deadDir, serializeOwner(v2Owner({ pid: dead.pid, host: hostLabel(hostname()) })));
    expect(getLockStatus({ stateDir: deadDir })).toMatchObject({ stale: true, reason: 'dead-pid' });
  });

  it.each([
    ['a short name', 'other-host'],
    ['a long name', LONG_HOST],
  ])('LK-2 version 2: a holder on another host (%s) is never judged stale, and its lock is left alone', async (_name, host) => {
    const stateDir = path.join(tempDir(), 'state');
    const text = serializeOwner(v2Owner({ pid: 999_999, host: hostLabel(host) }));
    plantLink(stateDir, text);
    const status = getLockStatus({ stateDir });
    expect(status).toMatchObject({ locked: true, stale: false, reason: 'foreign-host', holder: { host: hostLabel(host) } });
    expect(status.description).toContain(hostLabel(host).slice(0, 9));
    const error = await acquireInstanceLock({ stateDir, timeoutMs: 30 }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(hostLabel(host));
    expect(readlinkSync(path.join(stateDir, 'instance.lock'))).toBe(text);
  });
});
