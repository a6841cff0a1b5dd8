/**
 * The hand-off's failure paths and the `bundle` strategy, with real processes (issue 13 item 10): an
 * embedding app (test/process/fixtures/embedded-app.mjs) against the compiled library.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative as relativePath, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allWritersGone, assertBuilt, isAlive, journal, journalInvariants, ledgerPhase, QUICK_DB, quickConfig, sandbox, waitFor, type Sandbox } from '../support/processes.js';

beforeAll(() => assertBuilt());

const FIXTURES = resolve(import.meta.dirname, 'fixtures');
const APP = join(FIXTURES, 'embedded-app.mjs');

function startApp(box: Sandbox, env: NodeJS.ProcessEnv, args: string[] = [], cwd?: string) {
  const child = spawn(process.execPath, [APP, ...args], {
    cwd,
    env: { ...process.env, APP_STATE_DIR: box.stateDir, APP_SIM_DB: box.simDb, APP_CONFIG: box.config, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; result: Record<string, unknown>; stderr: string }>((done) =>
    child.on('exit', (code) =>
      setImmediate(() => done({ code, result: JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>, stderr })),
    ),
  );
  return { child, exited };
}

describe('the hand-off when the successor fails, and the bundle strategy', () => {
  it('a successor that never proves alive: cancelled, killed, verified in place (restart_unverified), never retried; a late successor does not run', async () => {
    // Screen Recording granted at once (still needs_restart by default): a restart is decided, and the
    // in-place verification after the failed hand-off finds everything granted.
    const db = { permissions: { ...QUICK_DB.permissions, screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50 } } } };
    const box = sandbox(db, quickConfig({ handoffSec: 1 }));
    const app = startApp(box, { APP_SUCCESSOR_ENTRY: join(FIXTURES, 'never-proves.mjs') });
    const { code, result } = await app.exited;
    expect(code).toBe(0);
    expect(result).toMatchObject({ outcome: 'completed', restartCount: 1 });
    expect(result.warnings).toContain('restart_unverified');
    const lines = journal(box);
    const started = lines.filter((e) => e.type === 'restart.handoff_started');
    expect(started).toHaveLength(1); // never tried again
    const childPid = started[0]!.child_pid as number;
    await waitFor('the silent successor to be killed', () => !isAlive(childPid), 5000);
    expect(lines.filter((e) => e.type === 'restart.executed')).toEqual([]);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    const markers = readdirSync(join(box.stateDir, 'handoff')).filter((name) => name.endsWith('.cancelled'));
    expect(markers).toHaveLength(1);

    // The successor of that token, coming late: sees the cancellation and exits without running.
    const token = markers[0]!.replace(/\.cancelled$/, '');
    const before = readFileSync(join(box.stateDir, 'permission_ledger.json'), 'utf8');
    const late = startApp(box, {}, ['--successor-of', String(app.child.pid), '--handoff-token', token]);
    const lateEnd = await late.exited;
    expect(lateEnd.code).toBe(0);
    expect(lateEnd.result).toMatchObject({ outcome: 'cancelled_successor' });
    expect(readFileSync(join(box.stateDir, 'permission_ledger.json'), 'utf8')).toBe(before);
    expect(journal(box).some((e) => e.pid === late.child.pid && e.type === 'restart.successor_cancelled')).toBe(true);
  });

  it.each([
    ['an absolute state dir', false],
    ['a relative state dir (the run\'s directory goes by `open --env`, HE-3)', true],
  ])('the bundle strategy end to end through a stand-in for `open`, %s: one restart, the successor verifies and completes', async (_what, relative) => {
    const config = quickConfig();
    (config.integrations.permissions_v2.restart as Record<string, unknown>).strategy = 'bundle';
    const box = sandbox(undefined, config);
    const log = join(box.dir, 'app.log');
    const env = { APP_STRATEGY: 'bundle', APP_OPENER: join(FIXTURES, 'fake-open.sh'), APP_NODE: process.execPath, APP_ENTRY: APP, APP_LOG: log };
    writeFileSync(log, '');
    const first = relative ? startApp(box, { ...env, APP_STATE_DIR: relativePath(box.dir, box.stateDir) }, [], box.dir) : startApp(box, env);
    const { code, result } = await first.exited;
    expect(code).toBe(0);
    expect(result).toMatchObject({ outcome: 'handed_off', restartCount: 1 });
    await allWritersGone(box);
    expect(ledgerPhase(box)).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    const invariants = journalInvariants(journal(box));
    expect(invariants.restartsExecuted).toBe(1);
    const executed = journal(box).find((e) => e.type === 'restart.executed')!;
    expect(journal(box).some((e) => e.pid === executed.new_pid && e.type === 'instance.lock_acquired')).toBe(true);
    expect(readFileSync(log, 'utf8')).toContain('"outcome":"completed"');
    expect(existsSync(join(box.stateDir, 'handoff'))).toBe(true);
  });
});
