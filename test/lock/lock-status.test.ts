import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireInstanceLock, checkLockHealth, cleanupStaleLock, getLockStatus, resolveLockPaths } from '../../src/lock/index.js';
import { cleanupAll, killHard, startHolder, tempDir } from './helpers.js';

afterEach(cleanupAll);

function stateDirIn(root: string): string {
  return path.join(root, 'state');
}

describe('lock status, cleanup and health', () => {
  it('LK-3 status: free, then held by a live process, then stale once it is SIGKILLed', async () => {
    const stateDir = stateDirIn(tempDir());
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: false, holder: null, stale: false, reason: 'free' });
    const holder = await startHolder(stateDir);
    const held = getLockStatus({ stateDir });
    expect(held).toMatchObject({ locked: true, stale: false, reason: 'held', holder: { pid: holder.pid, token: holder.token, host: hostname() } });
    expect(held.description).toContain(`pid ${holder.pid}`);
    await killHard(holder);
    expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: true, reason: 'dead-pid', holder: { pid: holder.pid } });
  });

  it('LK-3 status of this process’s own lock', async () => {
    const stateDir = stateDirIn(tempDir());
    const handle = await acquireInstanceLock({ stateDir });
    try {
      expect(getLockStatus({ stateDir })).toMatchObject({ locked: true, stale: false, reason: 'held-by-this-process' });
    } finally {
      handle.releaseSync();
    }
  });

  it('LK-3 cleanup removes a dead holder’s lock', async () => {
    const stateDir = stateDirIn(tempDir());
    const holder = await startHolder(stateDir);
    await killHard(holder);
    const result = cleanupStaleLock({ stateDir });
    expect(result.removed).toBe(true);
    expect(result.before).toMatchObject({ stale: true, reason: 'dead-pid' });
    expect(getLockStatus({ stateDir }).locked).toBe(false);
  });

  it('LK-3 cleanup never removes a live holder’s lock', async () => {
    const stateDir = stateDirIn(tempDir());
    const holder = await startHolder(stateDir);
    const result = cleanupStaleLock({ stateDir });
    expect(result).toMatchObject({ removed: false, before: { reason: 'held' } });
    expect(getLockStatus({ stateDir }).holder?.token).toBe(holder.token);
  });

  it('LK-3 cleanup sweeps leftovers of dead processes from the scratch dir, and keeps a live one’s', async () => {
    const stateDir = stateDirIn(tempDir());
    const dead = await startHolder(stateDir);
    const live = await startHolder(stateDirIn(tempDir()));
    await killHard(dead);
    const { auxDir, lockPath } = resolveLockPaths({ stateDir });
    const owner = (pid: number, token: string) => JSON.stringify({ version: 1, pid, host: hostname(), startedAt: null, startId: null, token, acquiredAt: new Date().toISOString() });
    // [entry name, its owner's pid, its owner's token] (a takeover mutex is named after the lock it guards)
    for (const [name, pid, token] of [
      ['new-11111111-dead', dead.pid, '11111111-dead'],
      ['takeover-t-22222222-guarded', dead.pid, '55555555-dead'],
      ['new-33333333-live', live.pid, '33333333-live'],
    ] as const) {
      mkdirSync(path.join(auxDir, name), { recursive: true });
      writeFileSync(path.join(auxDir, name, 'owner.json'), owner(pid, token));
    }
    mkdirSync(path.join(auxDir, 'dead-44444444'), { recursive: true });
    const health = checkLockHealth({ stateDir });
    expect(health.problems.map((p) => p.code).sort()).toEqual(['aux-leftovers', 'stale-lock']);
    const result = cleanupStaleLock({ stateDir });
    expect(result.removed).toBe(true);
    expect(result.swept.map((p) => path.basename(p)).sort()).toEqual(['dead-44444444', 'new-11111111-dead', 'takeover-t-22222222-guarded']);
    expect(readdirSync(auxDir)).toEqual(['new-33333333-live']);
    expect(getLockStatus({ lockPath }).locked).toBe(false);
  });

  it('LK-3 health: a fresh state dir made by acquire is healthy', async () => {
    const stateDir = stateDirIn(tempDir());
    expect(checkLockHealth({ stateDir })).toMatchObject({ healthy: true, problems: [] });
    const handle = await acquireInstanceLock({ stateDir });
    try {
      expect(checkLockHealth({ stateDir })).toMatchObject({ healthy: true, problems: [], status: { reason: 'held-by-this-process' } });
    } finally {
      handle.releaseSync();
    }
  });

  it('LK-3 health reports loose permissions on the state dir and the lock files', async () => {
    const stateDir = stateDirIn(tempDir());
    const handle = await acquireInstanceLock({ stateDir });
    try {
      chmodSync(stateDir, 0o755);
      const health = checkLockHealth({ stateDir });
      expect(health.healthy).toBe(false);
      // The lock link's own mode means nothing (its record is guarded by the state dir's mode).
      expect(health.problems.map((p) => p.code)).toEqual(['state-dir-permissions']);
      expect(health.problems.find((p) => p.code === 'state-dir-permissions')?.message).toContain('chmod 700');
      expect(statSync(stateDir).mode & 0o777).toBe(0o755); // read-only check: nothing was changed
    } finally {
      handle.releaseSync();
    }
    // An earlier version's directory lock (held by a live process) keeps its files' modes checked.
    const legacy = stateDirIn(tempDir());
    const live = await startHolder(stateDirIn(tempDir()));
    mkdirSync(path.join(legacy, 'instance.lock'), { recursive: true, mode: 0o700 });
    chmodSync(legacy, 0o700);
    writeFileSync(path.join(legacy, 'instance.lock', 'owner.json'), JSON.stringify({ version: 1, pid: live.pid, host: hostname(), startedAt: null, startId: null, token: live.token, acquiredAt: new Date().toISOString() }), { mode: 0o644 });
    chmodSync(path.join(legacy, 'instance.lock', 'owner.json'), 0o644);
    expect(checkLockHealth({ stateDir: legacy }).problems.map((p) => p.code)).toEqual(['lock-permissions']);
  });

  it('LK-3 health reports an ownerless lock and a file blocking the lock path', () => {
    const a = stateDirIn(tempDir());
    mkdirSync(path.join(a, 'instance.lock'), { recursive: true, mode: 0o700 });
    chmodSync(a, 0o700);
    expect(checkLockHealth({ stateDir: a }).problems.map((p) => p.code)).toEqual(['ownerless-lock']);
    const b = stateDirIn(tempDir());
    mkdirSync(b, { mode: 0o700 });
    writeFileSync(path.join(b, 'instance.lock'), '');
    const health = checkLockHealth({ stateDir: b });
    expect(health.problems.map((p) => p.code)).toEqual(['lock-not-directory']);
    expect(getLockStatus({ stateDir: b })).toMatchObject({ locked: true, stale: false, reason: 'not-a-directory' });
  });
});
