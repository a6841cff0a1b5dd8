/**
 * LG-3, "nothing restarts twice", when the ledger must be recovered from its backup. The backup is the
 * generation before the ledger's: right after the RS-3 commit (restart_count 0 → 1) it still says 0. A
 * ledger damaged in that window (bit rot, an editor, a restore from an old copy — anything the checksum
 * refuses) must not give the restart back: the restored run treats the budget as spent.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { openLedgerStore, peekLedger } from '../../src/ledger/index.js';
import { orchestratorDurableProjection } from '../../src/runtime/durable-projection.js';
import { runFirstRun, type RuntimeEvent } from '../../src/runtime/run-first-run.js';
import { createFirstRunService } from '../../src/service/create-first-run-service.js';
import { FakeTcc } from '../support/fake-tcc.js';
import { testSettings } from '../support/settings.js';
import { flush } from '../support/world.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const settings = testSettings({ order: ['screen_capture'] }, { timeoutMs: 1000, pollIntervalMs: 100 });

/** A first run stopped right after its RS-3 commit (the successor never came): ledger says 1, its backup 0. */
async function ledgerAtTheRestartCommit(stateDir: string): Promise<void> {
  const clock = new ManualClock();
  const tcc = new FakeTcc(clock, { screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 300, afterRestart: true } } } as never);
  const store = openLedgerStore({ stateDir, fsync: false, durableProjection: orchestratorDurableProjection });
  store.load();
  let asked = false;
  const service = createFirstRunService({
    settings,
    backend: tcc.view(),
    clock,
    // SIGKILLed right as the successor is started: nothing after the RS-3 commit reaches the disk.
    persist: (snapshot, summary) => (asked ? new Promise(() => {}) : store.commit(snapshot, summary)),
    relauncher: {
      relaunch: () => {
        asked = true;
        return new Promise(() => {}); // a crash now: nothing more is written
      },
    },
  });
  service.start();
  for (let i = 0; i < 600 && !asked; i++) {
    clock.advance(250);
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  expect(asked).toBe(true);
  service.actor.stop(); // kill -9: no final persist
  await store.flush();
}

describe('LG-3: a ledger recovered from its backup never gives the restart back', () => {
  it('restores the backup of restart_count 0 with the budget spent when the ledger of the RS-3 commit is damaged', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-run-recovered-'));
    dirs.push(stateDir);
    await ledgerAtTheRestartCommit(stateDir);
    const ledgerFile = path.join(stateDir, 'permission_ledger.json');
    const main = peekLedger(stateDir);
    expect(main).toMatchObject({ kind: 'ok', envelope: { summary: { restart_count: 1 } } });
    const backup = JSON.parse(fs.readFileSync(`${ledgerFile}.bak`, 'utf8')) as { summary: { restart_count: number } };
    expect(backup.summary.restart_count).toBe(0);

    const bytes = fs.readFileSync(ledgerFile);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01; // one flipped bit: the checksum refuses it
    fs.writeFileSync(ledgerFile, bytes);

    const db = path.join(stateDir, 'tcc.json');
    fs.writeFileSync(db, JSON.stringify({ permissions: { screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50, effective: 'after_restart' } } } }));
    const events: RuntimeEvent[] = [];
    const runtime = runFirstRun({
      stateDir,
      settings,
      backend: createSimBackend({ file: db }),
      relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: '-e', args: ['0'] },
      onEvent: (event) => events.push(event),
    });
    const result = await runtime.result;
    const types = events.map((event) => event.type);
    expect(types).toContain('ledger.recovered');
    expect(types).toContain('ledger.budget_spent_on_recovery');
    expect(types).not.toContain('restart.count_changed');
    expect(types).not.toContain('restart.handoff_started');
    expect(result.restartCount).toBe(1);
  }, 30_000);
});
