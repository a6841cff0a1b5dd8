import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, sha256Checksum } from '../../src/ledger/canonical-json.js';
import {
  ALL_GRANTED,
  allWritersGone,
  assertBuilt,
  isAlive,
  journal,
  journalInvariants,
  launch,
  ledgerPhase,
  plantProof,
  quickConfig,
  run,
  sandbox,
  waitFor,
} from '../support/processes.js';

beforeAll(() => assertBuilt());

describe('first-run launch, real processes', () => {
  it('RS-7/RS-3 one launch: one real relaunch, the successor verifies and completes', async () => {
    const box = sandbox();
    const first = launch(box);
    const { code, stdout } = await first.exited;
    expect(code).toBe(0);
    // The successor shares our stdout and may print its own line before this process has exited.
    const ours = stdout.trim().split('\n').map((line) => JSON.parse(line) as { pid: number }).find((line) => line.pid === first.child.pid);
    expect(ours).toMatchObject({ outcome: 'handed_off', restart_count: 1 });
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    const lines = journal(box);
    const executed = lines.find((e) => e.type === 'restart.executed')!;
    expect(executed.new_pid).not.toBe(first.child.pid);
    expect(lines.some((e) => e.pid === executed.new_pid && e.type === 'instance.lock_acquired')).toBe(true);
    // The successor took the lock only after the old process released it.
    // (`lock_releasing` is journaled right before the release: with event-driven wake-ups the successor
    // may journal its acquisition before the old process gets to journal `lock_released`.)
    const released = lines.findIndex((e) => e.pid === first.child.pid && e.type === 'instance.lock_releasing');
    const acquired = lines.findIndex((e) => e.pid === executed.new_pid && e.type === 'instance.lock_acquired');
    expect(released).toBeGreaterThan(-1);
    expect(acquired).toBeGreaterThan(released);
    expect(journalInvariants(lines)).toMatchObject({ restartsExecuted: 1, successorsStarted: 1, countRises: 1, interleaved: false, generationsIncrease: true });
    // EV-3: every line {ts, pid, type}; a ledger.committed per write.
    for (const line of lines) expect(Object.keys(line).slice(0, 3)).toEqual(['ts', 'pid', 'type']);
    expect(lines.filter((e) => e.type === 'ledger.committed').length).toBeGreaterThan(3);
    // LG-5: the flags are written for older consumers.
    expect(existsSync(join(box.stateDir, 'permissions_first_run_completed.flag'))).toBe(true);
    expect(existsSync(join(box.stateDir, 'restart_completed.flag'))).toBe(true);
  });

  it('LK-1 16 simultaneous launches: one runs, the rest exit 3 naming the holder; one restart in total; COMPLETED', async () => {
    const box = sandbox(undefined, quickConfig({ timeoutSec: 1 }));
    const launches = Array.from({ length: 16 }, () => launch(box));
    const results = await Promise.all(launches.map((l) => l.exited));
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code === 3);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(15);
    for (const loser of losers) {
      const error = JSON.parse(loser.stdout.trim()) as { error: { code: string; holder: { pid: number } } };
      expect(error.error.code).toBe('ERR_LOCK_ACQUISITION');
      expect(typeof error.error.holder.pid).toBe('number');
    }
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(journalInvariants(journal(box))).toMatchObject({ restartsExecuted: 1, successorsStarted: 1, interleaved: false });
  });

  it('RS-4 SIGTERM in the restart window: the restart is cancelled, nothing relaunches, exit 0', async () => {
    const box = sandbox(undefined, quickConfig({ delaySec: 20 }));
    const first = launch(box);
    await waitFor('restart.requested', () => journal(box).some((e) => e.type === 'restart.requested'));
    first.child.kill('SIGTERM');
    const { code, stdout } = await first.exited;
    expect(code).toBe(0);
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'quit', restart_count: 0 });
    const lines = journal(box);
    expect(lines.map((e) => e.type)).toContain('restart.cancelled');
    expect(lines.filter((e) => e.type === 'restart.handoff_started' || e.type === 'restart.executed')).toEqual([]);
    expect(ledgerPhase(box)).toEqual({ phase: 'RESTART_REQUESTED', restart_count: 0 });
    // The next launch is a new process: it verifies, never relaunches.
    const next = launch(box);
    expect((await next.exited).code).toBe(0);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 0 });
    expect(journal(box).filter((e) => e.type === 'restart.executed')).toEqual([]);
  });

  it('LK-2 a SIGSTOPped holder (a laptop asleep) is never taken over; a SIGKILLed one is, fast', async () => {
    const box = sandbox(ALL_GRANTED);
    const holder = launch(box, ['--stay']);
    await waitFor('the holder to settle and stay', () => holder.stdout().length > 0 || journal(box).some((e) => e.type === 'permissions.first_run_completed'));
    holder.child.kill('SIGSTOP');
    try {
      const contender = launch(box, ['--lock-timeout', '1500']);
      const result = await contender.exited;
      expect(result.code).toBe(3);
      expect(result.stdout).toContain(String(holder.child.pid));
    } finally {
      holder.child.kill('SIGCONT');
    }
    holder.child.kill('SIGKILL');
    await holder.exited;
    const started = Date.now();
    const taker = launch(box);
    const result = await taker.exited;
    const tookMs = Date.now() - started;
    expect(result.code).toBe(0);
    const acquired = journal(box).find((e) => e.pid === taker.child.pid && e.type === 'instance.lock_acquired')!;
    console.log(`LK-2 takeover of a SIGKILLed holder's lock: waited ${String(acquired.waited_ms)} ms inside the contender; whole launch ${tookMs} ms`);
    expect(acquired).toBeDefined();
  });

  it('RS-7 a launch that slips into the hand-off gap yields the lock to the waiting successor (exit 3)', async () => {
    const box = sandbox(ALL_GRANTED);
    // A successor that proved itself alive and waits for the lock (a live process with a hand-off proof).
    const waiting = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      plantProof(box.stateDir, waiting.pid!);
      const late = launch(box);
      const result = await late.exited;
      expect(result.code).toBe(3);
      expect(result.stdout).toContain(String(waiting.pid));
      expect(journal(box).map((e) => e.type)).toContain('instance.lock_yielded');
      expect(ledgerPhase(box)).toBeNull();
    } finally {
      waiting.kill('SIGKILL');
    }
  });

  const CORRUPTIONS: [string, (file: string) => void][] = [
    ['empty', (f) => writeFileSync(f, '')],
    ['truncated', (f) => writeFileSync(f, readFileSync(f, 'utf8').slice(0, 40))],
    ['garbage', (f) => writeFileSync(f, '\u0000\u0001 not json at all')],
    ['bad checksum', (f) => writeFileSync(f, readFileSync(f, 'utf8').replace(/"checksum":"sha256:[0-9a-f]{4}/, '"checksum":"sha256:0000'))],
    ['unknown schema', (f) => writeFileSync(f, readFileSync(f, 'utf8').replace('"schema":1', '"schema":99'))],
    ['unknown state', (f) => {
      const envelope = JSON.parse(readFileSync(f, 'utf8'));
      envelope.snapshot.value = 'NO_SUCH_PHASE';
      // Keep the checksum valid (recomputed): only the state is wrong, so snapshot validation must catch it.
      envelope.checksum = sha256Checksum(canonicalJson(envelope.snapshot));
      writeFileSync(f, JSON.stringify(envelope));
    }],
    ['symlink', (f) => {
      writeFileSync(`${f}.target`, readFileSync(f));
      rmSync(f);
      symlinkSync(`${f}.target`, f);
    }],
    ['unreadable (a directory)', (f) => {
      rmSync(f);
      mkdirSync(f);
    }],
  ];

  it.each(CORRUPTIONS)('LG-3 a %s ledger (and its backup) → quarantined, journaled, safe mode: pipeline runs, no restart', async (_name, corrupt) => {
    // A ledger from a run that was interrupted before its restart.
    const box = sandbox(undefined, quickConfig({ delaySec: 20 }));
    const first = launch(box);
    await waitFor('restart.requested', () => journal(box).some((e) => e.type === 'restart.requested'));
    first.child.kill('SIGKILL');
    await first.exited;
    const ledger = join(box.stateDir, 'permission_ledger.json');
    corrupt(ledger);
    corrupt(`${ledger}.bak`);
    const next = launch(box, [], {});
    const result = await next.exited;
    expect(result.code).toBe(0);
    await allWritersGone(box);
    const lines = journal(box).filter((e) => e.pid === next.child.pid);
    expect(lines.map((e) => e.type)).toContain('ledger.corrupt');
    if (_name === 'unknown state') {
      expect(lines.filter((e) => e.type === 'ledger.corrupt').map((e) => e.reason)).toEqual(['unknown_state', 'unknown_state']);
    }
    expect(lines.find((e) => e.type === 'ledger.loaded')).toMatchObject({ kind: 'safe_mode' });
    expect(lines.map((e) => e.type)).toContain('permissions.v2.phase');
    expect(lines.filter((e) => e.type === 'restart.executed' || e.type === 'restart.handoff_started')).toEqual([]);
    expect(readdirSync(join(box.stateDir, 'quarantine')).length).toBeGreaterThanOrEqual(1);
    expect(ledgerPhase(box)?.restart_count).toBe(1);
    expect(isAlive(next.child.pid!)).toBe(false);
  });

  it('LG-3 a bad ledger with a good backup → recovered from the backup', async () => {
    const box = sandbox(ALL_GRANTED);
    expect((await launch(box).exited).code).toBe(0);
    expect((await launch(box).exited).code).toBe(0);
    writeFileSync(join(box.stateDir, 'permission_ledger.json'), '{"truncated');
    const next = launch(box);
    expect((await next.exited).code).toBe(0);
    expect(journal(box).find((e) => e.pid === next.child.pid && e.type === 'ledger.loaded')).toMatchObject({ kind: 'recovered' });
  });

  it('CLI exit codes: 2 for bad usage and bad config, with the key path', async () => {
    const usage = await run(['launch', '--no-such-flag']).exited;
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--no-such-flag');
    const box = sandbox(undefined, { integrations: { permissions_v2: { order: ['microphone', 'microphone'], default_step_timeout_s: -1 } } });
    const config = await launch(box).exited;
    expect(config.code).toBe(2);
    const error = JSON.parse(config.stdout.trim()) as { error: { problems: { path: string }[] } };
    const paths = error.error.problems.map((p) => p.path);
    expect(paths).toContain('integrations.permissions_v2.default_step_timeout_s');
    expect(paths.some((p) => p.startsWith('integrations.permissions_v2.order'))).toBe(true);
  });

  it('status --json reports phase, restart_count, the lock and why', async () => {
    const box = sandbox();
    await launch(box).exited;
    await allWritersGone(box);
    const status = await run(['status', '--state-dir', box.stateDir, '--json']).exited;
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { phase: string; restart_count: number; lock: { held: boolean; pid: number | null }; why: { summary: string } };
    expect(parsed).toMatchObject({ phase: 'COMPLETED', restart_count: 1, lock: { held: false } });
    expect(parsed.why.summary).toMatch(/restart executed/);
    const none = await run(['status', '--state-dir', join(box.dir, 'nothing-here'), '--json']).exited;
    expect(JSON.parse(none.stdout)).toMatchObject({ phase: 'NONE', restart_count: 0, lock: { held: false, pid: null } });
  });

  it('reset --yes moves the ledger and flags to quarantine; the next launch is a first run again', async () => {
    const box = sandbox(ALL_GRANTED);
    await launch(box).exited;
    const reset = await run(['reset', '--state-dir', box.stateDir, '--yes', '--json']).exited;
    expect(reset.code).toBe(0);
    expect(ledgerPhase(box)).toBeNull();
    expect(readdirSync(join(box.stateDir, 'quarantine')).length).toBeGreaterThan(0);
    const refused = await run(['reset', '--state-dir', box.stateDir]).exited;
    expect(refused.code).toBe(2);
  });
});
