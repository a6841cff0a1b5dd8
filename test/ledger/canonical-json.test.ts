/**
 * `canonicalJson`: `JSON.stringify` semantics with object keys sorted. The serializer was rewritten for
 * speed (it runs at every commit); the first implementation is kept here as the oracle, and a property
 * test checks the two agree on arbitrary values, `toJSON`, holes, non-finite numbers and odd keys included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/ledger/canonical-json.js';

/** The first implementation (arrays of parts, joined), verbatim. */
function oracle(value: unknown): string {
  return serialize(value, [], '') ?? 'null';
}
function serialize(value: unknown, stack: object[], key: string): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError(`Do not know how to serialize a BigInt (at key \`${key}\`)`);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      break;
  }
  if (value === null) return 'null';
  const object = value as object;
  if (stack.includes(object)) throw new TypeError(`Converting circular structure to JSON (at key \`${key}\`)`);
  stack.push(object);
  let out: string;
  if (Array.isArray(object)) {
    out = `[${object.map((item, index) => serialize(item, stack, String(index)) ?? 'null').join(',')}]`;
  } else {
    const parts: string[] = [];
    for (const k of Object.keys(object).sort()) {
      const v = serialize((object as Record<string, unknown>)[k], stack, k);
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${v}`);
    }
    out = `{${parts.join(',')}}`;
  }
  stack.pop();
  return out;
}

const withToJson = fc.oneof(
  fc.date({ noInvalidDate: true }),
  fc.jsonValue().map((inner) => ({ toJSON: () => inner })),
  fc.string().map((tag) => ({ toJSON: (key: string) => `${tag}@${key}` })),
);
const odd = fc.constantFrom(undefined, Number.NaN, Infinity, -Infinity, -0, () => 1, Symbol('s'));
const key = fc.oneof(fc.string(), fc.constantFrom('10', '2', '01', '__proto__x', 'é', 'e\u0301', '\ud83d\ude00', ''));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 2 }), withToJson, odd, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
}));

describe('canonicalJson', () => {
  it('agrees with the first implementation on arbitrary values', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(oracle(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts keys by UTF-16 code units, integer-like keys included, with JSON.stringify for everything else', () => {
    expect(canonicalJson({ b: 1, a: [undefined, NaN, () => 0], 10: 'x', 2: { z: undefined, y: -0 } })).toBe('{"10":"x","2":{"y":0},"a":[null,null,null],"b":1}');
    expect(canonicalJson({ when: new Date(0), nested: { toJSON: (k: string) => k } })).toBe('{"nested":"nested","when":"1970-01-01T00:00:00.000Z"}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('\u2028"')).toBe(JSON.stringify('\u2028"'));
  });

  it('refuses cycles and BigInts, naming the key, as JSON.stringify refuses them', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    expect(() => canonicalJson(loop)).toThrow(/circular structure.*`back`/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/BigInt.*`n`/);
    // A shared (not circular) object is fine.
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
  });
});
