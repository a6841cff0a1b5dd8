/**
 * The launcher's code cache file format (bin/first-run.js, SPEC HE-5): a cache file is accepted only
 * whole and only for the bundle file (identity: device, inode, size, mtime, ctime) it was written for —
 * checked in this process, before any V8 deserializer sees a byte.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Decoded = { data: Uint8Array; rejected?: undefined } | { data?: undefined; rejected: string };
const launcher = createRequire(import.meta.url)(resolve(import.meta.dirname, '../../bin/first-run.js')) as {
  encodeCache(identity: bigint[], data: Uint8Array): Buffer;
  decodeCache(file: Uint8Array, identity: bigint[]): Decoded;
};

/** A bundle file's identity: device, inode, size, mtime (ns), ctime (ns). */
const IDENTITY = [66306n, 1234567n, 476650n, 1796670295762000000n, 1796670295762123456n];
const DATA = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));

describe('the code cache format', () => {
  it('should give back the data of a whole file written for this bundle file', () => {
    const data = Buffer.from('cached data of V8, any bytes \x00\xff');
    const decoded = launcher.decodeCache(launcher.encodeCache(IDENTITY, data), IDENTITY);
    expect(decoded.rejected).toBeUndefined();
    expect(Buffer.from(decoded.data!).equals(data)).toBe(true);
  });

  it('should reject another bundle file: any field of its identity', () => {
    const file = launcher.encodeCache(IDENTITY, DATA);
    IDENTITY.forEach((_, i) => {
      const other = IDENTITY.map((value, j) => (j === i ? value + 1n : value));
      expect(launcher.decodeCache(file, other).rejected).toMatch(/^another build of the bundle/);
    });
  });

  it('should reject a file with any bit flipped, any block zeroed, cut short or extended', () => {
    const file = launcher.encodeCache(IDENTITY, DATA);
    // Every bit of the file is checked: the header field by field, the data against its copy.
    for (let bit = 0; bit < file.length * 8; bit++) {
      const damaged = Buffer.from(file);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      expect(launcher.decodeCache(damaged, IDENTITY).rejected, `bit ${bit}`).toBeDefined();
    }
    fc.assert(
      fc.property(fc.nat(file.length - 1), fc.integer({ min: 1, max: 4096 }), (start, length) => {
        const damaged = Buffer.from(file).fill(0, start, Math.min(start + length, file.length));
        fc.pre(!damaged.equals(file));
        expect(launcher.decodeCache(damaged, IDENTITY).rejected).toBeDefined();
      }),
      { seed: 20, numRuns: 500 },
    );
    for (let length = 0; length < file.length; length += 97) expect(launcher.decodeCache(file.subarray(0, length), IDENTITY).rejected).toBeDefined();
    expect(launcher.decodeCache(Buffer.concat([file, Buffer.alloc(1)]), IDENTITY).rejected).toBe('damaged (length)');
  });

  it('should reject two copies that differ even where each looks like data', () => {
    const file = launcher.encodeCache(IDENTITY, DATA);
    const other = launcher.encodeCache(IDENTITY, Buffer.from(DATA).reverse());
    const mixed = Buffer.concat([file.subarray(0, 64 + DATA.length + 1), other.subarray(64 + DATA.length + 1)]);
    expect(launcher.decodeCache(mixed, IDENTITY).rejected).toBe('damaged (the copies differ)');
  });
});
