/**
 * `bin/first-run.js`: the one-file bundle run with a V8 code cache (issue 14). The cache is executable
 * code, so these tests attack it: corrupt, shared, a link. In every case the CLI still works from
 * source, and nothing it does not own is read as code or written.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_GRANTED, assertBuilt, BIN, sandbox } from '../support/processes.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'code-cache-'));
  dirs.push(dir);
  return dir;
}

/**
 * `first-run status` (which loads the whole bundle) with the cache in `cacheDir`; returns the `.bin`
 * files it opened, as seen by a preloaded probe that wraps `fs.openSync`.
 */
function status(cacheDir: string, stateDir: string, extraEnv: Record<string, string> = {}): string[] {
  const probe = path.join(path.dirname(stateDir), 'open-probe.mjs');
  writeFileSync(
    probe,
    [
      "import { createRequire, syncBuiltinESMExports } from 'node:module';",
      "const fs = createRequire(import.meta.url)('node:fs');",
      'const openSync = fs.openSync;',
      "fs.openSync = (file, ...rest) => { if (String(file).endsWith('.bin')) process.stderr.write(`OPENED ${file}\\n`); return openSync(file, ...rest); };",
      'syncBuiltinESMExports();',
    ].join('\n'),
  );
  const result = spawnSync(process.execPath, ['--import', probe, BIN, 'status', '--state-dir', stateDir, '--json'], {
    env: { ...process.env, FIRST_RUN_CODE_CACHE_DIR: cacheDir, ...extraEnv },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(result.status, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ phase: 'NONE' });
  return [...result.stderr.matchAll(/^OPENED (.*)$/gm)].map((m) => m[1]!);
}

const cacheFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bin')) : []);

describe('the CLI bundle and its V8 code cache', () => {
  it('builds a private cache keyed by Node version on the first run and uses it on the next', () => {
    assertBuilt();
    const root = scratch();
    const cache = path.join(root, 'cache');
    status(cache, path.join(root, 'state'));
    const [file] = cacheFiles(cache);
    expect(file).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{8}-\\d+-\\d+-other\\.bin$`));
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(cache, file!)).mode & 0o777).toBe(0o600);
    const before = statSync(path.join(cache, file!));
    expect(status(cache, path.join(root, 'state'))).toEqual([path.join(cache, file!)]);
    // Accepted: not rewritten.
    expect(statSync(path.join(cache, file!)).mtimeMs).toBe(before.mtimeMs);
  });

  it("an earlier build's cache is removed when the new one is written; files that are not ours stay", () => {
    assertBuilt();
    const root = scratch();
    const cache = path.join(root, 'cache');
    mkdirSync(cache, { mode: 0o700 });
    const stale = `${process.version}-${process.arch}-1-1.bin`;
    writeFileSync(path.join(cache, stale), 'an earlier build', { mode: 0o600 });
    writeFileSync(path.join(cache, 'notes.bin'), 'not ours', { mode: 0o600 });
    status(cache, path.join(root, 'state'));
    const [file] = cacheFiles(cache).filter((f) => f !== 'notes.bin');
    expect(cacheFiles(cache).filter((f) => f !== 'notes.bin')).toHaveLength(1);
    expect(cacheFiles(cache)).not.toContain(stale);
    expect(readFileSync(path.join(cache, 'notes.bin'), 'utf8')).toBe('not ours');
    // A build of this installation replaces it; another installation's cache (another tag) stays.
    const tag = file!.split('-')[2]!;
    const earlier = `${process.version}-${process.arch}-${tag}-2-2.bin`;
    const otherApp = `${process.version}-${process.arch}-${tag === '00000000' ? '11111111' : '00000000'}-3-3.bin`;
    writeFileSync(path.join(cache, earlier), 'an earlier build of this install', { mode: 0o600 });
    writeFileSync(path.join(cache, otherApp), 'another app', { mode: 0o600 });
    rmSync(path.join(cache, file!));
    status(cache, path.join(root, 'state'));
    expect(cacheFiles(cache)).not.toContain(earlier);
    expect(readFileSync(path.join(cache, otherApp), 'utf8')).toBe('another app');
  });

  it('a corrupt cache is rejected before V8 sees it, the CLI runs from source, and the cache is rebuilt', () => {
    const root = scratch();
    const cache = path.join(root, 'cache');
    status(cache, path.join(root, 'state'));
    const [file] = cacheFiles(cache);
    const full = path.join(cache, file!);
    const garbage = Buffer.alloc(readFileSync(full).length, 7);
    writeFileSync(full, garbage, { mode: 0o600 });
    status(cache, path.join(root, 'state'));
    const rebuilt = readFileSync(full);
    expect(rebuilt.equals(garbage)).toBe(false);
    expect(rebuilt.length).toBeGreaterThan(1000);
  });

  it('a first run writes an early launch cache as the machines load; the first warm launch writes the complete one, which later launches keep', () => {
    assertBuilt();
    const root = scratch();
    const cache = path.join(root, 'cache');
    const box = sandbox(ALL_GRANTED);
    const launchWith = () => {
      const result = spawnSync(process.execPath, [BIN, 'launch', '--state-dir', box.stateDir, '--sim-db', box.simDb, '--config', box.config, '--json'], {
        env: { ...process.env, FIRST_RUN_CODE_CACHE_DIR: cache },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, result.stderr).toBe(0);
      return cacheFiles(cache).sort();
    };
    // The first run goes through the machines: its cache is written as they load — before the first
    // event the machines publish (the journal's first phase), not after the run.
    const [early] = launchWith();
    expect(early).toMatch(/-launch-early\.bin$/);
    const written = statSync(path.join(cache, early!)).mtimeMs;
    const lines = readFileSync(path.join(box.stateDir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ts: string; type: string });
    const firstPhase = lines.find((l) => l.type === 'permissions.v2.phase')!;
    expect(written).toBeLessThanOrEqual(Date.parse(firstPhase.ts) + 1);
    // The next launch is warm: it reads the early cache and writes the complete one after it ran.
    const both = launchWith();
    expect(both).toHaveLength(2);
    const complete = both.find((name) => name.endsWith('-launch.bin'))!;
    expect(complete).toBeDefined();
    // Later warm launches read the complete cache (accepted) and write nothing.
    const completeWritten = statSync(path.join(cache, complete)).mtimeMs;
    expect(launchWith()).toEqual(both);
    expect(statSync(path.join(cache, complete)).mtimeMs).toBe(completeWritten);
    expect(statSync(path.join(cache, early!)).mtimeMs).toBe(written);
  });

  it('a cache dir others can write is neither read nor written', () => {
    const root = scratch();
    const own = path.join(root, 'own');
    status(own, path.join(root, 'state'));
    const [file] = cacheFiles(own);
    const shared = path.join(root, 'shared');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    // A cache planted there — even a valid one of ours — is never opened, and nothing is written there.
    writeFileSync(path.join(shared, file!), readFileSync(path.join(own, file!)), { mode: 0o600 });
    expect(status(shared, path.join(root, 'state'))).toEqual([]);
    expect(cacheFiles(shared)).toEqual([file]);
    expect(readFileSync(path.join(shared, file!)).equals(readFileSync(path.join(own, file!)))).toBe(true);
  });

  it('a cache file that is a symbolic link is not followed; it is replaced, its target untouched', () => {
    const root = scratch();
    const cache = path.join(root, 'cache');
    status(cache, path.join(root, 'state'));
    const [file] = cacheFiles(cache);
    const full = path.join(cache, file!);
    const planted = path.join(root, 'planted.bin');
    const plantedBytes = readFileSync(full);
    writeFileSync(planted, plantedBytes, { mode: 0o600 });
    rmSync(full);
    symlinkSync(planted, full);
    status(cache, path.join(root, 'state'));
    expect(lstatSync(full).isSymbolicLink()).toBe(false);
    expect(readFileSync(planted).equals(plantedBytes)).toBe(true);
  });

  it('FIRST_RUN_NO_CODE_CACHE=1 reads and writes no cache; FIRST_RUN_NO_BUNDLE=1 runs dist/ module by module', () => {
    const root = scratch();
    const cache = path.join(root, 'cache');
    expect(status(cache, path.join(root, 'state'), { FIRST_RUN_NO_CODE_CACHE: '1' })).toEqual([]);
    expect(cacheFiles(cache)).toEqual([]);
    expect(status(cache, path.join(root, 'state'), { FIRST_RUN_NO_BUNDLE: '1' })).toEqual([]);
    expect(cacheFiles(cache)).toEqual([]);
  });
});
