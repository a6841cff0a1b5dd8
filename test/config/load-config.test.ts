import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_SETTINGS, loadConfig } from '../../src/config/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frc-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('CF-1 loadConfig', () => {
  it('should use the defaults when no file is given', async () => {
    const loaded = await loadConfig({ env: {} });
    expect(loaded).toMatchObject({ settings: DEFAULT_SETTINGS, file: null, raw: undefined });
    expect(loaded.notice).toMatch(/defaults/);
  });

  it('should use the defaults and say so when the file does not exist', async () => {
    const file = join(dir, 'missing.json');
    const loaded = await loadConfig({ file, env: {} });
    expect(loaded.settings).toEqual(DEFAULT_SETTINGS);
    expect(loaded.file).toBeNull();
    expect(loaded.notice).toBe(`Config file ${file} not found; using the defaults`);
  });

  it('should read a file, ignoring the rest of the app config', async () => {
    const file = join(dir, 'config.json');
    const raw = { app: { x: 1 }, integrations: { permissions_v2: { order: ['screen_capture'], restart: { delay_sec: 1 } } } };
    await writeFile(file, `\uFEFF${JSON.stringify(raw, null, 2)}`);
    const loaded = await loadConfig({ file, env: { NEXY_DISABLE_AUTO_RESTART: 'yes' } });
    expect(loaded.file).toBe(file);
    expect(loaded.raw).toEqual(raw);
    expect(loaded.notice).toBeNull();
    expect(loaded.settings).toMatchObject({ order: ['screen_capture'], restart: { delayMs: 1000 }, dryRun: true, killSwitch: false });
  });

  it('should default env to process.env', async () => {
    const before = process.env.NEXY_KS_FIRST_RUN_RESTART;
    process.env.NEXY_KS_FIRST_RUN_RESTART = 'on';
    try {
      expect((await loadConfig()).settings.killSwitch).toBe(true);
    } finally {
      if (before === undefined) delete process.env.NEXY_KS_FIRST_RUN_RESTART;
      else process.env.NEXY_KS_FIRST_RUN_RESTART = before;
    }
  });
});

describe('CF-2 loadConfig refuses unreadable or broken files', () => {
  it.each([
    ['a trailing comma', '{\n  "integrations": {\n    "permissions_v2": { "enabled": true, }\n  }\n}', 3, 42],
    ['a missing value', '{"a":}', 1, 6],
    ['garbage after the document', '{}\n\nx', 3, 1],
    ['an unterminated array', '[1,\n2', 2, 2],
    ['an empty file', '', 1, 1],
    ['a lone word', 'enabled', 1, 1],
  ])('should name the line and column of %s', async (_label, text, line, column) => {
    const file = join(dir, 'config.json');
    await writeFile(file, text);
    const error = await configError(loadConfig({ file, env: {} }));
    expect(error.file).toBe(file);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.message).toContain(`not valid JSON at line ${line}, column ${column}`);
  });

  it('should refuse a directory', async () => {
    const error = await configError(loadConfig({ file: dir, env: {} }));
    expect(error.problems[0]?.message).toMatch(/cannot read the config file: it is a directory/);
  });

  it('should refuse an unreadable file', async () => {
    // chmod 000 stops nobody when the tests run as root, so as root the load runs as `nobody` in a child.
    const shared = await mkdtemp(join(tmpdir(), 'first-run-config-'));
    await chmod(shared, 0o755);
    const file = join(shared, 'config.json');
    await writeFile(file, '{}');
    await chmod(file, 0o000);
    try {
      const message = process.getuid?.() === 0 ? await loadAsNobody(file) : ((await configError(loadConfig({ file, env: {} }))).problems[0]?.message ?? '');
      expect(message).toMatch(/permission denied/);
      expect(message).toContain(file);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('should refuse a huge file without parsing it', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, `{"x": "${'a'.repeat(1024 * 1024)}"}`);
    const error = await configError(loadConfig({ file, env: {} }));
    expect(error.problems[0]?.message).toMatch(/at most 1048576 bytes/);
  });

  it('should list every invalid key and a bad env switch together', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ integrations: { permissions_v2: { order: ['mic'], confirm_retries: -1 } } }));
    const error = await configError(loadConfig({ file, env: { NEXY_DISABLE_AUTO_RESTART: 'sometimes' } }));
    expect(error.problems.map((p) => p.path)).toEqual([
      'integrations.permissions_v2.confirm_retries',
      'integrations.permissions_v2.order[0]',
      'env.NEXY_DISABLE_AUTO_RESTART',
    ]);
  });
});

/**
 * `loadConfig(file)` in a child running as `nobody`; its error message, or `LOADED`. The child needs
 * nothing from this checkout — which may sit in a home dir `nobody` cannot enter — nor a build: the
 * config module is bundled from source here (it imports no package) and handed to the child on stdin,
 * which runs in `/`.
 */
async function loadAsNobody(file: string): Promise<string> {
  const bundled = await build({
    entryPoints: [resolve(import.meta.dirname, '../../src/config/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const script = `${bundled.outputFiles[0]!.text}
loadConfig({ file: ${JSON.stringify(file)}, env: {} }).then(() => console.log('LOADED'), (e) => console.log(e.message));`;
  const child = spawnSync(process.execPath, ['--input-type=module'], { input: script, cwd: '/', uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000 });
  if (child.error) throw new Error(`cannot run ${process.execPath} as nobody (is node itself in a private dir?): ${child.error.message}`);
  return `${child.stdout}${child.stderr}`;
}
