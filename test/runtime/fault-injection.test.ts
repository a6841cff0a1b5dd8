/**
 * SPEC HE-7 "Test hooks are not product": `FIRST_RUN_FAULT_*` in an app's environment do nothing in the
 * shipped runtime (an embedding app and the CLI, real processes); only a test-only entry turns them on.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultHooks } from '../../src/runtime/fault-injection.js';
import { enableFaultInjection, FAULT_INJECTION_NODE_ARGS } from '../support/fault-injection.js';
import { ALL_GRANTED, assertBuilt, BIN, journal, lastJson, quickConfig, sandbox, type Sandbox } from '../support/processes.js';

const APP = resolve(import.meta.dirname, '../process/fixtures/embedded-app.mjs');

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const box of boxes.splice(0)) rmSync(box.dir, { recursive: true, force: true });
});

function grantedBox(): Sandbox {
  const box = sandbox(ALL_GRANTED, quickConfig());
  boxes.push(box);
  return box;
}

/** The embedding app (compiled library) with `env`, to its end. */
function embeddedApp(box: Sandbox, env: Record<string, string>, nodeArgs: readonly string[] = []) {
  return spawnSync(process.execPath, [...nodeArgs, APP], {
    env: { ...process.env, APP_STATE_DIR: box.stateDir, APP_SIM_DB: box.simDb, APP_CONFIG: box.config, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('fault-injection hooks (HE-7)', () => {
  it.each([
    ['FIRST_RUN_FAULT_KILL_AFTER', 'first:1'],
    ['FIRST_RUN_FAULT_KILL_AFTER', 'first:instance.lock_acquired'],
    ['FIRST_RUN_FAULT_JOURNAL_ENOSPC', 'first:1'],
    ['FIRST_RUN_FAULT_KILL_AFTER', 'not even well-formed'],
  ])('should leave an embedded runFirstRun alone when the app has %s=%s in its environment', (name, value) => {
    assertBuilt();
    const box = grantedBox();
    const ran = embeddedApp(box, { [name]: value });
    expect(ran.signal).toBeNull();
    expect(ran.status, ran.stderr).toBe(0);
    expect(lastJson(ran.stdout)).toMatchObject({ phase: 'COMPLETED' });
    expect(journal(box).map((line) => line.type)).toContain('instance.lock_acquired');
  });

  it('should leave a `first-run launch` alone with FIRST_RUN_FAULT_KILL_AFTER in its environment', () => {
    assertBuilt();
    const box = grantedBox();
    const ran = spawnSync(process.execPath, [BIN, 'launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--backend', 'sim', '--json'], {
      env: { ...process.env, FIRST_RUN_FAULT_KILL_AFTER: 'first:1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(ran.signal).toBeNull();
    expect(ran.status, ran.stderr).toBe(0);
  });

  it('should kill the app at the named line once the test-only entry turned the hooks on', () => {
    assertBuilt();
    const box = grantedBox();
    const ran = embeddedApp(box, { FIRST_RUN_FAULT_KILL_AFTER: 'first:instance.lock_acquired' }, FAULT_INJECTION_NODE_ARGS);
    expect(ran.signal).toBe('SIGKILL');
    expect(journal(box).at(-1)?.type).toBe('instance.lock_acquired');
  });

  it('should be inert unless enabled in this process, and read the variables when enabled', () => {
    const env = { FIRST_RUN_FAULT_JOURNAL_ENOSPC: 'first:1' };
    const off = createFaultHooks('first', env);
    expect(off.armed).toBe(false);
    expect(() => off.beforeJournalLine()).not.toThrow();
    const disable = enableFaultInjection();
    try {
      const on = createFaultHooks('first', env);
      expect(on.armed).toBe(true);
      expect(() => on.beforeJournalLine()).toThrow(/ENOSPC/);
      expect(() => createFaultHooks('first', { FIRST_RUN_FAULT_KILL_AFTER: 'bad' })).toThrow(/FIRST_RUN_FAULT_KILL_AFTER must be/);
    } finally {
      disable();
    }
    expect(createFaultHooks('first', env).armed).toBe(false);
  });
});
