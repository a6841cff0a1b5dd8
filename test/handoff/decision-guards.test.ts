/**
 * Two guards of the hand-off that the protocol model cannot tell apart from their absence (the sabotage
 * catalogue, `predecessor-accepts-any-pid` and `successor-proves-when-cancelled`), tested where they act:
 * with real proof files and, for the predecessor, a real live process that is not its child.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelHandoff, ensureHandoffDir, proofForThisProcess, tokenFile, writeAliveProof } from '../../src/handoff/handoff-files.js';
import { acceptableProof } from '../../src/handoff/predecessor.js';
import { beginSuccession } from '../../src/handoff/successor.js';
import { probeProcess } from '../../src/lock/process-identity.js';
import { killSleepers, sleeper } from '../support/processes.js';

const dirs: string[] = [];
afterEach(() => {
  killSleepers();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-run-guards-'));
  dirs.push(dir);
  ensureHandoffDir(dir);
  return dir;
}

describe("the predecessor accepts only its own child's proof (node strategy)", () => {
  it("refuses a live, pending proof that names another process than the child it started", async () => {
    const dir = stateDir();
    const token = 'guard-token-0001';
    const stranger = sleeper(); // alive, ours to probe, not the child
    await new Promise((resolve) => stranger.once('spawn', resolve));
    const identity = probeProcess(stranger.pid!);
    writeAliveProof(dir, { ...proofForThisProcess(token, 'restart', 60_000), pid: stranger.pid!, startId: identity.startId });

    expect(acceptableProof(dir, token, null)).toBe(stranger.pid); // the proof is pending: `bundle` accepts it
    expect(acceptableProof(dir, token, stranger.pid! + 100_000)).toBeNull(); // `node`: not the child we started
    expect(acceptableProof(dir, token, stranger.pid!)).toBe(stranger.pid);
  });
});

describe('a successor given up on before it proved leaves without a proof', () => {
  it('writes no proof when its token is already cancelled, and says so', () => {
    const dir = stateDir();
    const token = 'guard-token-0002';
    expect(cancelHandoff(dir, token)).toBeNull();
    const succession = beginSuccession({ stateDir: dir, token, role: 'restart', handoffTimeoutMs: 1000, env: {} });
    succession.finish({ clearFiles: false });
    expect(succession.cancelledEarly).toBe(true);
    expect(fs.existsSync(tokenFile(dir, token, 'alive'))).toBe(false);
  });

  it('proves when it was not given up on', () => {
    const dir = stateDir();
    const token = 'guard-token-0003';
    const succession = beginSuccession({ stateDir: dir, token, role: 'restart', handoffTimeoutMs: 1000, env: {} });
    succession.finish({ clearFiles: false });
    expect(succession.cancelledEarly).toBe(false);
    expect(fs.existsSync(tokenFile(dir, token, 'alive'))).toBe(true);
  });
});
