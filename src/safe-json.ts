/**
 * One `JSON.stringify` replacer for values we do not control (event payloads, actor snapshots): never
 * throws on a cycle, keeps an object that is merely *shared* (only a value that is its own ancestor is a
 * cycle), and makes printable what JSON cannot hold — `bigint` → string, `Error` → `{ name, message,
 * code? }`. A `transform` runs first on every value (drop functions, shorten actor refs, …).
 */
export function safeReplacer(transform: (value: unknown) => unknown = (value) => value): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, raw: unknown): unknown {
    const value = transform(raw);
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) {
      const code = (value as NodeJS.ErrnoException).code;
      return code === undefined ? { name: value.name, message: value.message } : { name: value.name, message: value.message, code };
    }
    if (typeof value !== 'object' || value === null) return value;
    // `this` is the object holding `value`; drop the ancestors we have left.
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parse a record this product wrote but cannot trust (a lock owner, a hand-off proof): a JSON object, or
 * `null` for anything else — not JSON, an array, a scalar. The caller checks each field.
 */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isRecord(value) ? value : null;
}

/** A process id as a record may carry one: a positive safe integer (0 and negatives address process groups). */
export function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
