/**
 * Permission sets other than seed 004's four, in real `first-run launch` processes over the simulated
 * TCC (issue 23): an adopter's set walks to COMPLETED with the restarts its kinds need, and ledgers the
 * four-permission code wrote (test/process/fixtures/ledgers-28e3158, written at commit 28e3158 before the
 * catalogue existed) restore and complete unchanged — or walk the kinds a new set adds.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catalogueScenario } from '../../src/backend/sim-scenario.js';
import type { PermissionName } from '../../machines/types.js';
import {
  allWritersGone,
  assertBuilt,
  journal,
  journalInvariants,
  launch,
  ledgerPhase,
  quickConfig,
  sandbox,
  type Sandbox,
} from '../support/processes.js';

beforeAll(() => assertBuilt());

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes.splice(0)) rmSync(box.dir, { recursive: true, force: true });
});

function configWith(section: Record<string, unknown>) {
  const base = quickConfig();
  const v2 = base.integrations.permissions_v2;
  return { integrations: { permissions_v2: { ...v2, ...section, restart: { ...v2.restart, ...((section['restart'] as object) ?? {}) } } } };
}

function box(db: unknown, config: unknown): Sandbox {
  const made = sandbox(db, config);
  boxes.push(made);
  return made;
}

/** Launch, wait for every process of the run (the successor included) to end; the journal and ledger. */
async function firstRun(made: Sandbox) {
  const { code, stderr } = await launch(made).exited;
  expect(code, stderr).toBe(0);
  await allWritersGone(made);
  const lines = journal(made);
  return { lines, ledger: ledgerPhase(made), invariants: journalInvariants(lines) };
}

const walked = (lines: ReturnType<typeof journal>) =>
  lines.filter((e) => e.type === 'permissions.v2.step_started').map((e) => e['permission'] as PermissionName);

describe('an adopter set (issue 23)', () => {
  it('camera + Full Disk Access + screen recording: COMPLETED with exactly one restart', async () => {
    const kinds: PermissionName[] = ['camera', 'full_disk_access', 'screen_capture'];
    const made = box(catalogueScenario(kinds), configWith({ order: kinds }));
    const { lines, ledger, invariants } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(invariants).toMatchObject({ restartsExecuted: 1, successorsStarted: 1, countRises: 1, interleaved: false });
    expect(walked(lines).slice(0, 3)).toEqual(kinds);
    // Full Disk Access has no prompt: its request opened System Settings.
    expect(lines.some((e) => e.type === 'permissions.v2.activation_requested' && e['permission'] === 'full_disk_access')).toBe(true);
    const decision = lines.find((e) => e.type === 'permissions.v2.decision') as unknown as { needsRestart: boolean; results: Record<string, { outcome: string }> };
    expect(decision.needsRestart).toBe(true);
    expect(decision.results['camera']?.outcome).toBe('granted');
    expect(decision.results['full_disk_access']?.outcome).toBe('pending_restart');
    expect(decision.results['screen_capture']?.outcome).toBe('pending_restart');
    // The successor verified the two grants that show only in a new process; nothing else was walked.
    expect(lines.some((e) => e.type === 'permissions.first_run_completed')).toBe(true);
    expect(new Set(walked(lines))).toEqual(new Set(kinds));
  });

  it('camera alone, restarting only when a kind needs it: COMPLETED with no restart', async () => {
    const made = box(catalogueScenario(['camera']), configWith({ order: ['camera'], restart: { require_needs_restart: true } }));
    const { lines, ledger, invariants } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 0 });
    expect(invariants.restartsExecuted).toBe(0);
    expect(walked(lines)).toEqual(['camera']);
    expect(lines.find((e) => e.type === 'permissions.v2.decision')).toMatchObject({ needsRestart: false, allowed: false, blockedBy: ['no_restart_needed'] });
  });

  it('camera alone with the default require_needs_restart=false (seed 003): the first run ends in its one restart', async () => {
    const made = box(catalogueScenario(['camera']), configWith({ order: ['camera'] }));
    const { ledger, invariants } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(invariants.restartsExecuted).toBe(1);
  });
});

const FIXTURES = join(import.meta.dirname, 'fixtures', 'ledgers-28e3158');
const fixtureJson = (name: string, file: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name, file), 'utf8'));

/** A sandbox holding a fixture ledger (and its backup) as the old code left it, with `db` and `config`. */
function fromFixture(name: 'completed' | 'mid-pipeline', db: unknown, config: unknown): Sandbox {
  const made = box(db, config);
  mkdirSync(made.stateDir, { mode: 0o700 });
  for (const file of ['permission_ledger.json', 'permission_ledger.json.bak']) {
    copyFileSync(join(FIXTURES, name, file), join(made.stateDir, file));
    chmodSync(join(made.stateDir, file), 0o600);
  }
  return made;
}

describe('ledgers written by the four-permission code (commit 28e3158)', () => {
  it('a COMPLETED ledger restores and completes unchanged: no step, no prompt, no second restart', async () => {
    const made = fromFixture('completed', fixtureJson('completed', 'tcc.json'), fixtureJson('completed', 'config.json'));
    const { lines, ledger, invariants } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(invariants.restartsExecuted).toBe(0);
    expect(walked(lines)).toEqual([]);
    expect(lines.some((e) => e.type.startsWith('ledger.') && /quarantin|recover|safe_mode/.test(e.type))).toBe(false);
    expect(lines.filter((e) => e.type === 'permissions.status_checked').map((e) => e['permission'])).toEqual([
      'microphone',
      'accessibility',
      'input_monitoring',
      'screen_capture',
    ]);
  });

  it('a ledger killed mid-pipeline resumes its step and completes with its one restart', async () => {
    const db = fixtureJson('mid-pipeline', 'tcc.json') as { permissions: Record<string, Record<string, unknown>> };
    // The user now grants Accessibility in System Settings (the resumed step opens the pane again).
    db.permissions['accessibility'] = { status: 'denied', on_settings: { result: 'granted', after_ms: 50 } };
    const state = (db as unknown as { state: Record<string, { settings_opened_at: number | null }> }).state;
    state['accessibility']!.settings_opened_at = null;
    const made = fromFixture('mid-pipeline', db, quickConfig());
    const { lines, ledger, invariants } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(invariants).toMatchObject({ restartsExecuted: 1, countRises: 1 });
    expect(lines.some((e) => e.type === 'permissions.v2.step_resumed' && e['permission'] === 'accessibility')).toBe(true);
    // The queue the old code left: accessibility (resumed), then input monitoring and screen recording.
    expect(walked(lines).slice(0, 2)).toEqual(['input_monitoring', 'screen_capture']);
  });

  it('a ledger killed mid-pipeline, restored with a set that adds the camera: the new kind is walked too', async () => {
    const db = fixtureJson('mid-pipeline', 'tcc.json') as { permissions: Record<string, unknown>; state: Record<string, { settings_opened_at: number | null }> };
    db.permissions['accessibility'] = { status: 'denied', on_settings: { result: 'granted', after_ms: 50 } };
    db.state['accessibility']!.settings_opened_at = null;
    Object.assign(db.permissions, catalogueScenario(['camera']).permissions);
    const order = ['microphone', 'accessibility', 'camera', 'input_monitoring', 'screen_capture'];
    const made = fromFixture('mid-pipeline', db, configWith({ order }));
    const { lines, ledger } = await firstRun(made);
    expect(ledger).toEqual({ phase: 'COMPLETED', restart_count: 1 });
    expect(walked(lines).slice(0, 3)).toEqual(['camera', 'input_monitoring', 'screen_capture']);
    const decision = lines.find((e) => e.type === 'permissions.v2.decision') as unknown as { results: Record<string, { outcome: string }> };
    expect(Object.keys(decision.results).sort()).toEqual(['accessibility', 'camera', 'input_monitoring', 'microphone', 'screen_capture']);
  });
});
