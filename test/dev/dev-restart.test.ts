/**
 * Dev mode (DV-1) against real processes: `first-run launch --dev` restarts the whole process through
 * the hand-off on a change, restores the root snapshot and the queued events, never touches
 * `restart_count`, and survives new code that does not start.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HANGING_MODULE,
  cleanupAll,
  isAlive,
  journalTail,
  launchDev,
  lockOwnerPid,
  makeWorld,
  readJournal,
  readLedgerSnapshot,
  waitForEvent,
  waitUntil,
  type JournalLine,
  type World,
} from './helpers.js';

afterEach(cleanupAll);

const of = (pid: number, type: string) => (line: JournalLine) => line.pid === pid && line.type === type;
const count = (world: World, type: string) => readJournal(world.stateDir).filter((line) => line.type === type).length;

/** Launch and wait until the run sits in PIPELINE (microphone done, accessibility waiting) and the watcher is up. */
async function launchReady(world: World, extra: string[] = []) {
  const launched = launchDev(world, extra);
  const step = await waitForEvent(world, 'the accessibility request', (line) => line.pid === launched.pid && line.type === 'permissions.v2.activation_requested' && line.permission === 'accessibility');
  await waitForEvent(world, 'the ledger with the step', (line) => line.pid === launched.pid && line.type === 'ledger.committed' && line.ts >= step.ts);
  await waitForEvent(world, 'the watcher', of(launched.pid, 'dev.watching'));
  return launched;
}

function touch(world: World, note: string): void {
  writeFileSync(world.module, `${readFileSync(world.module, 'utf8')}// ${note}\n`);
}

describe('launch --dev', () => {
  it('should hand the lock to a new PID on a change and restore the same state', async () => {
    const world = makeWorld();
    const old = await launchReady(world);
    const before = readLedgerSnapshot(world.stateDir);

    touch(world, 'a change');
    const restarted = await waitForEvent(world, 'dev.restarted', (line) => line.type === 'dev.restarted');
    const newPid = restarted.new_pid as number;
    expect(restarted.old_pid).toBe(old.pid);
    expect(newPid).not.toBe(old.pid);
    const restored = await waitForEvent(world, 'dev.state_restored', of(newPid, 'dev.state_restored'));
    await waitForEvent(world, 'a ledger commit by the successor after the restore', (line) => line.pid === newPid && line.type === 'ledger.committed' && line.ts >= restored.ts);

    // Exactly one instance: the new PID holds the lock, the old one exited cleanly.
    expect(lockOwnerPid(world.stateDir)).toBe(newPid);
    expect(await old.exited).toEqual({ code: 0, signal: null });
    expect(isAlive(old.pid)).toBe(false);

    // The root snapshot the old process saved is the one the new process runs.
    const saved = JSON.parse(readFileSync(path.join(world.stateDir, 'dev-restart-state.restored.json'), 'utf8')) as {
      fromPid: number;
      events: unknown[];
      snapshot: ReturnType<typeof readLedgerSnapshot>;
    };
    const after = readLedgerSnapshot(world.stateDir);
    expect(saved.fromPid).toBe(old.pid);
    for (const snapshot of [before, saved.snapshot]) {
      expect(after.value).toEqual(snapshot.value);
      expect(after.value).toEqual({ PIPELINE: 'step' });
      expect(after.context.results).toEqual(snapshot.context.results);
      expect(after.context.requested).toEqual(snapshot.context.requested);
      expect(after.context.statuses).toEqual(snapshot.context.statuses);
    }
    expect(after.context.results).toMatchObject({ microphone: { outcome: 'granted' } });
    expect(restored).toMatchObject({ phase: 'PIPELINE', phase_now: 'PIPELINE', source: 'dev_state', events: 1, from_pid: old.pid });

    // restart_count untouched, no first-run restart logic at all.
    expect(after.children.relaunchGate!.snapshot.context.restartCount).toBe(0);
    expect(saved.snapshot.children.relaunchGate!.snapshot.context.restartCount).toBe(0);
    expect(readJournal(world.stateDir).filter((line) => line.type.startsWith('restart.'))).toEqual([]);

    // The event queued during the shutdown was re-delivered: the tray follows it (mode remembered under the badge).
    expect(saved.events).toEqual([{ type: 'app.mode_changed', mode: 'PROCESSING' }]);
    expect(saved.snapshot.children.tray!.snapshot.context.mode).toBe('SLEEPING');
    expect(after.children.tray!.snapshot.context.mode).toBe('PROCESSING');

    // The app-level counter carried across; its old timer died with the old process.
    const counterSaved = readJournal(world.stateDir).find(of(old.pid, 'fixture.counter_saved'))!;
    const counterRestored = await waitForEvent(world, 'the restored counter', of(newPid, 'fixture.counter_restored'));
    expect(counterSaved.value).toBeGreaterThan(0);
    expect(counterRestored).toMatchObject({ value: counterSaved.value, restored: true });

    // The journal tells the story, in order.
    const story = readJournal(world.stateDir)
      .filter((line) => line.type.startsWith('dev.') && line.type !== 'dev.watching')
      .map((line) => `${line.pid === old.pid ? 'old' : 'new'} ${line.type}`);
    expect(story).toEqual([
      'old dev.change_detected',
      'old dev.shutdown_started',
      'old dev.state_saved',
      'old dev.successor_spawned',
      'new dev.successor_started',
      'old dev.restarted',
      'new dev.state_restored',
    ]);
  });

  it('should restart exactly once for a burst of 20 changes', async () => {
    const world = makeWorld();
    const old = await launchReady(world);
    for (let i = 0; i < 20; i++) {
      touch(world, `burst ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const restarted = await waitForEvent(world, 'dev.restarted', (line) => line.type === 'dev.restarted');
    const newPid = restarted.new_pid as number;
    const watching = await waitForEvent(world, "the successor's watcher", of(newPid, 'dev.watching'));
    await old.exited;

    expect(count(world, 'dev.change_detected')).toBe(1);
    expect(count(world, 'dev.shutdown_started')).toBe(1);
    expect(count(world, 'dev.successor_spawned')).toBe(1);
    expect(count(world, 'dev.restarted')).toBe(1);
    // Nothing left over for the successor: it saw no change newer than its own start.
    expect(watching.changed_since_start).toBe(0);
    expect(lockOwnerPid(world.stateDir)).toBe(newPid);
  });

  it('should force a hanging shutdown hook after --shutdown-timeout and still start exactly one successor', async () => {
    const world = makeWorld(HANGING_MODULE);
    const old = await launchReady(world, ['--shutdown-timeout', '300']);

    touch(world, 'a change');
    const forced = await waitForEvent(world, 'dev.shutdown_forced', (line) => line.type === 'dev.shutdown_forced');
    const started = readJournal(world.stateDir).find(of(old.pid, 'dev.shutdown_started'))!;
    expect(forced).toMatchObject({ pid: old.pid, timeout_ms: 300, waiting_for: ['hangs'] });
    const waited = Date.parse(forced.ts) - Date.parse(started.ts);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2_000);

    const restarted = await waitForEvent(world, 'dev.restarted', (line) => line.type === 'dev.restarted');
    const newPid = restarted.new_pid as number;
    await waitForEvent(world, 'dev.state_restored', of(newPid, 'dev.state_restored'));
    // The old process exits even though its hook hangs and its timer is still armed.
    expect(await old.exited).toEqual({ code: 0, signal: null });
    expect(lockOwnerPid(world.stateDir)).toBe(newPid);
    expect(count(world, 'dev.successor_spawned')).toBe(1);
    expect(count(world, 'dev.restarted')).toBe(1);
  });

  it('should keep the state and wait for changes when the new code fails to start, then restart once it is fixed', async () => {
    const world = makeWorld();
    const old = await launchReady(world);
    const good = readFileSync(world.module, 'utf8');

    writeFileSync(world.module, `${good}\nexport const broken = ;\n`);
    const failed = await waitForEvent(world, 'dev.restart_failed', (line) => line.type === 'dev.restart_failed');
    expect(failed).toMatchObject({ pid: old.pid, exit_code: 1 });
    const startFailed = readJournal(world.stateDir).find((line) => line.type === 'dev.start_failed')!;
    expect(startFailed.pid).not.toBe(old.pid);
    expect(String(startFailed.message)).toMatch(/dev\.mjs failed to load[\s\S]*SyntaxError/);
    await waitUntil('the failure on the terminal', () => /failed to load[\s\S]*waiting for file changes/.test(old.output()), 5_000, old.output);

    // Nothing lost, never two instances: the old process keeps the lock (app stopped) and the state file.
    expect(isAlive(old.pid)).toBe(true);
    expect(lockOwnerPid(world.stateDir)).toBe(old.pid);
    const kept = JSON.parse(readFileSync(path.join(world.stateDir, 'dev-restart-state.json'), 'utf8')) as { phase: string; restartCount: number };
    expect(kept).toMatchObject({ phase: 'PIPELINE', restartCount: 0 });
    expect(readJournal(world.stateDir).filter((line) => line.type.startsWith('restart.'))).toEqual([]);

    writeFileSync(world.module, `${good}// fixed\n`);
    const restarted = await waitForEvent(world, 'dev.restarted', (line) => line.type === 'dev.restarted');
    const newPid = restarted.new_pid as number;
    const restored = await waitForEvent(world, 'dev.state_restored', of(newPid, 'dev.state_restored'));
    expect(restored).toMatchObject({ phase: 'PIPELINE', phase_now: 'PIPELINE', restart_count: 0, source: 'dev_state', from_pid: old.pid });
    expect(await old.exited).toEqual({ code: 0, signal: null });
    expect(lockOwnerPid(world.stateDir)).toBe(newPid);
    expect(count(world, 'dev.shutdown_started')).toBe(1); // the app was shut down once; the retry only re-spawned
    expect(existsSync(path.join(world.stateDir, 'dev-restart-state.json'))).toBe(false);
  });

  it('should never watch or restore in a launch without --dev, and report a stale dev-restart file', async () => {
    const world = makeWorld();
    writeFileSync(world.simDb, JSON.stringify({ permissions: Object.fromEntries(['microphone', 'accessibility', 'input_monitoring', 'screen_capture'].map((p) => [p, { status: 'granted' }])) }));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(world.stateDir, 'dev-restart-state.json'), '{"kind":"first-run.dev-restart","version":1,"token":"stale-token","events":[]}');

    const launched = launchDev(world, [], { dev: false });
    expect(await launched.exited).toEqual({ code: 0, signal: null });
    const types = readJournal(world.stateDir).map((line) => line.type);
    expect(types).toContain('dev.state_ignored');
    expect(types).not.toContain('dev.watching');
    expect(types).not.toContain('dev.state_restored');
    expect(existsSync(path.join(world.stateDir, 'dev-restart-state.json'))).toBe(false);
    expect(existsSync(path.join(world.stateDir, 'dev-restart-state.stale.json'))).toBe(true);
    expect(launched.output()).toMatch(/ignored a dev-restart state file/);
    expect(journalTail(world)).toContain('COMPLETED');
  });

  it.each([
    [['--watch', '.'], /--watch.*dev-mode option/],
    [['--dev'], /--dev` needs at least one `--watch DIR`/],
    [['--dev', '--watch', '/nonexistent/dir'], /existing file or directory/],
  ])('should refuse %j with a clear usage error', async (extra, message) => {
    const world = makeWorld();
    const launched = launchDev(world, extra, { dev: false });
    const exit = await launched.exited;
    expect(launched.output()).toMatch(message);
    expect(exit.code).not.toBe(0);
  });
});
