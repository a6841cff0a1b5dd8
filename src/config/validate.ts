/**
 * Small helpers shared by the input parsers (config, simulated TCC database): key paths, safe value
 * descriptions, "did you mean" suggestions and a JSON syntax locator. Pure: no I/O.
 */
import { describeValue, type InputProblem } from '../errors.js';
import { isRecord } from '../safe-json.js';

/** Collects every problem found in one input, so the error can list them all at once (CF-2). */
export class ProblemList {
  readonly items: InputProblem[] = [];
  /** Record one problem. An empty path is reported as `(root)`. */
  add(path: string, message: string): void {
    this.items.push({ path: path === '' ? '(root)' : path, message });
  }
  get size(): number {
    return this.items.length;
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Extend a key path: `a.b`, `a.order[2]`, `a["odd key"]`. */
export function keyPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const part = IDENTIFIER.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === '') return part.startsWith('[') ? `(root)${part}` : part;
  return part.startsWith('[') ? `${base}${part}` : `${base}.${part}`;
}

/**
 * `describeValue` that cannot throw: a value nested too deeply for `JSON.stringify`/`String` (a
 * 100 000-deep array parses fine but overflows the stack when printed) is described by its type.
 */
export function describe(value: unknown): string {
  try {
    return describeValue(value);
  } catch {
    return `a deeply nested ${Array.isArray(value) ? 'array' : typeof value}`;
  }
}

export { isRecord };

/** Own property or `undefined` (never an inherited `constructor`, `toString`, …). */
export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Levenshtein distance, for "did you mean" on typos. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest allowed word to a typo, when it is close enough to be a likely typo. */
export function suggest(word: string, allowed: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const lower = word.toLowerCase();
  // A truncated key (`delay` for `delay_sec`) is a typo too, whatever the edit distance.
  const prefixed = allowed.filter((a) => lower.length >= 3 && a.toLowerCase().startsWith(lower));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** "one of `a`, `b`, `c`". */
export function oneOf(allowed: readonly string[]): string {
  return `one of ${allowed.map((a) => `\`${a}\``).join(', ')}`;
}

/** Report every own key of `record` that is not in `allowed`, with a suggestion when one is close. */
export function checkKeys(
  record: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  problems: ProblemList,
  what = 'key',
): void {
  for (const key of Object.keys(record)) {
    if (allowed.includes(key)) continue;
    const hint = suggest(key, allowed);
    problems.add(
      keyPath(path, key),
      `unknown ${what}${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}; expected ${oneOf(allowed)}`,
    );
  }
}

/** Bounds for {@link readNumber}. */
export interface NumberRule {
  /** Human words for the expectation: "a number of seconds greater than 0 and at most 3600". */
  expected: string;
  min: number;
  /** `min` itself is not allowed. */
  minExclusive?: boolean;
  max: number;
  integer?: boolean;
}

/** Read an optional number; on a wrong type or range, record a problem and return `undefined`. */
export function readNumber(
  record: Record<string, unknown>,
  key: string,
  path: string,
  rule: NumberRule,
  problems: ProblemList,
): number | undefined {
  const value = own(record, key);
  if (value === undefined) return undefined;
  const at = keyPath(path, key);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.minExclusive === true ? value > rule.min : value >= rule.min) &&
    value <= rule.max &&
    (rule.integer !== true || Number.isInteger(value));
  if (!ok) {
    problems.add(at, `expected ${rule.expected}, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** Read an optional boolean; on a wrong type record a problem and return `undefined`. */
export function readBoolean(
  record: Record<string, unknown>,
  key: string,
  path: string,
  problems: ProblemList,
): boolean | undefined {
  const value = own(record, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    problems.add(keyPath(path, key), `expected \`true\` or \`false\`, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** Read an optional string from a closed set; otherwise record a problem and return `undefined`. */
export function readChoice<T extends string>(
  record: Record<string, unknown>,
  key: string,
  path: string,
  allowed: readonly T[],
  problems: ProblemList,
): T | undefined {
  const value = own(record, key);
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const hint = typeof value === 'string' ? suggest(value, allowed) : undefined;
  problems.add(
    keyPath(path, key),
    `expected ${oneOf(allowed)}, got ${describe(value)}${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
  );
  return undefined;
}

/** Read an optional nested object; a wrong type is recorded and read as absent. */
export function readRecord(
  record: Record<string, unknown>,
  key: string,
  path: string,
  problems: ProblemList,
): Record<string, unknown> | undefined {
  const value = own(record, key);
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.add(keyPath(path, key), `expected an object, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

/** Where a JSON text is invalid: 0-based offset, 1-based line and column. */
export interface JsonErrorLocation {
  offset: number;
  line: number;
  column: number;
}

/**
 * Parse JSON text, or say where it is broken. `JSON.parse` on Node 20 reports a position for some
 * errors only (`Unexpected token '}', "{"a":}" is not valid JSON` has none), so the position comes from a
 * small iterative scanner of our own; `JSON.parse` stays the parser. A leading BOM is ignored.
 */
export function parseJsonText(
  text: string,
): { ok: true; value: unknown } | { ok: false; message: string; location: JsonErrorLocation } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    let offset = locateJsonError(body);
    if (offset < 0) offset = body.length;
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < body.length; i++) {
      if (body.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    const reason = body.trim() === '' ? 'the file is empty' : error instanceof Error ? error.message : String(error);
    return { ok: false, message: reason, location: { offset, line, column: offset - lineStart + 1 } };
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = ' \t\n\r';

/** Offset of the first JSON syntax error in `text`, or -1 when it is valid. Iterative (no recursion). */
export function locateJsonError(text: string): number {
  let i = 0;
  const stack: string[] = [];
  const skip = (): void => {
    while (i < text.length && WS.includes(text[i]!)) i++;
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i += 1;
            return false;
          }
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) {
          i += 2;
        } else {
          i += 1;
          return false;
        }
      } else {
        i++;
      }
    }
    return false;
  };
  // key then colon then the start of a value
  const member = (): boolean => {
    if (text[i] !== '"' || !string()) return false;
    skip();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  let expectValue = true;
  skip();
  for (;;) {
    if (expectValue) {
      skip();
      const c = text[i];
      if (c === '{') {
        i++;
        skip();
        if (text[i] === '}') {
          i++;
          expectValue = false;
          continue;
        }
        stack.push('{');
        if (!member()) return i;
        continue;
      }
      if (c === '[') {
        i++;
        skip();
        if (text[i] === ']') {
          i++;
          expectValue = false;
          continue;
        }
        stack.push('[');
        continue;
      }
      if (c === '"') {
        if (!string()) return i;
      } else if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) {
        NUMBER.lastIndex = i;
        if (!NUMBER.test(text)) return i;
        i = NUMBER.lastIndex;
      } else if (text.startsWith('true', i)) i += 4;
      else if (text.startsWith('false', i)) i += 5;
      else if (text.startsWith('null', i)) i += 4;
      else return i;
      expectValue = false;
      continue;
    }
    skip();
    const top = stack[stack.length - 1];
    if (top === undefined) return i < text.length ? i : -1;
    const c = text[i];
    if (c === ',') {
      i++;
      skip();
      if (top === '{' && !member()) return i;
      expectValue = true;
    } else if ((top === '[' && c === ']') || (top === '{' && c === '}')) {
      i++;
      stack.pop();
    } else {
      return i;
    }
  }
}
