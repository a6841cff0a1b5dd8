import { describe, expect, it } from 'vitest';
import { urandomBytes } from '../../src/fs/urandom.js';

describe('urandomBytes', () => {
  it('hands out distinct bytes of the asked length, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const bytes = urandomBytes(9);
      expect(bytes).toHaveLength(9);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(500);
  });

  it('is not a constant (the bytes vary)', () => {
    const all = Buffer.concat(Array.from({ length: 64 }, () => urandomBytes(32)));
    const counts = new Map<number, number>();
    for (const byte of all) counts.set(byte, (counts.get(byte) ?? 0) + 1);
    expect(counts.size).toBeGreaterThan(200); // 2048 random bytes cover nearly all 256 values
  });

  it('refuses more than a pool at once', () => {
    expect(() => urandomBytes(289)).toThrow(RangeError);
  });
});
