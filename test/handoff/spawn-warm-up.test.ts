import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { handoffDir, proofForThisProcess, readAliveProof, writeAliveProof } from '../../src/handoff/index.js';
import { mayRelaunch } from '../../src/runtime/relauncher.js';
import { tempDir } from '../support/temp-dir.js';

describe('warming the spawn path (mayRelaunch)', () => {
  it('warms a run that can still relaunch: no ledger yet, or unsettled with the restart unspent', () => {
    expect(mayRelaunch(null)).toBe(true);
    expect(mayRelaunch({ phase: 'PIPELINE', restart_count: 0 })).toBe(true);
    expect(mayRelaunch({ phase: 'PRECHECK', restart_count: 0 })).toBe(true);
  });

  it('never warms a warm launch: settled, or the restart spent', () => {
    expect(mayRelaunch({ phase: 'COMPLETED', restart_count: 0 })).toBe(false);
    expect(mayRelaunch({ phase: 'FAILED', restart_count: 0 })).toBe(false);
    expect(mayRelaunch({ phase: 'COMPLETED', restart_count: 1 })).toBe(false);
    expect(mayRelaunch({ phase: 'POST_RESTART_VERIFY', restart_count: 1 })).toBe(false);
  });
});

describe('proof temp names without node:crypto', () => {
  it('writes a proof many times in a row in one process: each write lands, no temp file is left', () => {
    const stateDir = tempDir('fr-proof-');
    const token = 'aaaaaaaa-1111';
    for (let i = 0; i < 50; i++) writeAliveProof(stateDir, proofForThisProcess(token, 'restart', 1000 + i));
    expect(readdirSync(handoffDir(stateDir))).toEqual([`${token}.alive`]);
    const proof = readAliveProof(stateDir, token);
    expect(proof).not.toBe('malformed');
    expect(proof && proof !== 'malformed' ? proof.waitMs : null).toBe(1049);
  });
});
