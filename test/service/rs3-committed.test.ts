/**
 * RS-3, checked on what was committed: the successor starts only once the ledger *file* holds the
 * request and its `restart_count` 1 — not once the snapshot in memory does, and not once a persist hook
 * says it wrote. Real ledger files in a temp dir; the relauncher reads the file at the instant it is
 * asked to start the successor. (Sabotage catalogue: `rs3-no-await`, `rs3-check-reads-memory`.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedgerStore, peekLedger } from '../../src/ledger/index.js';
import { committedGate } from '../../src/protocol/gate-view.js';
import { createFirstRunService, type FirstRunService } from '../../src/service/create-first-run-service.js';
import { orchestratorDurableProjection } from '../../src/runtime/durable-projection.js';
import { ManualClock } from '../../src/clock.js';
import { FakeTcc } from '../support/fake-tcc.js';
import { testSettings } from '../support/settings.js';
import { flush } from '../support/world.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A first run whose only permission needs a restart to be seen (screen capture, granted at its prompt). */
function firstRun(stateDir: string, persistWrites: boolean) {
  const clock = new ManualClock();
  const tcc = new FakeTcc(clock, { screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 300, afterRestart: true } } } as never);
  const store = openLedgerStore({ stateDir, fsync: false, durableProjection: orchestratorDurableProjection });
  store.load();
  const seenAtRelaunch: (ReturnType<typeof committedGate> | 'no ledger')[] = [];
  const requests: string[] = [];
  const service: FirstRunService = createFirstRunService({
    settings: testSettings({ order: ['screen_capture'] }),
    backend: tcc.view(),
    clock,
    // A persist hook that acknowledges without writing stands for any commit that did not reach the file.
    // A slow disk (as macOS's F_FULLFSYNC is): the commit lands some time after it was asked for.
    persist: persistWrites
      ? async (snapshot, summary) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return store.commit(snapshot, summary);
        }
      : async () => ({ generation: 1 }),
    readCommitted: () => {
      const onDisk = peekLedger(stateDir);
      return onDisk.kind === 'ok' ? committedGate(onDisk.envelope.snapshot) : null;
    },
    relauncher: {
      relaunch: async (request) => {
        requests.push(request.requestId);
        const onDisk = peekLedger(stateDir);
        seenAtRelaunch.push(onDisk.kind === 'ok' ? committedGate(onDisk.envelope.snapshot) : 'no ledger');
        return { newPid: 4242 };
      },
    },
  });
  const failed: unknown[] = [];
  service.on('restart.failed', (event) => failed.push(event));
  return { clock, service, store, seenAtRelaunch, requests, failed };
}

async function runUntil(clock: ManualClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) {
    clock.advance(250);
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the ledger's file I/O completes
  }
}

/** A first run in a fresh state dir, run until it asks for the relaunch or its restart fails. */
async function runToTheRelaunch(persistWrites: boolean) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-run-rs3-'));
  dirs.push(stateDir);
  const run = firstRun(stateDir, persistWrites);
  run.service.start();
  await runUntil(run.clock, () => run.requests.length > 0 || run.failed.length > 0);
  return run;
}

describe('RS-3 on the committed ledger', () => {
  it('the successor is started only once the ledger file holds restart_count 1 with the request', async () => {
    const run = await runToTheRelaunch(true);
    expect(run.failed).toEqual([]);
    expect(run.requests).toHaveLength(1);
    expect(run.seenAtRelaunch).toEqual([{ restartCount: 1, requestId: run.requests[0] }]);
    await run.service.stop();
    await run.store.close();
  });

  it('a commit the hook acknowledged but the file does not hold starts no successor (the check reads the file)', async () => {
    const run = await runToTheRelaunch(false);
    expect(run.requests).toEqual([]);
    expect(run.failed).toEqual([expect.objectContaining({ stage: 'commit', message: expect.stringMatching(/not in the committed ledger.*RS-3/) })]);
    expect(run.service.gateResult).toMatchObject({ kind: 'failed' });
    await run.service.stop();
    await run.store.close();
  });
});
