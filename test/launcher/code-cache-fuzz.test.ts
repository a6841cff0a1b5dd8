/**
 * Fuzz of the launcher's V8 code cache (SPEC HE-5), with real processes: whatever the cache file holds —
 * flipped bits, a zeroed 4 KiB block, damaged header bytes, a truncation, garbage, the cache of another
 * build of the same size, or what several writers at once leave — `status` prints exactly what it prints
 * without a cache, exits 0, never crashes; and the cache left behind is a whole one for this build.
 * A fixed seed and a bounded number of cases (each case is one process, a few seconds in all).
 */
import { createRequire } from 'node:module';
import { readFileSync, rmSync, statSync, writeFileSync, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheFiles, installCopy, removeAll, runCli, runCliAsync, scratchDir, type InstalledCopy } from './installed-copy.js';

const TAGLINE = 'restarts the app exactly once, ever';
const OTHER_TAGLINE = 'RESTARTS THE APP EXACTLY ONCE, EVER';

type Mutation =
  | { kind: 'flip'; bits: number[] }
  | { kind: 'zero-block'; block: number }
  | { kind: 'header'; offset: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'other-build' }
  | { kind: 'concurrent'; writers: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('zero-block' as const), block: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('header' as const), offset: fc.nat(63), value: fc.nat(255) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 4096 }) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'other-build' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('concurrent' as const), writers: fc.integer({ min: 2, max: 4 }) }), weight: 1 },
);

function mutate(good: Buffer, otherBuild: Buffer, m: Exclude<Mutation, { kind: 'concurrent' }>): Buffer {
  switch (m.kind) {
    case 'flip': {
      const bytes = Buffer.from(good);
      for (const bit of m.bits) bytes[(bit >> 3) % bytes.length]! ^= 1 << (bit & 7);
      return bytes;
    }
    case 'zero-block': {
      const start = (m.block % Math.ceil(good.length / 4096)) * 4096;
      return Buffer.from(good).fill(0, start, start + 4096);
    }
    case 'header': {
      const bytes = Buffer.from(good);
      bytes[m.offset] = m.value === bytes[m.offset] ? m.value ^ 0xff : m.value;
      return bytes;
    }
    case 'truncate':
      return good.subarray(0, m.length % good.length);
    case 'garbage':
      return Buffer.from(m.bytes);
    case 'other-build':
      return otherBuild;
  }
}

describe('code cache fuzz (HE-5)', () => {
  const dirs: string[] = [];
  let copy: InstalledCopy;
  let cache: string;
  let state: string;
  let reference: string;
  let good: Buffer;
  let otherBuild: Buffer;
  let cacheFile: string;

  beforeAll(() => {
    const root = scratchDir('code-cache-fuzz-');
    dirs.push(root);
    copy = installCopy(root);
    cache = path.join(root, 'cache');
    state = path.join(root, 'state');
    const status = (dir: string, extra: Record<string, string> = {}) => runCli(copy.bin, ['status', '--state-dir', state, '--json'], dir, extra);
    reference = status(cache, { FIRST_RUN_NO_CODE_CACHE: '1' }).stdout;
    expect(JSON.parse(reference)).toMatchObject({ phase: 'NONE' });
    expect(status(cache).stdout).toBe(reference);
    const [name] = cacheFiles(cache);
    cacheFile = path.join(cache, name!);
    good = readFileSync(cacheFile);
    // The cache another build of the same size writes (its own install, its own dir), to plant under our name.
    const other = installCopy(scratchDir('code-cache-fuzz-other-'));
    dirs.push(other.root);
    writeFileSync(other.bundle, readFileSync(other.bundle, 'latin1').replace(TAGLINE, OTHER_TAGLINE), 'latin1');
    const otherCache = path.join(other.root, 'cache');
    expect(runCli(other.bin, ['status', '--state-dir', state, '--json'], otherCache).status).toBe(0);
    otherBuild = readFileSync(path.join(otherCache, cacheFiles(otherCache)[0]!));
    expect(otherBuild.length).toBeGreaterThan(1000);
  });
  afterAll(() => removeAll(dirs));

  const launcher = () =>
    createRequire(import.meta.url)(copy.bin) as { identityOf(stats: BigIntStats): bigint[]; decodeCache(file: Uint8Array, identity: bigint[]): { rejected?: string } };

  it('should behave as without a cache whatever the cache file holds, and leave a whole cache behind', async () => {
    const { identityOf, decodeCache } = launcher();
    const ours = identityOf(statSync(copy.bundle, { bigint: true }));
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let runs;
        if (m.kind === 'concurrent') {
          rmSync(cacheFile, { force: true });
          runs = await Promise.all(Array.from({ length: m.writers }, () => runCliAsync(copy.bin, ['status', '--state-dir', state, '--json'], cache)));
        } else {
          writeFileSync(cacheFile, mutate(good, otherBuild, m), { mode: 0o600 });
          runs = [runCli(copy.bin, ['status', '--state-dir', state, '--json'], cache)];
        }
        for (const ran of runs) {
          expect(ran.signal, ran.stderr).toBeNull();
          expect(ran.stderr).toBe('');
          expect(ran.status).toBe(0);
          expect(ran.stdout).toBe(reference);
        }
        // Whatever was there, what is there now is a whole cache of this build (a rejected one was rewritten).
        expect(cacheFiles(cache)).toEqual([path.basename(cacheFile)]);
        expect(decodeCache(readFileSync(cacheFile), ours).rejected).toBeUndefined();
      }),
      { seed: 20, numRuns: 20, endOnFailure: true },
    );
  });
});
