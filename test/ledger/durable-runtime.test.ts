/**
 * Durable only when it matters, through the real CLI: a warm launch writes nothing; a first run with one
 * relaunch commits only where a later launch would act differently, and the 0 → 1 commit of
 * restart_count still comes before the successor is started (RS-3).
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { orchestratorDurableProjection } from '../../src/runtime/durable-projection.js';
import { ALL_GRANTED, allWritersGone, assertBuilt, journal, journalInvariants, launch, quickConfig, sandbox, type Sandbox } from '../support/processes.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes.splice(0)) rmSync(box.dir, { recursive: true, force: true });
});

const NEEDS_RESTART = {
  permissions: {
    ...ALL_GRANTED.permissions,
    screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 0, effective: 'after_restart' } },
  },
};

function box(db: unknown): Sandbox {
  const b = sandbox(db, quickConfig({ delaySec: 0 }));
  boxes.push(b);
  return b;
}

const ledgerFile = (b: Sandbox) => path.join(b.stateDir, 'permission_ledger.json');

describe('durable only when it matters (real processes)', () => {
  it('LG-2 a warm launch on a COMPLETED ledger that changes nothing writes nothing (no commit, the file untouched)', async () => {
    assertBuilt();
    const b = box(ALL_GRANTED);
    for (let i = 0; i < 2; i++) expect((await launch(b).exited).code).toBe(0);
    const before = readFileSync(ledgerFile(b));
    const warm = launch(b);
    expect((await warm.exited).code).toBe(0);
    const mine = journal(b).filter((e) => e.pid === warm.child.pid);
    expect(mine.map((e) => e.type)).toContain('permissions.first_run_completed');
    expect(mine.filter((e) => e.type === 'ledger.committed')).toEqual([]);
    expect(readFileSync(ledgerFile(b)).equals(before)).toBe(true);
  }, 30_000);

  it('RS-3 a first run with one relaunch: the 0 → 1 commit precedes the successor; six commits in all, each one a state a later launch would act on', async () => {
    assertBuilt();
    const b = box(NEEDS_RESTART);
    const first = launch(b);
    expect((await first.exited).code).toBe(0);
    await allWritersGone(b);
    const lines = journal(b);
    const commits = lines.filter((e) => e.type === 'ledger.committed');
    const handoff = lines.findIndex((e) => e.type === 'restart.handoff_started');
    const countCommitted = lines.findIndex((e) => e.type === 'ledger.committed' && e.restart_count === 1);
    expect(handoff).toBeGreaterThan(-1);
    expect(countCommitted).toBeGreaterThan(-1);
    expect(countCommitted).toBeLessThan(handoff);
    expect(journalInvariants(lines)).toMatchObject({ restartsExecuted: 1, countRises: 1, interleaved: false, generationsIncrease: true });
    expect(commits.map((c) => `${String(c.phase)}:${String(c.restart_count)}`)).toEqual([
      'PIPELINE:0', // the request made (FR-6 remembers it)
      'RESTART_REQUESTED:0', // the decision: a later launch verifies instead of asking again
      'RESTART_REQUESTED:1', // RS-3, before the successor starts
      'RESTART_REQUESTED:1', // executing
      'RESTART_REQUESTED:1', // handed off
      'COMPLETED:1', // the successor's verification
    ]);
  }, 60_000);
});

describe('the orchestrator durable projection', () => {
  const base = {
    status: 'active',
    value: 'COMPLETED',
    context: { bootId: 'a', boots: 3, results: {}, requested: { screen_capture: true }, screenCapturePromptedIn: 'x' },
    children: { relaunchGate: { snapshot: { value: 'idle', context: { bootId: 'a', restartCount: 1 } } } },
  };

  it('LG-2 leaves out boot ids and the boot counter, and keeps what derives from a boot id', () => {
    const other = { ...base, context: { ...base.context, bootId: 'b', boots: 4 }, children: { relaunchGate: { snapshot: { value: 'idle', context: { bootId: 'b', restartCount: 1 } } } } };
    expect(orchestratorDurableProjection(other)).toEqual(orchestratorDurableProjection(base));
    const prompted = { ...base, context: { ...base.context, screenCapturePromptedIn: 'y' } };
    expect(orchestratorDurableProjection(prompted)).not.toEqual(orchestratorDurableProjection(base));
    expect(base.context.bootId).toBe('a'); // the snapshot itself is not changed
  });

  it('LG-2 a precheck adds nothing; a pipeline adds something once a step has asked', () => {
    expect(orchestratorDurableProjection({ ...base, value: 'PRECHECK' })).toBeUndefined();
    const step = (value: unknown, requestedNow: boolean) => ({ snapshot: { value, context: { requestedNow, promptedNow: requestedNow } } });
    const pipeline = (stepChild: unknown, results = {}) => ({ ...base, value: { PIPELINE: 'step' }, context: { ...base.context, results }, children: { ...base.children, step: stepChild } });
    expect(orchestratorDurableProjection(pipeline(step('reading', false)))).toBeUndefined();
    expect(orchestratorDurableProjection(pipeline(step({ running: 'rechecking' }, true)))).toBeDefined();
    expect(orchestratorDurableProjection(pipeline(step('reading', false), { microphone: { outcome: 'granted' } }))).toBeDefined();
  });

  it('LG-2 wait/read churn inside a running step projects to one state; the restart count never hides', () => {
    const running = (sub: string, restartCount = 1) => ({
      ...base,
      value: { PIPELINE: 'step' },
      context: { ...base.context, results: { microphone: { outcome: 'granted' } } },
      children: {
        relaunchGate: { snapshot: { value: 'idle', context: { bootId: 'a', restartCount } } },
        step: { snapshot: { value: { running: sub }, context: { requestedNow: true }, children: sub === 'pollWait' ? { wait: {} } : { readStatus: {} } } },
      },
    });
    expect(orchestratorDurableProjection(running('pollWait'))).toEqual(orchestratorDurableProjection(running('pollRead')));
    expect(orchestratorDurableProjection(running('rechecking'))).toEqual(orchestratorDurableProjection(running('pollRead')));
    expect(orchestratorDurableProjection(running('pollRead', 0))).not.toEqual(orchestratorDurableProjection(running('pollRead', 1)));
  });
});
