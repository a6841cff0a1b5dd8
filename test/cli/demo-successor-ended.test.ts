/**
 * The demo waits for its relaunched successor to end. The successor is a grandchild: when it exits it is
 * re-parented to PID 1, and a PID 1 that never reaps (a container without an init, where `npx first-run
 * demo` runs as PID 1's child) leaves it a zombie — which `kill(pid, 0)` still finds. The demo used to
 * wait its whole 120 s bound for it and fail a run that had completed.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasEnded } from '../../src/cli/commands/demo.js';
import { pidExists, probeProcess } from '../../src/lock/process-identity.js';

describe('the demo: has the successor ended?', () => {
  it.skipIf(process.platform !== 'linux')('counts an unreaped zombie as ended, though its PID still exists', async () => {
    // `sh` starts `sleep 0` and then becomes `sleep 5`, which never reaps it: a zombie until `sleep 5` ends.
    const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
      const first = probeProcess(pid);
      // Bounded by the test's timeout: `sleep 0` exits at once.
      while (!probeProcess(pid).zombie) await new Promise((resolve) => setImmediate(resolve));
      expect(pidExists(pid)).toBe(true);
      expect(hasEnded(first)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('does not count a live process as ended', () => {
    expect(hasEnded(probeProcess(process.pid))).toBe(false);
  });
});
