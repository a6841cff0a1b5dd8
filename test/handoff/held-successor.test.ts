/**
 * A successor started held (src/runtime/relauncher.ts `prepare`, src/handoff/handoff-channel.ts
 * `holdForGo`): it boots while the predecessor commits the restart (RS-3), and runs nothing of ours
 * before `go`. Real processes: a holder on a real socket pair, and a real first run killed (SIGKILL)
 * right after it started its successor held.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GO_LINE } from '../../src/handoff/handoff-channel.js';
import { assertBuilt, isAlive, journal, launch, quickConfig, QUICK_DB, sandbox, waitFor } from '../support/processes.js';

const CHANNEL = resolve(import.meta.dirname, '../../dist/src/handoff/handoff-channel.js');

/** A child that holds on fd 3 (a socket pair with us) and prints what `holdForGo` said. */
function holder(held = true) {
  const script = `import { holdForGo } from ${JSON.stringify(CHANNEL)}; process.stdout.write(String(holdForGo()) + ' ' + String(process.env.FIRST_RUN_HANDOFF_HOLD));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
    env: { ...process.env, ...(held ? { FIRST_RUN_HANDOFF_HOLD: '1' } : {}) },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<string>((resolveDone) => child.on('close', () => resolveDone(out)));
  const channel = child.stdio[3] as NodeJS.WritableStream & { end(): void; destroy(): void; on(event: 'error', listener: () => void): void };
  channel.on('error', () => {}); // the child may be gone first (ECONNRESET): what it printed is the answer
  return { child, channel, done };
}

describe('a held successor', () => {
  it('goes on `go` (and the hold is removed from its environment)', async () => {
    assertBuilt();
    const { channel, done } = holder();
    channel.write(GO_LINE);
    expect(await done).toBe('true undefined');
  });

  it('gives up when the channel closes first: the predecessor is gone', async () => {
    const { channel, done } = holder();
    channel.end();
    expect(await done).toBe('false undefined');
  });

  it('gives up on anything but `go`', async () => {
    const { channel, done } = holder();
    channel.write('{"type":"released"}\n');
    expect(await done).toBe('false undefined');
  });

  it('is not held without the variable', async () => {
    const { channel, done } = holder(false);
    expect(await done).toBe('true undefined');
    channel.destroy();
  });

  it('a first run killed right after it started its successor held: the successor exits having done nothing', async () => {
    assertBuilt();
    const box = sandbox(QUICK_DB, quickConfig({ delaySec: 0 }));
    const first = launch(box, [], { FIRST_RUN_FAULT_KILL_AFTER: 'first:restart.handoff_prepared' });
    const exited = await first.exited;
    expect(exited.signal).toBe('SIGKILL');
    const lines = journal(box);
    const prepared = lines.find((line) => line.type === 'restart.handoff_prepared');
    expect(prepared, 'the run prepared a held successor').toBeDefined();
    const heldPid = prepared!.child_pid as number;
    expect(heldPid).toBeGreaterThan(0);
    // Its channel closed with the predecessor: it leaves by itself, without a line in the journal,
    // without a proof, without the lock.
    await waitFor('the held successor to leave', () => !isAlive(heldPid));
    expect(journal(box).filter((line) => line.pid !== first.child.pid)).toEqual([]);
    const handoff = join(box.stateDir, 'handoff');
    expect(existsSync(handoff) ? readdirSync(handoff).filter((name) => name.endsWith('.alive')) : []).toEqual([]);
    // The next launch runs as after any crash before the commit: it restarts at most once.
    const next = await launch(box).exited;
    expect(next.code).toBe(0);
  });
});

describe('preparing a held successor (the relauncher)', () => {
  it('only for an entry that holds: any other entry would run before the commit', async () => {
    const { createProcessRelauncher } = await import('../../src/runtime/relauncher.js');
    const box = sandbox(QUICK_DB);
    const events: string[] = [];
    const relauncher = createProcessRelauncher({
      stateDir: box.stateDir,
      plan: { strategy: 'node', execPath: process.execPath, execArgv: [], entry: join(box.dir, 'app.js'), args: [] },
      handoffTimeoutMs: 2000,
      onEvent: (type) => events.push(type),
    });
    relauncher.prepare!({ requestId: 'boot-1:1', restartCount: 1 });
    expect(events).toEqual([]);
  });

  it('abandoned, the held successor is stopped before it ran anything', async () => {
    const { createProcessRelauncher } = await import('../../src/runtime/relauncher.js');
    const box = sandbox(QUICK_DB);
    const entry = join(box.dir, 'app.mjs');
    const marker = join(box.dir, 'ran');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(entry, `import { holdForGo } from ${JSON.stringify(CHANNEL)}; import { writeFileSync } from 'node:fs'; if (holdForGo()) writeFileSync(${JSON.stringify(marker)}, 'ran');`);
    const events: { type: string; payload: Record<string, unknown> }[] = [];
    const relauncher = createProcessRelauncher({
      stateDir: box.stateDir,
      plan: { strategy: 'node', execPath: process.execPath, execArgv: [], entry, args: [], holdsForGo: true },
      handoffTimeoutMs: 2000,
      onEvent: (type, payload) => events.push({ type, payload }),
    });
    relauncher.prepare!({ requestId: 'boot-1:1', restartCount: 1 });
    const pid = events.find((e) => e.type === 'restart.handoff_prepared')?.payload.child_pid as number;
    expect(pid).toBeGreaterThan(0);
    relauncher.abandon!();
    await waitFor('the held successor to be stopped', () => !isAlive(pid));
    expect(existsSync(marker)).toBe(false);
  });
});
