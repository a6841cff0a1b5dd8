/**
 * LG-2: only the lock holder writes the ledger. A store opened with the instance lock's `assertHeld`
 * refuses every write once the lock on disk is no longer its own (removed from outside, taken by
 * another process), and the file keeps its last good generation. (Sabotage catalogue: `writer-check-off`.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockCompromisedError } from '../../src/errors.js';
import { openLedgerStore, peekLedger } from '../../src/ledger/index.js';
import { acquireInstanceLock } from '../../src/lock/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const summary = { phase: 'PIPELINE', restart_count: 0 } as const;

describe('the ledger is written only while the lock is ours', () => {
  it('refuses a commit once the lock was removed from outside, and keeps the last good generation', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-run-writer-'));
    dirs.push(stateDir);
    const lock = await acquireInstanceLock({ stateDir });
    const store = openLedgerStore({ stateDir, fsync: false, assertWriter: () => lock.assertHeld() });
    store.load();
    await store.commit({ step: 1 }, summary);
    expect(peekLedger(stateDir)).toMatchObject({ kind: 'ok', envelope: { generation: 1 } });

    fs.rmSync(lock.lockPath, { recursive: true, force: true }); // a cleaner, a user's rm: the lock is gone
    await expect(store.commit({ step: 2 }, summary)).rejects.toBeInstanceOf(LockCompromisedError);
    expect(peekLedger(stateDir)).toMatchObject({ kind: 'ok', envelope: { generation: 1, snapshot: { step: 1 } } });
    await store.close().catch(() => {});
    await lock.release().catch(() => {});
  });
});
