import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockAcquisitionError, LockCompromisedError, LockFileError, UsageError } from '../../src/errors.js';
import { acquireInstanceLock, getLockStatus, parseOwner, probeProcess, resolveLockPaths, tryAcquireInstanceLock, type InstanceLockHandle, type LockOwner } from '../../src/lock/index.js';
import { FAST_SYMLINK_MAX, hostLabel, startKey } from '../../src/lock/lock-record.js';
import { machineIdentity } from '../../src/lock/machine-identity.js';
import { cleanupAll, killHard, median, startChild, startHolder, tempDir } from './helpers.js';

const handles: InstanceLockHandle[] = [];
async function acquire(options: Parameters<typeof acquireInstanceLock>[0]): Promise<InstanceLockHandle> {
  const handle = await acquireInstanceLock(options);
  handles.push(handle);
  return handle;
}

afterEach(async () => {
  for (const handle of handles.splice(0)) handle.releaseSync();
  await cleanupAll();
});

function stateDirIn(root: string): string {
  return path.join(root, 'state');
}

/** The owner record of the lock: the target of the `instance.lock` symbolic link, parsed. */
function readOwnerFile(stateDir: string): LockOwner {
  const owner = parseOwner(readlinkSync(path.join(stateDir, 'instance.lock')));
  if (!owner) throw new Error(`no owner record in ${stateDir}/instance.lock`);
  return owner;
}

/** The version-1 record an earlier version would have written for the live process `pid` holding `token`. */
function v1RecordOf(pid: number, token: string): Partial<LockOwner> {
  const probe = probeProcess(pid);
  return { version: 1, pid, host: hostname(), startedAt: probe.startedAt, startId: probe.startId, token };
}

function forgedOwner(owner: Partial<LockOwner>): LockOwner {
  return {
    version: 1,
    pid: process.pid,
    host: hostname(),
    startedAt: '2020-01-01T00:00:00.000Z',
    startId: 'linux:not-this-boot:1',
    token: 'aaaaaaaa-0000-0000-0000-000000000000',
    acquiredAt: '2020-01-01T00:00:00.000Z',
    ...owner,
  };
}

/** Put a lock carrying a forged owner record at the lock path (atomically replacing any lock link there). */
function writeOwnerFile(stateDir: string, owner: Partial<LockOwner>): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const link = path.join(stateDir, 'instance.lock');
  symlinkSync(JSON.stringify(forgedOwner(owner)), `${link}.forged`);
  renameSync(`${link}.forged`, link);
}

/** A lock in the directory format of earlier versions: `instance.lock/owner.json`. */
function writeLegacyOwnerDir(stateDir: string, owner: Partial<LockOwner>): void {
  const dir = path.join(stateDir, 'instance.lock');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'owner.json'), JSON.stringify(forgedOwner(owner)), { mode: 0o600 });
}

describe('instance lock', () => {
  describe('LK-1 one holder per state dir', () => {
    it('LK-1 a second launch fails with LockAcquisitionError naming the holder pid, host, start time and lock path', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      const error = await acquireInstanceLock({ stateDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockAcquisitionError);
      const e = error as LockAcquisitionError;
      expect(e.code).toBe('ERR_LOCK_ACQUISITION');
      expect(e.holder?.pid).toBe(holder.pid);
      expect(e.holder?.host).toBe(hostname());
      expect(e.lockPath).toBe(path.join(stateDir, 'instance.lock'));
      expect(e.message).toContain(`pid ${holder.pid}`);
      expect(e.message).toContain(hostname());
      expect(e.message).toContain(e.holder!.startedAt);
      expect(e.message).toContain(e.lockPath);
      expect(e.message).toMatch(/Quit that instance/);
    });

    it('LK-1 a second launch in another process exits as a conflict while the first holds', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      const second = startChild({ mode: 'hold', stateDir });
      const conflict = await second.next('conflict');
      expect(conflict.code).toBe('ERR_LOCK_ACQUISITION');
      expect(conflict.message).toContain(`pid ${holder.pid}`);
      expect(await second.exited).toBe(3);
    });

    it('LK-1 tryAcquireInstanceLock reports a conflict instead of throwing', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      const result = await tryAcquireInstanceLock({ stateDir });
      expect(result.acquired).toBe(false);
      if (result.acquired) return;
      expect(result.reason).toBe('held');
      expect(result.holder?.pid).toBe(holder.pid);
      expect(result.holder?.token).toBe(holder.token);
    });

    it('LK-1 the same process acquiring twice fails clearly and leaves the first lock intact', async () => {
      const stateDir = stateDirIn(tempDir());
      const first = await acquire({ stateDir });
      const error = await acquireInstanceLock({ stateDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockAcquisitionError);
      expect((error as Error).message).toMatch(/This process .* already holds/);
      expect(first.isHeld()).toBe(true);
      expect(readOwnerFile(stateDir).token).toBe(first.token);
    });

    it('LK-1 a successor waiting with timeoutMs gets the lock within tens of ms after the holder releases', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      const waiting = acquire({ stateDir, timeoutMs: 5000 });
      holder.send('release');
      const released = await holder.next('released');
      const handle = await waiting;
      const latency = Date.now() - released.t;
      console.log(`[LK-1] hand-off latency after release: ${latency} ms (retryIntervalMs 25)`);
      expect(handle.isHeld()).toBe(true);
      expect(released.result).toEqual({ removed: true, reason: 'released' });
    });

    it('LK-1 a waiting acquire times out with a LockAcquisitionError when the holder never lets go', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      const error = await acquireInstanceLock({ stateDir, timeoutMs: 150 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockAcquisitionError);
      expect((error as Error).message).toMatch(/waited \d+ ms/);
      expect((error as LockAcquisitionError).holder?.pid).toBe(holder.pid);
    });
  });

  describe('LK-2 dead holders are taken over, live ones never', () => {
    it('LK-2 takes over a SIGKILLed holder at once (budget far below proper-lockfile’s 2 s mtime staleness)', async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const stateDir = stateDirIn(tempDir());
        const holder = await startHolder(stateDir);
        await killHard(holder);
        const started = performance.now();
        const handle = await acquire({ stateDir, timeoutMs: 1000 });
        times.push(performance.now() - started);
        expect(handle.isHeld()).toBe(true);
        expect(readOwnerFile(stateDir).pid).toBe(process.pid);
        handle.releaseSync();
      }
      console.log(`[LK-2] takeover of a SIGKILLed holder's lock: median ${median(times).toFixed(2)} ms (runs: ${times.map((t) => t.toFixed(2)).join(', ')})`);
    });

    it('LK-2 takes over the lock of a holder killed a moment ago (not yet reaped)', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      holder.proc.kill('SIGKILL');
      const started = performance.now();
      const handle = await acquire({ stateDir, timeoutMs: 1000 });
      console.log(`[LK-2] takeover right after SIGKILL (no wait for exit): ${(performance.now() - started).toFixed(2)} ms`);
      expect(handle.isHeld()).toBe(true);
    });

    it('LK-2 never takes over a SIGSTOPped holder; it keeps its lock after SIGCONT', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      holder.proc.kill('SIGSTOP');
      try {
        const error = await acquireInstanceLock({ stateDir, timeoutMs: 1500 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(LockAcquisitionError);
        expect((error as Error).message).toMatch(/suspended/);
        expect((error as LockAcquisitionError).holder?.pid).toBe(holder.pid);
        expect(readOwnerFile(stateDir).token).toBe(holder.token);
      } finally {
        holder.proc.kill('SIGCONT');
      }
      holder.send('held');
      expect((await holder.next('held')).held).toBe(true);
      holder.send('release');
      expect((await holder.next('released')).result).toEqual({ removed: true, reason: 'released' });
    });

    it('LK-2 16 simultaneous contenders on a dead holder’s lock: exactly one wins', async () => {
      const stateDir = stateDirIn(tempDir());
      const dead = await startHolder(stateDir);
      await killHard(dead);
      const contenders = Array.from({ length: 16 }, () => startChild({ mode: 'contend', stateDir }));
      await Promise.all(contenders.map((c) => c.next('ready')));
      for (const c of contenders) c.send('go');
      const results = await Promise.all(contenders.map((c) => Promise.race([c.next('won'), c.next('lost')])));
      const winners = results.filter((r) => r.event === 'won');
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(readOwnerFile(stateDir)).toMatchObject({ pid: winner.pid, token: winner.token });
      for (const loser of results.filter((r) => r.event === 'lost')) {
        expect(['held', 'takeover-in-progress']).toContain(loser.reason);
      }
      console.log(`[LK-2] 16 contenders: winner took ${(winner.ms as number).toFixed(2)} ms; reasons: ${results.map((r) => r.reason ?? 'won').join(',')}`);
      // the protocol's scratch dir holds no leftovers of the takeover
      expect(readdirSync(resolveLockPaths({ stateDir }).auxDir)).toEqual([]);
    });

    it('LK-2 a recycled PID (our own pid, another start time) is stale and taken over', async () => {
      const stateDir = stateDirIn(tempDir());
      writeOwnerFile(stateDir, { pid: process.pid, startId: 'linux:another-boot:42' });
      expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: true, reason: 'recycled-pid' });
      const handle = await acquire({ stateDir });
      expect(readOwnerFile(stateDir).token).toBe(handle.token);
    });

    it('LK-2 a holder on another host is never judged stale, and its lock is left alone', async () => {
      const stateDir = stateDirIn(tempDir());
      writeOwnerFile(stateDir, { host: 'some-other-host.example', pid: 999_999 });
      expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: false, reason: 'foreign-host' });
      const error = await acquireInstanceLock({ stateDir, timeoutMs: 60 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockAcquisitionError);
      expect((error as Error).message).toContain('some-other-host.example');
      expect(readOwnerFile(stateDir).host).toBe('some-other-host.example');
    });

    it('LK-2 a lock dir without a readable owner is held during the grace period, then stale', async () => {
      const stateDir = stateDirIn(tempDir());
      mkdirSync(path.join(stateDir, 'instance.lock'), { recursive: true });
      writeFileSync(path.join(stateDir, 'instance.lock', 'owner.json'), '{"pid": 12'); // died mid-write
      const fresh = await tryAcquireInstanceLock({ stateDir });
      expect(fresh).toMatchObject({ acquired: false, reason: 'ownerless-fresh', holder: null });
      const later = { now: () => Date.now() + 2500 };
      expect(getLockStatus({ stateDir, clock: later })).toMatchObject({ stale: true, reason: 'ownerless-expired' });
      const handle = await acquire({ stateDir, clock: later });
      expect(readOwnerFile(stateDir).token).toBe(handle.token);
    });

    it.each(['an earlier version’s directory', 'a link'])('LK-2 a takeover mutex left by a dead taker (%s) is itself taken over', async (form) => {
      const stateDir = stateDirIn(tempDir());
      const deadHolder = await startHolder(stateDir);
      await killHard(deadHolder);
      const otherStateDir = stateDirIn(tempDir());
      const deadTaker = await startHolder(otherStateDir); // a real owner record of a process that then dies
      const takerV1 = JSON.stringify(forgedOwner(v1RecordOf(deadTaker.pid, deadTaker.token)));
      const takerV2 = readlinkSync(path.join(otherStateDir, 'instance.lock'));
      await killHard(deadTaker);
      const { auxDir } = resolveLockPaths({ stateDir });
      const mutex = path.join(auxDir, `takeover-t-${deadHolder.token}`);
      if (form === 'a link') {
        mkdirSync(auxDir, { recursive: true });
        symlinkSync(takerV2, mutex);
      } else {
        mkdirSync(mutex, { recursive: true });
        writeFileSync(path.join(mutex, 'owner.json'), takerV1);
      }
      const handle = await acquire({ stateDir });
      expect(readOwnerFile(stateDir).token).toBe(handle.token);
      expect(readdirSync(auxDir)).toEqual([]);
    });
  });

  describe('LK-3 release, compromise, files', () => {
    it('LK-3 release never deletes a new owner’s lock (the old holder’s release leaves it)', async () => {
      const stateDir = stateDirIn(tempDir());
      const holder = await startHolder(stateDir);
      // As if the lock had been taken over while the holder was away: the owner record is someone else's.
      writeOwnerFile(stateDir, { pid: process.pid, startId: null, token: 'cccccccc-2222-2222-2222-222222222222' });
      holder.send('held');
      expect((await holder.next('held')).held).toBe(false);
      holder.send('release');
      expect((await holder.next('released')).result).toEqual({ removed: false, reason: 'not-ours' });
      expect(readOwnerFile(stateDir).token).toBe('cccccccc-2222-2222-2222-222222222222');
    });

    it('LK-3 release is idempotent and a released handle is no longer held', async () => {
      const stateDir = stateDirIn(tempDir());
      const handle = await acquireInstanceLock({ stateDir });
      expect(await handle.release()).toEqual({ removed: true, reason: 'released' });
      expect(await handle.release()).toEqual({ removed: false, reason: 'already-released' });
      expect(handle.isHeld()).toBe(false);
      expect(() => handle.assertHeld()).toThrow(LockCompromisedError);
      expect(getLockStatus({ stateDir })).toMatchObject({ locked: false, reason: 'free' });
    });

    it('LK-3 assertHeld (usable unbound) throws and onCompromised fires when the lock is taken from us', async () => {
      const stateDir = stateDirIn(tempDir());
      const handle = await acquire({ stateDir, checkIntervalMs: 20 });
      const { assertHeld } = handle;
      expect(() => assertHeld()).not.toThrow();
      const compromised = new Promise<LockCompromisedError>((resolve) => handle.onCompromised(resolve));
      writeOwnerFile(stateDir, { token: 'dddddddd-3333-3333-3333-333333333333', startId: null });
      const error = await compromised;
      expect(error).toBeInstanceOf(LockCompromisedError);
      expect(error.message).toContain('dddddddd-3333-3333-3333-333333333333');
      expect(() => assertHeld()).toThrow(LockCompromisedError);
      expect(handle.releaseSync()).toEqual({ removed: false, reason: 'not-ours' });
      expect(readOwnerFile(stateDir).token).toBe('dddddddd-3333-3333-3333-333333333333');
    });

    it('LK-3 onCompromised notices the lock directory is gone, and tells late subscribers too', async () => {
      const stateDir = stateDirIn(tempDir());
      const handle = await acquire({ stateDir, checkIntervalMs: 20 });
      const first = new Promise<LockCompromisedError>((resolve) => handle.onCompromised(resolve));
      rmSync(path.join(stateDir, 'instance.lock'), { recursive: true });
      expect((await first).message).toMatch(/gone/);
      const late = await new Promise<LockCompromisedError>((resolve) => handle.onCompromised(resolve));
      expect(late).toBeInstanceOf(LockCompromisedError);
      expect(handle.releaseSync()).toEqual({ removed: false, reason: 'missing' });
    });

    it('LK-3 the state dir is created 0700; the lock is a symbolic link whose target is its owner record; the scratch dir made by a takeover is 0700', async () => {
      const stateDir = path.join(tempDir(), 'nested', 'state');
      const handle = await acquire({ stateDir });
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      const lock = path.join(stateDir, 'instance.lock');
      expect(lstatSync(lock).isSymbolicLink()).toBe(true);
      expect(parseOwner(readlinkSync(lock))).toEqual(handle.owner);
      handle.releaseSync();
      const dead = await startHolder(stateDir);
      await killHard(dead);
      await acquire({ stateDir });
      expect(statSync(resolveLockPaths({ stateDir }).auxDir).mode & 0o777).toBe(0o700);
    });

    it('LK-2 a directory lock of an earlier version is honoured while its holder lives, and taken over once it is dead', async () => {
      const stateDir = stateDirIn(tempDir());
      const otherStateDir = stateDirIn(tempDir());
      const live = await startHolder(otherStateDir); // a live process on this host, with its real start identity
      writeLegacyOwnerDir(stateDir, v1RecordOf(live.pid, live.token));
      expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: false, reason: 'held', holder: { pid: live.pid } });
      expect(await tryAcquireInstanceLock({ stateDir })).toMatchObject({ acquired: false, reason: 'held', holder: { token: live.token } });
      await killHard(live);
      expect(getLockStatus({ stateDir })).toMatchObject({ stale: true, reason: 'dead-pid' });
      const handle = await acquire({ stateDir });
      expect(readOwnerFile(stateDir).token).toBe(handle.token);
      expect(readdirSync(resolveLockPaths({ stateDir }).auxDir)).toEqual([]);
    });

    it('LK-3 the owner record carries pid, host, start identity, token and acquiredAt in a fast symlink; status shows the start time', async () => {
      const stateDir = stateDirIn(tempDir());
      const before = Date.now();
      const handle = await acquire({ stateDir });
      const target = readlinkSync(path.join(stateDir, 'instance.lock'));
      expect(Buffer.byteLength(target)).toBeLessThanOrEqual(FAST_SYMLINK_MAX);
      const owner = readOwnerFile(stateDir);
      expect(owner).toEqual(handle.owner);
      expect(owner).toMatchObject({ version: 3, pid: process.pid, machine: machineIdentity().machine, boot: machineIdentity().boot, token: handle.token, startedAt: null });
      expect(getLockStatus({ stateDir }).holder?.host, 'status names this machine by its host name').toBe(hostname());
      expect(owner.startId).toBe(startKey(probeProcess(process.pid).startId!));
      expect(Date.parse(owner.acquiredAt)).toBeGreaterThanOrEqual(Math.trunc(before));
      expect(getLockStatus({ stateDir }).holder?.startedAt).toBe(probeProcess(process.pid).startedAt);
    });

    it.each([
      ['option lockPath wins over everything', { lockPath: 'L/custom.lock', stateDir: 'S' }, { FIRST_RUN_LOCK_PATH: 'E/env.lock', FIRST_RUN_STATE_DIR: 'ES' }, 'L/custom.lock'],
      ['option stateDir wins over env', { stateDir: 'S' }, { FIRST_RUN_LOCK_PATH: 'E/env.lock', FIRST_RUN_STATE_DIR: 'ES' }, 'S/instance.lock'],
      ['env FIRST_RUN_LOCK_PATH wins over env FIRST_RUN_STATE_DIR', {}, { FIRST_RUN_LOCK_PATH: '/E/env.lock', FIRST_RUN_STATE_DIR: '/ES' }, '/E/env.lock'],
      ['env FIRST_RUN_STATE_DIR', {}, { FIRST_RUN_STATE_DIR: '/ES' }, '/ES/instance.lock'],
    ])('LK-3 paths: %s', (_name, options, env, expected) => {
      expect(resolveLockPaths({ ...options, env }).lockPath).toBe(path.resolve(expected));
    });

    it.each([
      ['FIRST_RUN_LOCK_PATH', { FIRST_RUN_LOCK_PATH: 'E/env.lock', FIRST_RUN_STATE_DIR: '/ES' }],
      ['FIRST_RUN_STATE_DIR', { FIRST_RUN_STATE_DIR: 'ES' }],
    ])('HE-3 a relative %s is refused, never resolved against the working directory', (name, env) => {
      expect(() => resolveLockPaths({ env })).toThrow(UsageError);
      expect(() => resolveLockPaths({ env })).toThrow(new RegExp(`${name} to be an absolute path`));
    });

    it('LK-3 no state dir anywhere, or a bad option, is a UsageError naming the option', async () => {
      await expect(acquireInstanceLock({ env: {} })).rejects.toThrow(UsageError);
      await expect(acquireInstanceLock({ stateDir: tempDir(), timeoutMs: -1 })).rejects.toThrow(/Expected `timeoutMs` to be a finite number from 0 and up, got `-1` \(number\)/);
    });

    it('LK-3 a file at the lock path is reported, not overwritten', async () => {
      const stateDir = stateDirIn(tempDir());
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(path.join(stateDir, 'instance.lock'), 'not a dir');
      const error = await acquireInstanceLock({ stateDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockFileError);
      expect((error as Error).message).toMatch(/is not a directory.*remove it/);
      expect(readFileSync(path.join(stateDir, 'instance.lock'), 'utf8')).toBe('not a dir');
    });
  });
});
