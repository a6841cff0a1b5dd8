/**
 * Issue 10.11 and 13.9 end to end: config values that pass a type check but cannot work are refused by
 * `first-run launch` before anything runs — exit 2, the key path in the error, nothing written.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, launch, quickConfig, sandbox } from '../support/processes.js';

const base = quickConfig().integrations.permissions_v2;

describe('config refused at launch, before anything runs (exit 2)', () => {
  beforeAll(() => assertBuilt());

  it.each<[string, unknown, string, RegExp]>([
    [
      'a hand-off timeout no hand-off can meet',
      { integrations: { permissions_v2: { ...base, restart: { ...base.restart, handoff_timeout_s: 0.0004 } } } },
      'integrations.permissions_v2.restart.handoff_timeout_s',
      /from 0\.5 to 600/,
    ],
    [
      'the legacy max_wait_sec',
      { permissions: { first_run: { max_wait_sec: 30 } }, integrations: { permissions_v2: base } },
      'permissions.first_run.max_wait_sec',
      /integrations\.permissions_v2\.default_step_timeout_s/,
    ],
    [
      'a permission the catalogue does not know',
      { integrations: { permissions_v2: { ...base, order: ['camera', 'webcam'] } } },
      'integrations.permissions_v2.order[1]',
      /expected a permission name, one of `microphone`, .*`camera`, `full_disk_access`, .*`music_library`, got `"webcam"`/,
    ],
    ...(typeof (process as { execve?: unknown }).execve === 'function'
      ? []
      : ([
          [
            'strategy execve on a Node without process.execve',
            { integrations: { permissions_v2: { ...base, restart: { ...base.restart, strategy: 'execve' } } } },
            'integrations.permissions_v2.restart.strategy',
            new RegExp(`process\\.execve.*Node ${process.versions.node.replace(/\./g, '\\.')}`),
          ],
        ] as [string, unknown, string, RegExp][])),
  ])('should refuse %s, naming the key', async (_label, config, path, message) => {
    const box = sandbox(undefined, config);
    const result = await launch(box).exited;
    expect(result.code).toBe(2);
    const error = JSON.parse(result.stdout.trim()) as { error: { code: string; problems: { path: string; message: string }[] } };
    expect(error.error.code).toBe('ERR_CONFIG');
    expect(error.error.problems.find((p) => p.path === path)?.message).toMatch(message);
    expect(existsSync(join(box.stateDir, 'permission_ledger.json'))).toBe(false);
  });
});
