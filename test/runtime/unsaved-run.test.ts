/**
 * HE-6 — a failed write is never a quiet success: a run whose commits cannot be written ends with an
 * error the host sees (`result` rejects with `LedgerError`, `ledger.write_failed` reaches `on()`, the CLI
 * exits non-zero), never "completed/failed, exit 0, nothing saved". The write is made to fail as root
 * can be made to fail: a non-empty directory at the ledger's temp name (the atomic write cannot replace it).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { parseConfig } from '../../src/config/index.js';
import { LedgerError } from '../../src/errors.js';
import { runFirstRun, type RuntimeEvent } from '../../src/runtime/run-first-run.js';
import { ALL_GRANTED, assertBuilt, BIN, endsWithin, journal, launch, lastJson, quickConfig, sandbox, type Sandbox } from '../support/processes.js';

const settings = parseConfig(quickConfig(), 'test config', { env: {} });
const boxes: Sandbox[] = [];
/** A run with several commits: a prompt answered after 50 ms, everything else granted. */
const ONE_PROMPT = { permissions: { ...ALL_GRANTED.permissions, microphone: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50 } } } };

/** A state dir whose ledger can never be written: its temp name is taken by a non-empty directory. */
function unwritableBox(db: unknown = ALL_GRANTED): Sandbox {
  const box = sandbox(db);
  boxes.push(box);
  mkdirSync(join(box.stateDir, 'permission_ledger.json.tmp'), { recursive: true, mode: 0o700 });
  writeFileSync(join(box.stateDir, 'permission_ledger.json.tmp', 'keep'), '');
  return box;
}

/** `runFirstRun` in `box` with the sim backend, every event to `onEvent`. */
function startRun(box: Sandbox, onEvent: (event: RuntimeEvent) => void) {
  return runFirstRun({
    stateDir: box.stateDir,
    settings,
    backend: createSimBackend({ file: box.simDb }),
    relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: BIN, args: [] },
    onEvent,
  });
}

afterEach(() => {
  for (const box of boxes.splice(0)) rmSync(box.dir, { recursive: true, force: true });
});

describe('a run whose state cannot be written (HE-6)', () => {
  beforeAll(() => assertBuilt());

  it('should reject runFirstRun().result with a LedgerError naming the ledger, and deliver ledger.write_failed', async () => {
    const box = unwritableBox();
    const events: RuntimeEvent[] = [];
    const runtime = startRun(box, (event) => events.push(event));
    const error = await runtime.result.then(
      (result) => {
        throw new Error(`the run resolved as if saved: ${JSON.stringify(result)}`);
      },
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe('ERR_LEDGER');
    expect((error as LedgerError).file).toBe(join(box.stateDir, 'permission_ledger.json'));
    expect((error as Error).message).toMatch(/ended \(completed, phase COMPLETED\) but its state could not be saved/);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(events.map((e) => e.type)).toContain('ledger.write_failed');
    // The lock is released all the same: the next launch is not locked out.
    expect(events.at(-1)?.type).toBe('instance.lock_released');
  });

  it('should resolve as before once a later commit is written (a failure that heals is reported, not fatal)', async () => {
    const box = unwritableBox(ONE_PROMPT);
    const events: RuntimeEvent[] = [];
    const runtime = startRun(box, (event) => {
      events.push(event);
      // The first failure heals: the obstacle goes, so the next commit (the settled state) is written.
      if (event.type === 'ledger.write_failed') rmSync(join(box.stateDir, 'permission_ledger.json.tmp'), { recursive: true, force: true });
    });
    const result = await runtime.result;
    expect(result).toMatchObject({ outcome: 'completed', phase: 'COMPLETED' });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['ledger.write_failed', 'ledger.committed']));
  });

  it('should make first-run launch exit 1 with ERR_LEDGER, never exit 0 with nothing saved', async () => {
    const box = unwritableBox();
    const result = await endsWithin(launch(box), 30_000);
    expect(result.code, result.stderr).toBe(1);
    expect(lastJson(result.stdout + result.stderr)).toMatchObject({ error: { code: 'ERR_LEDGER' } });
    expect(journal(box).some((line) => line.type === 'ledger.write_failed')).toBe(true);
  });
});
