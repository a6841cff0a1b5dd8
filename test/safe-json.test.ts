import { describe, expect, it } from 'vitest';
import { safeReplacer } from '../src/safe-json.js';

describe('safeReplacer', () => {
  it('should keep an object that is only shared, and mark a real cycle', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    expect(JSON.parse(JSON.stringify({ x: shared, y: shared, cyclic }, safeReplacer()))).toEqual({
      x: { a: 1 },
      y: { a: 1 },
      cyclic: { name: 'c', self: '[Circular]' },
    });
  });

  it('should apply the transform first, and print what JSON cannot hold', () => {
    const replacer = safeReplacer((value) => (typeof value === 'function' ? undefined : value));
    const error = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    expect(JSON.parse(JSON.stringify({ f: () => 1, n: 10n, error }, replacer))).toEqual({ n: '10', error: { name: 'Error', message: 'disk full', code: 'ENOSPC' } });
  });
});
