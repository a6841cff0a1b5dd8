/**
 * HE-5 "Caches never change behaviour", for the launcher's V8 code cache (bin/first-run.js), with real
 * processes: another build of the same size and mtime never runs the old compiled code, damaged bytes
 * never reach V8, and a cache dir that cannot be used costs only speed — no crash, no stack trace.
 */
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheFiles, installCopy, removeAll, replaceBundle, runCli, runCliAsync, scratchDir } from './installed-copy.js';

const dirs: string[] = [];
afterEach(() => removeAll(dirs));

function scratch(): string {
  const dir = scratchDir();
  dirs.push(dir);
  return dir;
}

/** A string the help text prints, and another of the same length: another build of the same size. */
const TAGLINE = 'restarts the app exactly once, ever';
const OTHER_TAGLINE = 'RESTARTS THE APP EXACTLY ONCE, EVER';

/** A preload that makes the named `node:fs` calls fail with EACCES for every path under `dir` (root ignores mode bits). */
function eaccesProbe(root: string, dir: string, calls: string[]): string[] {
  const probe = path.join(root, 'eacces-probe.mjs');
  writeFileSync(
    probe,
    [
      "import { createRequire, syncBuiltinESMExports } from 'node:module';",
      "const fs = createRequire(import.meta.url)('node:fs');",
      `for (const call of ${JSON.stringify(calls)}) {`,
      '  const real = fs[call];',
      '  fs[call] = function (file, ...rest) {',
      `    if (String(file).startsWith(${JSON.stringify(dir)})) {`,
      "      throw Object.assign(new Error(`EACCES: permission denied, ${call} '${file}'`), { code: 'EACCES', errno: -13, syscall: call, path: String(file) });",
      '    }',
      '    return real.call(this, file, ...rest);',
      '  };',
      '}',
      'syncBuiltinESMExports();',
    ].join('\n'),
  );
  return ['--import', probe];
}

describe('the launcher code cache never changes behaviour (HE-5)', () => {
  it.each(['in-place', 'rename'] as const)('should run the new code when the bundle is replaced by another build of the same size and mtime (%s)', (how) => {
    const root = scratch();
    const copy = installCopy(root);
    const cache = path.join(root, 'cache');
    const first = runCli(copy.bin, ['--help'], cache);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(TAGLINE);
    expect(cacheFiles(cache)).toHaveLength(1);
    const source = readFileSync(copy.bundle, 'latin1');
    expect(source.split(TAGLINE)).toHaveLength(2);
    replaceBundle(copy, Buffer.from(source.replace(TAGLINE, OTHER_TAGLINE), 'latin1'), how);
    const second = runCli(copy.bin, ['--help'], cache, { FIRST_RUN_DEBUG_CODE_CACHE: '1' });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain(OTHER_TAGLINE);
    expect(second.stdout).not.toContain(TAGLINE);
    // Our check rejected it (V8's own check compares only the source's length).
    expect(second.stderr).toMatch(/code cache .*: another build/);
    // Rebuilt for the new build, and accepted from then on.
    const third = runCli(copy.bin, ['--help'], cache, { FIRST_RUN_DEBUG_CODE_CACHE: '1' });
    expect(third.stdout).toContain(OTHER_TAGLINE);
    expect(third.stderr).toMatch(/code cache .*: accepted/);
  });

  it('should run without the cache, and rewrite it, when a 4 KiB block of it is damaged', () => {
    const root = scratch();
    const copy = installCopy(root);
    const cache = path.join(root, 'cache');
    const state = path.join(root, 'state');
    const clean = runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache, { FIRST_RUN_NO_CODE_CACHE: '1' });
    expect(runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache).stdout).toBe(clean.stdout);
    const [name] = cacheFiles(cache);
    const file = path.join(cache, name!);
    const damaged = readFileSync(file).fill(0, 8192, 12288);
    for (const args of [['status', '--state-dir', state, '--json'], ['--version']]) {
      writeFileSync(file, damaged);
      const ran = runCli(copy.bin, args, cache, { FIRST_RUN_DEBUG_CODE_CACHE: '1' });
      expect(ran.signal).toBeNull();
      expect(ran.status, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/code cache .*: damaged/);
    }
    const after = runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache, { FIRST_RUN_DEBUG_CODE_CACHE: '1' });
    expect(after.stdout).toBe(clean.stdout);
    expect(after.stderr).toMatch(/code cache .*: accepted/);
  });

  /** Cache dirs the launcher cannot even stat: every command still runs, silently. */
  const unusable: Array<[string, (root: string) => string]> = [
    ['a regular file', (root) => {
      writeFileSync(path.join(root, 'file'), 'not a dir');
      return path.join(root, 'file');
    }],
    ['under a regular file (ENOTDIR)', (root) => {
      writeFileSync(path.join(root, 'file'), 'not a dir');
      return path.join(root, 'file', 'cache');
    }],
    ['a symbolic link loop (ELOOP)', (root) => {
      symlinkSync(path.join(root, 'loop-b'), path.join(root, 'loop-a'));
      symlinkSync(path.join(root, 'loop-a'), path.join(root, 'loop-b'));
      return path.join(root, 'loop-a');
    }],
    ['a name too long (ENAMETOOLONG)', (root) => path.join(root, 'x'.repeat(300))],
  ];

  it.each(unusable)('should run every command without a cache when the cache dir is %s', (_what, make) => {
    const root = scratch();
    const copy = installCopy(root);
    const cache = make(root);
    const state = path.join(root, 'state');
    const version = runCli(copy.bin, ['--version'], cache);
    expect(version.stderr).toBe('');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const status = runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache);
    expect(status.stderr).toBe('');
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ phase: 'NONE' });
  });

  // Root (these tests' usual user) bypasses permission bits, so EACCES comes from a preloaded probe that
  // makes the launcher's own fs calls fail as they would for another user.
  it.each([
    ['cannot be searched (EACCES on every call)', ['statSync', 'lstatSync', 'openSync', 'mkdirSync', 'readdirSync', 'writeFileSync', 'renameSync', 'unlinkSync']],
    ['cannot be listed (EACCES on readdir, in the exit handler)', ['readdirSync']],
  ])('should run every command without a cache, silently, when the cache dir %s', (_what, calls) => {
    const root = scratch();
    const copy = installCopy(root);
    const cache = path.join(root, 'cache');
    const probe = eaccesProbe(root, cache, calls);
    for (const args of [['--version'], ['status', '--state-dir', path.join(root, 'state'), '--json']]) {
      const ran = runCli(copy.bin, args, cache, {}, probe);
      expect(ran.stderr).toBe('');
      expect(ran.status).toBe(0);
    }
  });

  it('should leave one whole cache, no temp files, when several processes write it at once', async () => {
    const root = scratch();
    const copy = installCopy(root);
    const cache = path.join(root, 'cache');
    const state = path.join(root, 'state');
    const clean = runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache, { FIRST_RUN_NO_CODE_CACHE: '1' });
    const runs = await Promise.all(Array.from({ length: 6 }, () => runCliAsync(copy.bin, ['status', '--state-dir', state, '--json'], cache)));
    for (const ran of runs) {
      expect(ran.status, ran.stderr).toBe(0);
      expect(ran.stdout).toBe(clean.stdout);
    }
    const names = cacheFiles(cache);
    expect(names).toHaveLength(1);
    expect(statSync(cache).isDirectory()).toBe(true);
    const leftovers = readdirSync(cache).filter((name) => !name.endsWith('.bin'));
    expect(leftovers).toEqual([]);
    const next = runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache, { FIRST_RUN_DEBUG_CODE_CACHE: '1' });
    expect(next.stdout).toBe(clean.stdout);
    expect(next.stderr).toMatch(/code cache .*: accepted/);
  });
});
