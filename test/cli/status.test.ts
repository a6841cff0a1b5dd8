/**
 * `first-run status`: a state dir that does not exist is said so (in words and in --json), and "why"
 * reports an executed restart even after a later launch that decided nothing (all granted at precheck).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { explainRestart, lastEvents } from '../../src/cli/commands/status.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: {} }, out, err };
};

/** The root snapshot's shape `status` reads: the orchestrator's decision and the relaunch gate's record. */
function snapshot(decision: unknown, gate: { restartCount: number; last: unknown }) {
  return { context: { decision, restartOutcome: null, warnings: [] }, children: { relaunchGate: { snapshot: { value: 'idle', context: gate } } } };
}

describe('first-run status', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('should say that a state dir does not exist, rather than "no ledger yet"', async () => {
    const missing = join(tmpdir(), `first-run-status-typo-${process.pid}`, 'stat-dir');
    const text = capture();
    expect(await runCli(['status', '--state-dir', missing], text.io)).toBe(0);
    expect(text.out.join('\n')).toContain(`${missing} does not exist: no first run has used it`);
    expect(text.out.join('\n')).not.toMatch(/none yet/);

    const json = capture();
    expect(await runCli(['status', '--state-dir', missing, '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join(''))).toMatchObject({ state_dir: missing, state_dir_exists: false, problem: 'missing', phase: 'NONE' });
  });

  // README's exit codes: a state dir that is a file (or under one) is bad usage, exit 2 — not an answer.
  it.each([
    ['is a file', (file: string) => file, /The state dir \S+ is not a directory \(it is a file\)/],
    ['lies under a file', (file: string) => join(file, 'state'), /a part of the path above it is a file/],
  ])('should refuse a state dir that %s with exit 2 and a clear error', async (_what, stateDirOf, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'first-run-status-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'file'), '');
    const stateDir = stateDirOf(join(dir, 'file'));
    const text = capture();
    expect(await runCli(['status', '--state-dir', stateDir], text.io)).toBe(2);
    expect(text.err.join('\n')).toMatch(message);
    expect(text.err.join('\n')).not.toContain('unexpected error');
    const json = capture();
    expect(await runCli(['status', '--state-dir', stateDir, '--json'], json.io)).toBe(2);
    expect(JSON.parse(json.out.join(''))).toMatchObject({ error: { code: 'ERR_STATE_DIR' }, exit_code: 2 });
  });

  /** A state dir whose journal has three events, a, b and c. */
  function journaled(): string {
    const dir = mkdtempSync(join(tmpdir(), 'first-run-status-'));
    dirs.push(dir);
    const lines = ['a.one', 'b.two', 'c.three'].map((type, i) => JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), pid: 1, type }));
    writeFileSync(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
    return dir;
  }

  it.each([
    ['0', []],
    ['2', ['b.two', 'c.three']],
    ['5', ['a.one', 'b.two', 'c.three']],
  ])('should show the last N events for --events %s (0 is none)', async (n, types) => {
    const dir = journaled();
    const json = capture();
    expect(await runCli(['status', '--state-dir', dir, '--events', n, '--json'], json.io)).toBe(0);
    expect((JSON.parse(json.out.join('')) as { last_events: { type: string }[] }).last_events.map((e) => e.type)).toEqual(types);
    const text = capture();
    expect(await runCli(['status', '--state-dir', dir, '--events', n], text.io)).toBe(0);
    expect(text.out.join('\n').includes('last events')).toBe(types.length > 0);
  });

  it.each(['-1', 'x', '1.5', '1000001', ''])('should refuse --events %j with a message about a number of events', async (n) => {
    const dir = journaled();
    const out = capture();
    expect(await runCli(['status', '--state-dir', dir, `--events=${n}`], out.io)).toBe(2);
    const message = out.err.join('\n');
    expect(message).toContain(`Expected \`--events\` to be a whole number of events from 0 (none) to 1000000, got \`${n}\`.`);
    expect(message).not.toMatch(/millisecond/);
  });

  it('should report an existing, empty state dir as existing with no ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'first-run-status-'));
    dirs.push(dir);
    const json = capture();
    expect(await runCli(['status', '--state-dir', dir, '--json'], json.io)).toBe(0);
    expect(JSON.parse(json.out.join(''))).toMatchObject({ state_dir_exists: true, phase: 'NONE', ledger: { source: null } });
  });
});

describe('lastEvents', () => {
  it('should give none for 0, the last N otherwise', () => {
    expect(lastEvents([1, 2, 3], 0)).toEqual([]);
    expect(lastEvents([1, 2, 3], 1)).toEqual([3]);
    expect(lastEvents([1, 2, 3], 9)).toEqual([1, 2, 3]);
  });
});

describe('explainRestart', () => {
  it('should say the restart was executed after a later launch that decided nothing', () => {
    const why = explainRestart(snapshot(null, { restartCount: 1, last: { kind: 'executed', newPid: 5323 } }));
    expect(why.summary).toBe('restart executed: the successor was pid 5323');
  });

  it('should say an earlier run executed the restart when only the count is left', () => {
    const why = explainRestart(snapshot(null, { restartCount: 1, last: { kind: 'none' } }));
    expect(why.summary).toMatch(/^restart executed by an earlier run \(restart_count 1\)/);
  });

  it('should still say "no decision yet" before any restart', () => {
    const why = explainRestart(snapshot(null, { restartCount: 0, last: { kind: 'none' } }));
    expect(why.summary).toMatch(/^no restart decision yet/);
  });

  it('should name what blocked a restart that was not allowed', () => {
    const why = explainRestart(snapshot({ allowed: false, blockedBy: ['no_restart_needed'] }, { restartCount: 0, last: { kind: 'none' } }));
    expect(why.summary).toBe('no restart: blocked by no_restart_needed');
  });
});
