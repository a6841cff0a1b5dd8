import { sha256Hex } from './sha256.js';

/**
 * Canonical JSON: `JSON.stringify` semantics (`toJSON`, `undefined`/functions/symbols dropped from
 * objects and turned into `null` in arrays, non-finite numbers → `null`) with object keys sorted, no
 * whitespace. `canonicalJson(JSON.parse(canonicalJson(x))) === canonicalJson(x)` for any input it accepts,
 * which is what makes the ledger checksum verifiable after a round trip through the file.
 *
 * @throws TypeError on a cycle or a `bigint` (as `JSON.stringify` does).
 */
export function canonicalJson(value: unknown): string {
  const out = serialize(value, [], '');
  // A top-level `undefined` has no JSON form; the ledger never stores one.
  return out ?? 'null';
}

// Built by concatenation, not by arrays joined (every commit serializes its snapshot: this is ~2.5× faster
// than `parts.map(...).join(',')` on a 2 kB snapshot — docs/performance.md, "What the fourth session changed").
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
  const out = Array.isArray(object) ? serializeArray(object, stack) : serializeObject(object as Record<string, unknown>, stack);
  stack.pop();
  return out;
}

function serializeArray(array: readonly unknown[], stack: object[]): string {
  let out = '[';
  for (let index = 0; index < array.length; index++) {
    if (index > 0) out += ',';
    out += serialize(array[index], stack, String(index)) ?? 'null';
  }
  return `${out}]`;
}

function serializeObject(object: Record<string, unknown>, stack: object[]): string {
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = serialize(object[k], stack, k);
    if (v === undefined) continue;
    out += first ? `${JSON.stringify(k)}:${v}` : `,${JSON.stringify(k)}:${v}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * `sha256:<hex>` of a string's UTF-8 bytes — the ledger envelope's checksum format — by `node:crypto`,
 * loaded on first use: a commit is fsynced anyway, and the processes that commit run the machines,
 * which load it regardless. The one-shot `crypto.hash` (Node 20.12+; the package needs 20.17+): no Hash
 * object per commit. Loaded by `process.getBuiltinModule` (Node 20.16+), which a bundler leaves alone —
 * never `createRequire(import.meta.url)`, which breaks in a host's CommonJS bundle (HE-4).
 */
export function sha256Checksum(text: string): string {
  nodeHash ??= process.getBuiltinModule('node:crypto').hash;
  return `sha256:${nodeHash('sha256', text, 'hex')}`;
}
let nodeHash: typeof import('node:crypto').hash | undefined;

/**
 * The same checksum without `node:crypto` (`sha256.ts`): for reading the ledger, which every launch does
 * — a warm launch would otherwise load `node:crypto` (~3 ms in a fresh process) for one hash.
 */
export function sha256ChecksumForRead(text: string): string {
  return `sha256:${sha256Hex(Buffer.from(text, 'utf8'))}`;
}
