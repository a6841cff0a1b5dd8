/**
 * The launcher's code cache file format (bin/first-run.js, SPEC HE-5): the WebAssembly hash computes the
 * documented function, and a cache file is accepted only whole and only for the bundle file (identity:
 * device, inode, size, mtime, ctime) it was written for — checked before any V8 deserializer sees it.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Decoded = { data: Uint8Array; rejected?: undefined } | { data?: undefined; rejected: string };
const launcher = createRequire(import.meta.url)(resolve(import.meta.dirname, '../../bin/first-run.js')) as {
  hash64(bytes: Uint8Array): bigint;
  encodeCache(identity: bigint[], data: Uint8Array): Buffer;
  decodeCache(file: Uint8Array, identity: bigint[]): Decoded;
};

/** A bundle file's identity: device, inode, size, mtime (ns), ctime (ns). */
const IDENTITY = [66306n, 1234567n, 476650n, 1796670295762000000n, 1796670295762123456n];

const MASK = (1n << 64n) - 1n;
const mul = (a: bigint, b: bigint) => (a * b) & MASK;
const rotl = (x: bigint, n: bigint) => ((x << n) | (x >> (64n - n))) & MASK;

/** The hash as bin/first-run.js documents it, with BigInts: FxHash over LE words zero-padded to 32 bytes, then fmix64. */
function referenceHash(bytes: Uint8Array): bigint {
  const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  let h = BigInt(bytes.length);
  for (let i = 0; i < padded.length; i += 8) h = mul(rotl(h, 5n) ^ view.getBigUint64(i, true), 0x517cc1b727220a95n);
  h = mul(h ^ (h >> 33n), 0xff51afd7ed558ccdn);
  h = mul(h ^ (h >> 33n), 0xc4ceb9fe1a85ec53n);
  return BigInt.asIntN(64, h ^ (h >> 33n));
}

describe('the code cache format', () => {
  it('should hash as documented (the WebAssembly module against the same function in BigInts)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(launcher.hash64(bytes)).toBe(referenceHash(bytes));
      }),
      { seed: 20, numRuns: 300 },
    );
    // Memory grows for a larger input, and a smaller one after it is hashed alone (no stale tail).
    const big = new Uint8Array(200_000).map((_, i) => i * 7);
    expect(launcher.hash64(big)).toBe(referenceHash(big));
    expect(launcher.hash64(big.subarray(0, 13))).toBe(referenceHash(big.subarray(0, 13)));
  });

  it('should give back the data of a whole file written for this bundle file', () => {
    const data = Buffer.from('cached data of V8, any bytes \x00\xff');
    const decoded = launcher.decodeCache(launcher.encodeCache(IDENTITY, data), IDENTITY);
    expect(decoded.rejected).toBeUndefined();
    expect(Buffer.from(decoded.data!).equals(data)).toBe(true);
  });

  it('should reject another bundle file (any field of its identity), any flipped bit, a truncation or an extension', () => {
    const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff));
    const file = launcher.encodeCache(IDENTITY, data);
    IDENTITY.forEach((_, i) => {
      const other = IDENTITY.map((value, j) => (j === i ? value + 1n : value));
      expect(launcher.decodeCache(file, other).rejected).toMatch(/^another build of the bundle/);
    });
    fc.assert(
      fc.property(fc.nat(file.length * 8 - 1), (bit) => {
        const damaged = Buffer.from(file);
        damaged[bit >> 3]! ^= 1 << (bit & 7);
        expect(launcher.decodeCache(damaged, IDENTITY).rejected).toBeDefined();
      }),
      { seed: 20, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(file.length - 1), (length) => {
        expect(launcher.decodeCache(file.subarray(0, length), IDENTITY).rejected).toBeDefined();
      }),
      { seed: 20, numRuns: 200 },
    );
    expect(launcher.decodeCache(Buffer.concat([file, Buffer.alloc(1)]), IDENTITY).rejected).toBe('damaged (length)');
    expect(launcher.decodeCache(Buffer.concat([file.subarray(0, 64), Buffer.alloc(data.length)]), IDENTITY).rejected).toBe('damaged (checksum)');
  });
});
