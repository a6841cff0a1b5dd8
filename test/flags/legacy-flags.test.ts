/**
 * LG-5 and seed 004 "Flags & Persistence" (issue 13.6, 13.7): the cache flags follow committed
 * generations; `restart_completed.flag` is cleared on the next start; `permission_request_attempted.flag`
 * is written on the first attempt, even when the user denied.
 */
import * as fs from 'node:fs';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { parseConfig } from '../../src/config/index.js';
import { createLegacyFlags, selectRequestAttempted, type LegacyFlagChange } from '../../src/runtime/legacy-flags.js';
import { runFirstRun } from '../../src/runtime/run-first-run.js';
import { allWritersGone, assertBuilt, journal, launch, quickConfig, sandbox, waitFor, type JournalLine } from '../support/processes.js';
import { tempDir } from '../support/temp-dir.js';

const COMPLETED_FLAG = 'permissions_first_run_completed.flag';
const RESTART_FLAG = 'restart_completed.flag';
const ATTEMPTED_FLAG = 'permission_request_attempted.flag';

function stateDir(): string {
  const dir = join(tempDir('first-run-flags-'), 'state');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

function keeper(dir: string, successor = false, extra: Partial<Parameters<typeof createLegacyFlags>[0]> = {}) {
  const changes: LegacyFlagChange[] = [];
  const errors: string[] = [];
  const flags = createLegacyFlags({
    stateDir: dir,
    successor,
    assertWriter: () => {},
    onChange: (change) => changes.push(change),
    onError: (flag, error) => errors.push(`${flag}: ${error.message}`),
    ...extra,
  });
  return { flags, changes, errors };
}

const requested = { context: { requested: { microphone: true } }, children: {} };
const nothing = { context: { requested: {} }, children: { step: { snapshot: { context: { requestedNow: false } } } } };

describe('legacy flags, decided from committed generations (LG-5)', () => {
  it('should write permissions_first_run_completed.flag only after a COMPLETED generation is committed', () => {
    const dir = stateDir();
    const { flags, changes } = keeper(dir);
    flags.committed(nothing, { phase: 'PRECHECK', restart_count: 0 }, 1);
    flags.committed(nothing, { phase: 'PIPELINE', restart_count: 0 }, 2);
    expect(existsSync(join(dir, COMPLETED_FLAG))).toBe(false);
    flags.committed(nothing, { phase: 'COMPLETED', restart_count: 0 }, 3);
    expect(JSON.parse(readFileSync(join(dir, COMPLETED_FLAG), 'utf8'))).toMatchObject({ generation: 3, phase: 'COMPLETED' });
    expect(lstatSync(join(dir, COMPLETED_FLAG)).mode & 0o777).toBe(0o600);
    expect(changes).toEqual([{ flag: 'permissions_first_run_completed', present: true, generation: 3, phase: 'COMPLETED' }]);
  });

  it('should write permission_request_attempted.flag after the first commit holding a request, even a denied one', () => {
    const dir = stateDir();
    const { flags, changes } = keeper(dir);
    flags.committed(nothing, { phase: 'PIPELINE', restart_count: 0 }, 1);
    expect(existsSync(join(dir, ATTEMPTED_FLAG))).toBe(false);
    // A step that opened System Settings has requestedNow before its result reaches the orchestrator.
    const inStep = { context: { requested: {} }, children: { step: { snapshot: { context: { requestedNow: true } } } } };
    expect(selectRequestAttempted(inStep)).toBe(true);
    flags.committed(inStep, { phase: 'PIPELINE', restart_count: 0 }, 2);
    flags.committed(requested, { phase: 'FAILED', restart_count: 0 }, 3);
    expect(changes.map((c) => [c.flag, c.generation])).toEqual([['permission_request_attempted', 2]]);
    expect(existsSync(join(dir, ATTEMPTED_FLAG))).toBe(true);
  });

  it('should write restart_completed.flag in the successor only, after its first phase after the restart', () => {
    const dir = stateDir();
    const plain = keeper(dir, false);
    plain.flags.committed(nothing, { phase: 'POST_RESTART_VERIFY', restart_count: 1 }, 5);
    expect(existsSync(join(dir, RESTART_FLAG))).toBe(false);
    const successor = keeper(dir, true);
    successor.flags.started();
    successor.flags.committed(nothing, { phase: 'RESTART_REQUESTED', restart_count: 1 }, 5);
    expect(existsSync(join(dir, RESTART_FLAG))).toBe(false);
    successor.flags.committed(nothing, { phase: 'POST_RESTART_VERIFY', restart_count: 1 }, 6);
    expect(existsSync(join(dir, RESTART_FLAG))).toBe(true);
  });

  it('should clear restart_completed.flag at the next start that is not the successor (seed 004 §6)', () => {
    const dir = stateDir();
    writeFileSync(join(dir, RESTART_FLAG), '{}\n');
    keeper(dir, true).flags.started();
    expect(existsSync(join(dir, RESTART_FLAG))).toBe(true);
    const next = keeper(dir, false);
    next.flags.started();
    expect(existsSync(join(dir, RESTART_FLAG))).toBe(false);
    expect(next.changes).toEqual([{ flag: 'restart_completed', present: false, generation: null, phase: null }]);
    // Nothing to clear: nothing journaled.
    const again = keeper(dir, false);
    again.flags.started();
    expect(again.changes).toEqual([]);
  });

  it('should never follow a planted symlink, and report (not throw) what it cannot write', () => {
    const dir = stateDir();
    const victim = join(dir, '..', 'victim.txt');
    writeFileSync(victim, 'keep me');
    symlinkSync(victim, join(dir, COMPLETED_FLAG));
    mkdirSync(join(dir, ATTEMPTED_FLAG));
    const { flags, errors } = keeper(dir);
    expect(() => flags.committed(requested, { phase: 'COMPLETED', restart_count: 0 }, 1)).not.toThrow();
    // The link was not a regular file: the flag replaced the link itself, the target is untouched.
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(join(dir, COMPLETED_FLAG)).isFile()).toBe(true);
    expect(errors).toEqual([expect.stringMatching(/^permission_request_attempted: /)]);
  });

  it('should write nothing when this process may not write (the lock is lost)', () => {
    const dir = stateDir();
    const { flags, errors } = keeper(dir, false, {
      assertWriter: () => {
        throw new Error('the instance lock is not held');
      },
    });
    flags.committed(requested, { phase: 'COMPLETED', restart_count: 0 }, 1);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(errors).toHaveLength(2);
  });
});

describe('LG-5 in a run: a flag never comes before the commit of the phase it reports', () => {
  it('should journal each flag after the ledger.committed of its generation, holding its phase', async () => {
    const dir = stateDir();
    const db = join(dir, '..', 'tcc.json');
    writeFileSync(db, JSON.stringify({ permissions: { microphone: { status: 'granted' }, accessibility: { status: 'granted' }, input_monitoring: { status: 'granted' }, screen_capture: { status: 'granted' } } }));
    const settings = parseConfig(undefined, 'none');
    const runtime = runFirstRun({
      stateDir: dir,
      settings,
      backend: createSimBackend({ file: db }),
      relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: '/nonexistent', args: [] },
    });
    expect((await runtime.result).outcome).toBe('completed');
    const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as JournalLine);
    const types = lines.map((l) => `${l.type}${l.type === 'ledger.committed' ? `:${String(l.phase)}` : ''}`);
    expect(types.indexOf('ledger.committed:COMPLETED')).toBeGreaterThanOrEqual(0);
    expect(types.indexOf('ledger.flags_written'), 'the completed flag comes after the COMPLETED commit').toBeGreaterThan(
      types.indexOf('ledger.committed:COMPLETED'),
    );
    expectFlagsAfterTheirCommits(lines);
    expect(lines.filter((l) => l.type === 'ledger.flags_written').map((l) => l.flag)).toEqual(['permissions_first_run_completed']);
  });
});

/** Every `ledger.flags_written` that writes a flag comes after the `ledger.committed` of its generation, with that phase. */
function expectFlagsAfterTheirCommits(lines: JournalLine[]) {
  const written = lines.filter((l) => l.type === 'ledger.flags_written' && l.present === true);
  expect(written.length).toBeGreaterThan(0);
  for (const flag of written) {
    const index = lines.indexOf(flag);
    const commit = lines.findIndex((l) => l.type === 'ledger.committed' && l.pid === flag.pid && l.generation === flag.generation);
    expect(commit, `${String(flag.flag)} follows the commit of generation ${String(flag.generation)}`).toBeGreaterThanOrEqual(0);
    expect(commit).toBeLessThan(index);
    expect(lines[commit]!.phase).toBe(flag.phase);
  }
}

describe('LG-5 at a warm start: a lost flag comes back', () => {
  it('should write the completed flag again from the durable COMPLETED generation when every commit is skipped', async () => {
    const dir = stateDir();
    const db = join(dir, '..', 'tcc.json');
    writeFileSync(db, JSON.stringify({ permissions: { microphone: { status: 'granted' }, accessibility: { status: 'granted' }, input_monitoring: { status: 'granted' }, screen_capture: { status: 'granted' } } }));
    const start = () =>
      runFirstRun({
        stateDir: dir,
        settings: parseConfig(undefined, 'none'),
        backend: createSimBackend({ file: db }),
        relaunch: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: '/nonexistent', args: [] },
      }).result;
    expect((await start()).outcome).toBe('completed');
    const flag = join(dir, 'permissions_first_run_completed.flag');
    fs.rmSync(flag); // lost: flags are not fsynced
    const before = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n').length;
    expect((await start()).outcome).toBe('completed');
    expect(fs.existsSync(flag)).toBe(true);
    const warm = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n').slice(before).map((l) => JSON.parse(l) as JournalLine);
    expect(warm.filter((l) => l.type === 'ledger.committed')).toEqual([]); // nothing durable changed
    expect(warm.filter((l) => l.type === 'ledger.flags_written').map((l) => l.flag)).toEqual(['permissions_first_run_completed']);
  });
});

describe('LG-5 with real processes: a first run with its relaunch, then the next start', () => {
  beforeAll(() => assertBuilt());

  it('should write each flag after its commit, restart_completed in the successor, and clear it at the next start', async () => {
    // The user denies the microphone: the attempt is flagged all the same; Screen Recording needs the restart.
    const box = sandbox(
      {
        permissions: {
          microphone: { status: 'not_determined', on_request: { result: 'denied', after_ms: 50 } },
          accessibility: { status: 'granted' },
          input_monitoring: { status: 'granted' },
          screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 50, effective: 'after_restart' } },
        },
      },
      { integrations: { permissions_v2: { ...quickConfig().integrations.permissions_v2, steps: { microphone: { hard: false } } } } },
    );
    expect((await launch(box).exited).code).toBe(0);
    await waitFor('the successor completes', () => journal(box).some((l) => l.type === 'permissions.first_run_completed'));
    await allWritersGone(box);
    const lines = journal(box);
    expectFlagsAfterTheirCommits(lines);
    const successorPid = lines.find((l) => l.type === 'restart.successor_started')?.pid;
    expect(successorPid).toBeDefined();
    expect(lines.filter((l) => l.type === 'ledger.flags_written' && l.flag === 'restart_completed').map((l) => l.pid)).toEqual([successorPid]);
    expect(existsSync(join(box.stateDir, RESTART_FLAG))).toBe(true);
    expect(existsSync(join(box.stateDir, ATTEMPTED_FLAG))).toBe(true);
    expect(existsSync(join(box.stateDir, COMPLETED_FLAG))).toBe(true);

    const next = launch(box);
    expect((await next.exited).code).toBe(0);
    expect(existsSync(join(box.stateDir, RESTART_FLAG))).toBe(false);
    expect(journal(box).filter((l) => l.pid === next.child.pid && l.type === 'ledger.flags_written')).toContainEqual(
      expect.objectContaining({ flag: 'restart_completed', present: false }),
    );
    expect(existsSync(join(box.stateDir, COMPLETED_FLAG))).toBe(true);
    expect(readlinkSafe(join(box.stateDir, COMPLETED_FLAG))).toBeNull();
  });
});

function readlinkSafe(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}
