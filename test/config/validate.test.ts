import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locateJsonError, parseJsonText } from '../../src/config/index.js';

describe('locateJsonError', () => {
  it('should find no error in any valid JSON text (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        expect(locateJsonError(JSON.stringify(value, null, pretty ? 2 : 0))).toBe(-1);
      }),
      { numRuns: 300 },
    );
  });

  it('should agree with JSON.parse on whether a text is valid (property)', () => {
    const mutated = fc
      .tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', '\\', '\n', '0', '{', '['))
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i);
      });
    fc.assert(
      fc.property(mutated, (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const offset = locateJsonError(text);
        expect(offset === -1).toBe(valid);
        if (!valid) expect(offset).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('should not overflow the stack on deep nesting', () => {
    expect(locateJsonError('['.repeat(200_000) + ']'.repeat(200_000))).toBe(-1);
    expect(locateJsonError('['.repeat(200_000))).toBe(200_000);
  });

  it('should report line and column', () => {
    expect(parseJsonText('{\n  "a": tru\n}')).toMatchObject({ ok: false, location: { line: 2, column: 8 } });
  });
});
