import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLOCK_SKEW_MS,
  MAX_SUCCESSOR_WAIT_MS,
  cancelHandoff,
  ensureHandoffDir,
  findPendingHandoff,
  isHandoffCancelled,
  judgeProof,
  readAliveProof,
  successorWaitMs,
  sweepDecision,
  sweepHandoffs,
  type AliveProof,
} from '../../src/handoff/index.js';
import type { ProcessProbe } from '../../src/lock/process-identity.js';
import { plantProof } from '../support/processes.js';
import { handoffHost } from '../../src/handoff/handoff-files.js';
import { machineIdentity } from '../../src/lock/machine-identity.js';
import { tempDir } from '../support/temp-dir.js';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const proof: AliveProof = { version: 2, role: 'restart', token: 'a1b2c3d4-0000', pid: 4242, startId: 'linux:boot:100', host: 'here', provedAt: new Date(NOW).toISOString(), waitMs: 2000 };
const alive: ProcessProbe = { pid: 4242, exists: true, zombie: false, stopped: false, startId: 'linux:boot:100', startedAt: null };
const seen = { now: NOW, probe: alive, cancelled: false, selfPid: 1, host: 'here' };

describe('judgeProof', () => {
  it.each([
    ['the live successor, inside its window', {}, { pending: true, reason: 'waiting' }],
    ['a dead PID', { probe: { ...alive, exists: false } }, { pending: false, reason: 'dead-pid' }],
    ['a zombie', { probe: { ...alive, zombie: true } }, { pending: false, reason: 'zombie' }],
    ['a reused PID (another start time)', { probe: { ...alive, startId: 'linux:boot:999' } }, { pending: false, reason: 'recycled-pid' }],
    ['a cancelled hand-off', { cancelled: true }, { pending: false, reason: 'cancelled' }],
    ['past its window (the successor gave up, or hangs)', { now: NOW + 2001 }, { pending: false, reason: 'expired' }],
    ['a clock that moved back before the proof', { now: NOW - CLOCK_SKEW_MS - 1 }, { pending: false, reason: 'clock-moved' }],
    ['this very process', { selfPid: 4242 }, { pending: false, reason: 'this-process' }],
    ['another host', { host: 'elsewhere' }, { pending: false, reason: 'foreign-host' }],
    ['a platform without start times', { probe: { ...alive, startId: null } }, { pending: true, reason: 'waiting-unverified' }],
  ])('should judge %s', (_what, change, verdict) => {
    expect(judgeProof(proof, { ...seen, ...change })).toEqual(verdict);
  });

  it('should never trust a forged wait longer than any successor waits', () => {
    const forged = { ...proof, waitMs: 10 * MAX_SUCCESSOR_WAIT_MS };
    expect(judgeProof(forged, { ...seen, now: NOW + MAX_SUCCESSOR_WAIT_MS + 1 })).toEqual({ pending: false, reason: 'expired' });
  });

  it('should derive the successor wait from the hand-off timeout, with a bounded margin', () => {
    expect(successorWaitMs(1000)).toBe(2000);
    expect(successorWaitMs(100)).toBe(1100);
    expect(successorWaitMs(10_000)).toBe(15_000);
  });
});

describe('sweepDecision', () => {
  it.each([
    ['a provably gone successor', { pending: false, reason: 'dead-pid' } as const, null, 'remove'],
    ['a reused PID', { pending: false, reason: 'recycled-pid' } as const, 10, 'remove'],
    ['a live but cancelled successor (it must still see the marker)', { pending: false, reason: 'cancelled' } as const, 10, 'keep'],
    ['a hung successor', { pending: false, reason: 'expired' } as const, null, 'keep'],
    ['something that is not a proof', 'malformed' as const, null, 'remove'],
    ['a fresh marker with no proof yet (a late successor may come)', null, 1000, 'keep'],
    ['an old marker with no proof', null, MAX_SUCCESSOR_WAIT_MS + CLOCK_SKEW_MS + 1, 'remove'],
  ])('should decide for %s', (_what, verdict, markerAge, action) => {
    expect(sweepDecision(verdict, markerAge)).toBe(action);
  });
});

describe('the hand-off files', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  const box = () => {
    const stateDir = join(tempDir('handoff-'), 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    return stateDir;
  };

  it.each([
    // (A FIFO at the proof path is case 14 of test/process/hardening.test.ts: in a child process with a
    // bound, since a regression would block this worker's thread for good.)
    ['a directory', (file: string) => mkdirSync(file)],
    ['garbage', (file: string) => writeFileSync(file, '{"version":2')],
    ['a proof of another token', (file: string) => writeFileSync(file, JSON.stringify({ ...proof, token: 'ffffffff-ffff' }))],
    ['huge', (file: string) => writeFileSync(file, ' '.repeat(1 << 20))],
  ])('should read %s at a proof path as malformed, without blocking', (_what, make) => {
    const stateDir = box();
    mkdirSync(join(stateDir, 'handoff'));
    make(join(stateDir, 'handoff', `${proof.token}.alive`));
    expect(readAliveProof(stateDir, proof.token)).toBe('malformed');
    expect(findPendingHandoff(stateDir)).toBeNull();
    sweepHandoffs(stateDir);
    expect(readdirSync(join(stateDir, 'handoff'))).toEqual([]);
  });

  it('should find a live successor pending, and stop when it is cancelled', () => {
    const stateDir = box();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    children.push(child);
    const token = plantProof(stateDir, child.pid!);
    expect(findPendingHandoff(stateDir)).toMatchObject({ token, pid: child.pid, reason: 'waiting' });
    expect(cancelHandoff(stateDir, token)).toBeNull();
    expect(isHandoffCancelled(stateDir, token)).toBe(true);
    expect(findPendingHandoff(stateDir)).toBeNull();
    sweepHandoffs(stateDir);
    expect(readdirSync(join(stateDir, 'handoff')).sort()).toEqual([`${token}.alive`, `${token}.cancelled`]); // it is alive: kept
  });

  it('should sweep an old marker and keep a fresh one', () => {
    const stateDir = box();
    mkdirSync(join(stateDir, 'handoff'));
    expect(cancelHandoff(stateDir, 'aaaaaaaa-old')).toBeNull();
    expect(cancelHandoff(stateDir, 'bbbbbbbb-new')).toBeNull();
    const old = (Date.now() - MAX_SUCCESSOR_WAIT_MS - 10 * CLOCK_SKEW_MS) / 1000;
    utimesSync(join(stateDir, 'handoff', 'aaaaaaaa-old.cancelled'), old, old);
    expect(sweepHandoffs(stateDir)).toEqual(['aaaaaaaa-old']);
    expect(readdirSync(join(stateDir, 'handoff'))).toEqual(['bbbbbbbb-new.cancelled']);
  });

  it('should never return an error from cancelHandoff by throwing (the caller goes on to verify in place)', () => {
    const stateDir = box();
    writeFileSync(join(stateDir, 'handoff'), 'a file');
    expect(cancelHandoff(stateDir, proof.token)).toBeInstanceOf(Error);
  });

  it('should move anything that is not our directory at handoff/ into quarantine, and tighten our own', () => {
    const stateDir = box();
    writeFileSync(join(stateDir, 'handoff'), 'a file');
    const { quarantined } = ensureHandoffDir(stateDir);
    expect(quarantined).toContain(join(stateDir, 'quarantine', 'handoff.'));
    expect(statSync(join(stateDir, 'handoff')).isDirectory()).toBe(true);
    chmodSync(join(stateDir, 'handoff'), 0o777);
    expect(ensureHandoffDir(stateDir).quarantined).toBeNull();
    expect(statSync(join(stateDir, 'handoff')).mode & 0o777).toBe(0o700);
  });

  it('should plant proofs the way the successor writes them (the test helper matches the format)', () => {
    const stateDir = box();
    const token = plantProof(stateDir, process.pid);
    const read = readAliveProof(stateDir, token);
    expect(read).toMatchObject({ version: 2, pid: process.pid, host: handoffHost() });
    // The machine's identity (HE-9), not its name: a rename during a hand-off changes nothing.
    expect(handoffHost()).toBe(`machine:${machineIdentity().machine}`);
    expect(handoffHost()).not.toContain(hostname());
  });
});
