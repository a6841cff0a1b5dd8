/**
 * The warm route of `runFirstRun` (src/runtime/warm-start.ts) in a real state dir: it settles without a
 * service and writes nothing but the journal; anything that asks for a live service, or a permission
 * that no longer reads granted, runs the machines instead — which publish each event once. And a warm
 * `first-run launch` process never loads xstate (a module-load probe, not a timing).
 */
import { lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { canonicalJson, sha256Checksum, serializeEnvelope } from '../../src/ledger/index.js';
import { parseConfig } from '../../src/config/index.js';
import { runFirstRun, type RunFirstRunOptions, type RuntimeEvent } from '../../src/runtime/run-first-run.js';
import { ALL_GRANTED, assertBuilt, BIN, lastJson, launch, quickConfig, sandbox, type Sandbox } from '../support/processes.js';
import { enableFaultInjection } from '../support/fault-injection.js';

const settings = parseConfig(quickConfig(), 'test config', { env: {} });

async function start(box: Sandbox, extra: Partial<RunFirstRunOptions> = {}) {
  const events: RuntimeEvent[] = [];
  const runtime = runFirstRun({
    stateDir: box.stateDir,
    settings,
    backend: createSimBackend({ file: box.simDb }),
    relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: BIN, args: [] },
    onEvent: (event) => events.push(event),
    ...extra,
  });
  const result = await runtime.result;
  return { result, events, types: events.map((e) => e.type), service: runtime.service };
}

const lstatOrNull = (file: string) => lstatSync(file, { throwIfNoEntry: false }) ?? null;
const generationOf = (box: Sandbox) => JSON.parse(readFileSync(join(box.stateDir, 'permission_ledger.json'), 'utf8')).generation as number;

/** A state dir after a first run and one warm launch through the machines. */
async function warmBox(): Promise<Sandbox> {
  const box = sandbox(ALL_GRANTED);
  await start(box, { onStarted: () => {} });
  await start(box, { onStarted: () => {} });
  return box;
}

describe('the warm route of runFirstRun', () => {
  beforeAll(() => assertBuilt());

  it('settles COMPLETED without a service, writes no ledger, and keeps a backup', async () => {
    const box = await warmBox();
    const generation = generationOf(box);
    const ledgerMtime = statSync(join(box.stateDir, 'permission_ledger.json')).mtimeMs;
    const warm = await start(box);
    expect(warm.result).toEqual({ outcome: 'completed', phase: 'COMPLETED', restartCount: 0, warnings: [], ledger: 'restored' });
    expect(warm.service).toBeNull();
    expect(warm.types).toEqual([
      'instance.lock_acquired',
      'ledger.loaded',
      'permissions.v2.phase',
      'tray.status_updated',
      ...settings.order.map(() => 'permissions.status_checked'),
      'permissions.v2.phase',
      'permissions.first_run_completed',
      'instance.lock_releasing',
      'instance.lock_released',
    ]);
    expect(warm.events.find((e) => e.type === 'permissions.first_run_completed')).toMatchObject({ results: {}, warnings: [], restart_outcome: null, pid: process.pid });
    expect(generationOf(box)).toBe(generation);
    expect(statSync(join(box.stateDir, 'permission_ledger.json')).mtimeMs).toBe(ledgerMtime);
    expect(statSync(join(box.stateDir, 'permission_ledger.json.bak')).isFile()).toBe(true);
  });

  it('runs the machines when a live service is asked for (onStarted, stay)', async () => {
    const box = await warmBox();
    let started = false;
    const withHook = await start(box, { onStarted: () => (started = true) });
    expect(started).toBe(true);
    expect(withHook.service).not.toBeNull();
    const runtime = runFirstRun({
      stateDir: box.stateDir,
      settings,
      backend: createSimBackend({ file: box.simDb }),
      relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: BIN, args: [] },
      stay: true,
    });
    expect((await runtime.result).outcome).toBe('completed');
    expect(runtime.service).not.toBeNull();
    await runtime.close();
  });

  it('a permission revoked since: the machines run, and nothing is published twice', async () => {
    const box = await warmBox();
    writeFileSync(box.simDb, JSON.stringify({ permissions: { ...ALL_GRANTED.permissions, accessibility: { status: 'denied' } } }));
    const run = await start(box);
    expect(run.service).not.toBeNull();
    const phases = run.events.filter((e) => e.type === 'permissions.v2.phase').map((e) => (e as { phase?: unknown }).phase);
    expect(phases.slice(0, 2)).toEqual(['PRECHECK', 'PIPELINE']);
    expect(run.types.filter((t) => t === 'ledger.loaded')).toHaveLength(1);
    expect(phases.filter((phase) => phase === 'PRECHECK')).toHaveLength(1);
    expect(run.events.filter((e) => e.type === 'permissions.changed')).toEqual([
      expect.objectContaining({ permission: 'accessibility', from: 'granted', to: 'denied' }),
    ]);
  });

  it('a torn ledger over a backup the machines refuse: the machines load it, whole — safe mode, a generation above the torn one', async () => {
    const box = await warmBox();
    const ledgerFile = join(box.stateDir, 'permission_ledger.json');
    const envelope = JSON.parse(readFileSync(ledgerFile, 'utf8')) as { snapshot: { value: unknown }; summary: { phase: string; restart_count: number } };
    const gone = { ...envelope.snapshot, value: 'GONE' };
    const snapshotJson = canonicalJson(gone);
    const backup = serializeEnvelope({ generation: 5, writerPid: 1, writtenAt: new Date().toISOString(), summary: envelope.summary, snapshotJson, checksum: sha256Checksum(snapshotJson) });
    writeFileSync(join(box.stateDir, 'permission_ledger.json.bak'), backup);
    writeFileSync(ledgerFile, '{"schema":1,"generation":9,"writer_pid":1,'); // torn
    const run = await start(box);
    expect(run.result.ledger).toBe('safe_mode');
    expect(run.events.filter((e) => e.type === 'ledger.loaded')).toEqual([expect.objectContaining({ kind: 'safe_mode' })]);
    expect(run.events.find((e) => e.type === 'ledger.safe_mode')).toMatchObject({ reasons: ['ledger:truncated', 'backup:unknown_state'] });
    expect(run.types).not.toContain('ledger.recovered');
    expect(generationOf(box)).toBeGreaterThan(9);
  });

  it('a full disk on the warm route ends the run with ERR_JOURNAL and releases the lock', async () => {
    const box = await warmBox();
    process.env.FIRST_RUN_FAULT_JOURNAL_ENOSPC = 'first:3'; // lock acquired, ledger loaded, then the warm lines
    const disableFaults = enableFaultInjection();
    try {
      const runtime = runFirstRun({
        stateDir: box.stateDir,
        settings,
        backend: createSimBackend({ file: box.simDb }),
        relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: BIN, args: [] },
      });
      await expect(runtime.result).rejects.toMatchObject({ code: 'ERR_JOURNAL' });
      expect(runtime.service).toBeNull();
    } finally {
      delete process.env.FIRST_RUN_FAULT_JOURNAL_ENOSPC;
      disableFaults();
    }
    expect(lstatOrNull(join(box.stateDir, 'instance.lock'))).toBeNull();
  });

  it('a warm `first-run launch` process settles without loading xstate or node:crypto', async () => {
    const box = sandbox(ALL_GRANTED);
    const probe = join(box.dir, 'probe.cjs');
    const seen = join(box.dir, 'loaded.json');
    writeFileSync(
      probe,
      `const Module = require('node:module'); const loaded = new Set(); const load = Module._load;
       Module._load = function (request, ...rest) { loaded.add(request); return load.call(this, request, ...rest); };
       process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify([...loaded])));`,
    );
    const env = { NODE_OPTIONS: `--require ${probe}` };
    expect((await launch(box, [], env).exited).code).toBe(0); // first run: the machines
    expect(JSON.parse(readFileSync(seen, 'utf8'))).toContain('xstate');
    expect((await launch(box, [], env).exited).code).toBe(0);
    const warm = launch(box, [], env);
    const exited = await warm.exited;
    expect(exited.code).toBe(0);
    expect(lastJson(exited.stdout)).toMatchObject({ outcome: 'completed', phase: 'COMPLETED' });
    const warmLoaded = JSON.parse(readFileSync(seen, 'utf8')) as string[];
    expect(warmLoaded).not.toContain('xstate');
    // Nor node:crypto (~3 ms in a fresh process): the ledger is verified and the lock token drawn without it.
    expect(warmLoaded.filter((id) => id === 'crypto' || id === 'node:crypto')).toEqual([]);
  });
});
