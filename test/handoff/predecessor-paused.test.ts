/**
 * The predecessor's wait for the proof, judged after a pause. A process paused (SIGSTOP, a sleeping laptop,
 * a blocked event loop) while the successor proved resumes with its deadline passed: Node runs expired
 * timers before it polls for I/O, so the timeout fired before the `fs.watch` or channel wake-up that carries
 * the proof — and the predecessor gave up on a successor that had proved in time. The timeout now looks
 * once more before it gives up (the mirror of the lock loop's last attempt, `pauseAfterRefusal`).
 * Safe either way (a successor given up on never runs); this is about not throwing away a good hand-off.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awaitSuccessorProof, handoffDir, proofForThisProcess, writeAliveProof } from '../../src/handoff/index.js';
import { probeProcess } from '../../src/lock/index.js';
import { tempDir } from '../support/temp-dir.js';

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the event loop is paused: no timer, no I/O callback runs
  }
}

describe('awaitSuccessorProof after a pause', () => {
  it('accepts a proof written while the predecessor was paused past its deadline', async () => {
    const stateDir = tempDir('fr-paused-');
    mkdirSync(handoffDir(stateDir), { mode: 0o700 });
    const token = 'bbbbbbbb-2222';
    const outcome = awaitSuccessorProof({ stateDir, token, timeoutMs: 30, pollMs: 60_000 });
    // Paused: the successor proves meanwhile, and the deadline passes. Our parent process (alive, not us:
    // a process is never its own successor) stands in for the successor.
    const successor = process.ppid;
    const startId = probeProcess(successor).startId;
    expect(startId).not.toBeNull();
    writeAliveProof(stateDir, { ...proofForThisProcess(token, 'restart', 10_000), pid: successor, startId });
    blockFor(80);
    expect(await outcome).toEqual({ ok: true, pid: successor });
  });

  it('still gives up when no proof came', async () => {
    const stateDir = tempDir('fr-paused-');
    mkdirSync(handoffDir(stateDir), { mode: 0o700 });
    const outcome = await awaitSuccessorProof({ stateDir, token: 'cccccccc-3333', timeoutMs: 30, pollMs: 60_000 });
    expect(outcome).toMatchObject({ ok: false, reason: expect.stringContaining('no successor proved itself alive within 30 ms') });
  });
});
