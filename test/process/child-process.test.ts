/**
 * HE-2: a child is signalled only when it is a live child of ours (src/relaunch/child-process.ts). A
 * spawn that failed leaves a child without a PID whose `kill()` would signal PID 0 — our whole process
 * group — so the guard is tested with stand-ins (a real one would take the test runner with it), and the
 * spawn outcomes with real processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { isLiveChild, killChild, spawnOutcome, watchChildErrors } from '../../src/relaunch/child-process.js';

function standIn(fields: Partial<Pick<ChildProcess, 'pid' | 'exitCode' | 'signalCode'>>): ChildProcess & { kill: ReturnType<typeof vi.fn> } {
  return { pid: 4242, exitCode: null, signalCode: null, kill: vi.fn(() => true), ...fields } as unknown as ChildProcess & { kill: ReturnType<typeof vi.fn> };
}

describe('isLiveChild / killChild', () => {
  it.each([
    ['no PID (a spawn that failed)', { pid: undefined }],
    ['PID 0 (our process group)', { pid: 0 }],
    ['a negative PID (a process group)', { pid: -4242 }],
    ['a PID that is not an integer', { pid: 1.5 }],
    ['an exited child', { exitCode: 0 }],
    ['a child killed by a signal', { signalCode: 'SIGTERM' as NodeJS.Signals }],
  ])('should never signal %s', (_what, fields) => {
    const child = standIn(fields);
    expect(isLiveChild(child)).toBe(false);
    expect(killChild(child)).toBe('not-live');
    expect(child.kill).not.toHaveBeenCalled();
  });

  it('should SIGKILL a live child, and hand back a failing kill as an error instead of throwing', () => {
    const live = standIn({});
    expect(killChild(live)).toBe('killed');
    expect(live.kill).toHaveBeenCalledWith('SIGKILL');
    const failing = standIn({});
    failing.kill.mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    expect(killChild(failing)).toMatchObject({ code: 'EPERM' });
    expect(killChild(null)).toBe('not-live');
  });
});

describe('spawnOutcome / watchChildErrors, real spawns', () => {
  it('should report a spawn that started no process (ENOENT: no PID) through the error, never as an uncaught exception', async () => {
    const errors: string[] = [];
    const child = watchChildErrors(spawn('/nonexistent/first-run-no-such-program', [], { stdio: 'ignore' }), (error) => errors.push(String(error.code)));
    expect(child.pid).toBeUndefined();
    expect(isLiveChild(child), 'no PID: never signalled (its kill() would be kill(0): our process group)').toBe(false);
    const outcome = await spawnOutcome(child);
    expect(outcome).toMatchObject({ ok: false, error: { code: 'ENOENT' } });
    expect(errors).toEqual(['ENOENT']);
  });

  it('should resolve at once for a child that started, with its PID', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const outcome = await spawnOutcome(child);
    expect(outcome).toEqual({ ok: true, pid: child.pid });
    await new Promise((done) => child.on('exit', done));
    expect(isLiveChild(child)).toBe(false);
  });
});
