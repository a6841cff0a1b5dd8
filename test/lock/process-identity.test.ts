import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseLstartUtc, probeProcess, selfIdentity, startTimeMethod } from '../../src/lock/process-identity.js';

describe('process identity (LK-3: a PID is verified to be ours before it is trusted)', () => {
  it('LK-3 the platform decides the start-time method in one place', () => {
    expect(startTimeMethod('darwin')).toBe('darwin-ps');
    expect(startTimeMethod('win32')).toBe('none');
    expect(['linux-proc', 'none']).toContain(startTimeMethod('linux'));
  });

  it('LK-3 this process has a stable start identity', () => {
    const self = selfIdentity();
    expect(self).toMatchObject({ pid: process.pid, exists: true, zombie: false, stopped: false });
    if (startTimeMethod() !== 'none') {
      expect(self.startId).toBeTruthy();
      expect(probeProcess(process.pid).startId).toBe(self.startId);
      expect(Math.abs(Date.parse(self.startedAt!) - (Date.now() - process.uptime() * 1000))).toBeLessThan(5000);
    }
  });

  it('LK-3 a process that exited does not exist; invalid PIDs never reach kill()', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => child.on('exit', resolve));
    expect(probeProcess(child.pid!).exists).toBe(false);
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(probeProcess(pid).exists).toBe(false);
  });

  it('LK-2 a SIGSTOPped process is alive and reported as stopped', async () => {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready"); setInterval(() => {}, 1000)']);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    try {
      child.kill('SIGSTOP');
      // the stop is delivered asynchronously: poll briefly for the state change (bounded)
      let probe = probeProcess(child.pid!);
      for (let i = 0; i < 100 && startTimeMethod() !== 'none' && !probe.stopped; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        probe = probeProcess(child.pid!);
      }
      expect(probe.exists).toBe(true);
      expect(probe.zombie).toBe(false);
      if (startTimeMethod() !== 'none') expect(probe.stopped).toBe(true);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  });

  it.each([
    ['Tue Feb 20 10:11:12 2024', '2024-02-20T10:11:12.000Z'],
    ['Sat Jan  6 01:02:03 2024', '2024-01-06T01:02:03.000Z'],
    ['garbage', null],
  ])('LK-3 parses macOS ps lstart %j (printed under TZ=UTC)', (input, expected) => {
    expect(parseLstartUtc(input)).toBe(expected);
  });
});
