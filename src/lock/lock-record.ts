/**
 * The owner record's text: the target of the lock's symbolic link (see `lock-protocol.ts` for why the
 * current format, version 3, is at most {@link FAST_SYMLINK_MAX} bytes, and what it gives up for it) —
 * written in version 3, read in version 3, 2 and 1 (the JSON of earlier versions, in a link target or a
 * directory lock's `owner.json`).
 *
 * Version 3 (HE-9), one line, seven fields separated by one space:
 * `3 <pid> <token> <start> <acquired> <machine> <boot>`, e.g. `3 48213 q3Xb9_LmT2aZ Hk3_a9Qz lz1k5x0a Xq0aZ1b2 cD4eF5g6`
 * - `pid`, `token`, `start`, `acquired`: as in version 2 below.
 * - `machine`: the 8-character hash of this machine's identity, `boot`: of its boot identity, or `-`
 *   when the boot cannot be told (`machine-identity.ts`). No host name: it changes under a running app.
 *
 * Version 2 (still read; judged by host name as before), six fields:
 * `2 <pid> <token> <start> <acquired> <host>`, e.g. `2 48213 q3Xb9_LmT2aZ Hk3_a9Qz lz1k5x0a vm`
 * - `pid`: decimal, as people read it in `ps`.
 * - `token`: 12 characters of base64url from 9 random bytes (72 bits), a fresh one per acquisition.
 * - `start`: the holder's start identity (`process-identity.ts`), as an 8-character FNV-1a hash
 *   ({@link fnv1a48}), or `-` when the platform cannot tell.
 * - `acquired`: when the lock was taken, epoch milliseconds in base 36 (8 characters until 2059).
 * - `host`: `os.hostname()` when it is at most {@link HOST_LITERAL_MAX} characters of `[A-Za-z0-9._-]`,
 *   else the first {@link HOST_PREFIX_MAX} such characters, `~`, and the FNV-1a hash of the whole name
 *   ({@link hostLabel}).
 */
import { urandomBytes } from '../fs/urandom.js';
import { isPid, parseJsonObject } from '../safe-json.js';

/** The metadata a holder publishes with its lock: the target of the lock's symbolic link, created in one step. */
export interface LockOwner {
  /** Format version of the record it was read from: 3 (machine and boot), 2 (host name) or 1 (JSON, earlier versions). */
  version: 1 | 2 | 3;
  /** The holder's PID. */
  pid: number;
  /**
   * The holder's host, as recorded. Version 1: `os.hostname()`. Version 2: {@link hostLabel} of it — the
   * name itself when short, else `<prefix>~<hash of the whole name>`. A holder on another host is never
   * judged dead.
   */
  host: string;
  /**
   * When the holder process started (ISO), for people; `null` when unknown. Version 1 records it;
   * version 2 does not (it does not fit): a status of a live holder whose start identity matched fills
   * it in from the process itself, otherwise it is `null`.
   */
  startedAt: string | null;
  /**
   * The holder's start identity (see `process-identity.ts`); `null` when the platform cannot tell.
   * Version 1: the exact identity. Version 2: `fnv1a48:<hash>` of it ({@link startKey}).
   */
  startId: string | null;
  /** A random one-time id of this acquisition; every release and `isHeld()` compares it. */
  token: string;
  /** When the lock was acquired (ISO, to the millisecond). */
  acquiredAt: string;
  /** Version 3: the hash of the holder's machine identity (`machine-identity.ts`). */
  machine?: string;
  /** Version 3: the hash of the holder's boot identity; `null` when its boot could not be told. */
  boot?: string | null;
}

/** A record in the compact line format (version 2, host name; still read and written by tests). */
export type LockOwnerV2 = LockOwner & { version: 2 };
/** A record this version writes: machine and boot instead of a host name. */
export type LockOwnerV3 = LockOwner & { version: 3; machine: string; boot: string | null };
/** A record that {@link serializeOwner} writes. */
export type WritableOwner = LockOwnerV2 | LockOwnerV3;

/** What a version-3 record shows as its `host` before its machine is compared with ours (`lock-owner.ts`). */
export const MACHINE_HOST_PREFIX = 'machine ';

/**
 * The longest symbolic-link target ext4 keeps inside the inode (a "fast symlink", 60 bytes with the
 * terminating NUL): a longer one costs a block allocated on `symlink` and freed on `unlink` (~60 µs).
 */
export const FAST_SYMLINK_MAX = 59;
/** The longest host name a version-2 record keeps as it is. */
export const HOST_LITERAL_MAX = 18;
/** How much of a longer host name a version-2 record keeps, before `~<hash>`. */
const HOST_PREFIX_MAX = 9;

/** A token: v1 UUIDs, v2 base64url. Also safe inside a file name (`takeover-t-<token>`). */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{8,80}$/;
const HASH_PATTERN = /^[A-Za-z0-9_-]{8}$/;
const PID_PATTERN = /^[1-9][0-9]{0,15}$/;
const ACQUIRED_PATTERN = /^[0-9a-z]{1,10}$/;
const HOST_LITERAL = /^[A-Za-z0-9._-]{1,64}$/;
const HOST_ABBREVIATED = /^[A-Za-z0-9._-]{0,64}~[A-Za-z0-9_-]{8}$/;
const HOST_CHARS_OUTSIDE = /[^A-Za-z0-9._-]/g;
const START_KEY_PREFIX = 'fnv1a48:';
const TOKEN_BYTES = 9;

/** A new random one-time token: 12 base64url characters (72 random bits). */
export function newToken(): string {
  return urandomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * 64-bit FNV-1a of `text`'s UTF-8 bytes, xor-folded to 48 bits, as 8 base64url characters. Not a
 * cryptographic hash: it tells apart start identities and host names, which nobody chooses to collide
 * (a process cannot pick its start time). Computed in 16-bit limbs: no BigInt, no `node:crypto`.
 */
export function fnv1a48(text: string): string {
  // offset basis 0xcbf29ce484222325, low limb first
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  const bytes = Buffer.from(text, 'utf8');
  // An index, not `for…of`: the iterator protocol costs µs per byte before the JIT has seen this loop,
  // and every process hashes its start identity and machine identity exactly once (cold).
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    // h *= 0x100000001b3 (= 2^40 + 0x1b3), mod 2^64
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + (h0 << 8);
    const t3 = h3 * 0x1b3 + (h1 << 8);
    t1 += t0 >>> 16;
    t2 += t1 >>> 16;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h3 = (t3 + (t2 >>> 16)) & 0xffff;
    h2 = t2 & 0xffff;
  }
  const low = h0 ^ h3; // fold the top 16 bits into the bottom ones
  return Buffer.from([h2 >>> 8, h2 & 0xff, h1 >>> 8, h1 & 0xff, low >>> 8, low & 0xff]).toString('base64url');
}

/** The form in which a version-2 owner carries a start identity: compare `startKey(probe.startId)` with it. */
export function startKey(startId: string): string {
  return START_KEY_PREFIX + fnv1a48(startId);
}

/**
 * How a version-2 record names the host `host`: the name itself when it is short and plain, else its
 * first plain characters, `~`, and the hash of the whole name. A function of the name alone, so every
 * process on a host writes the same label, and "is it this host?" is `owner.host === hostLabel(mine)`.
 */
export function hostLabel(host: string): string {
  if (host.length <= HOST_LITERAL_MAX && HOST_LITERAL.test(host)) return host;
  return `${host.replace(HOST_CHARS_OUTSIDE, '').slice(0, HOST_PREFIX_MAX)}~${fnv1a48(host)}`;
}

/**
 * Serialise a version-3 owner record (the lock's link target): at most {@link FAST_SYMLINK_MAX} bytes
 * when the PID has at most 7 digits and the token is one of {@link newToken}'s.
 */
export function serializeOwner(owner: WritableOwner): string {
  const start = owner.startId === null ? '-' : owner.startId.startsWith(START_KEY_PREFIX) ? owner.startId.slice(START_KEY_PREFIX.length) : fnv1a48(owner.startId);
  const acquired = Math.max(0, Date.parse(owner.acquiredAt) || 0).toString(36);
  if (owner.version === 3) return `3 ${owner.pid} ${owner.token} ${start} ${acquired} ${owner.machine} ${owner.boot ?? '-'}`;
  return `2 ${owner.pid} ${owner.token} ${start} ${acquired} ${owner.host}`;
}

/** The fields version 2 and 3 share (pid, token, start, acquired), checked; `null` when one is malformed. */
function parseCommon(pid: string, token: string, start: string, acquired: string): Omit<LockOwner, 'version' | 'host'> | null {
  if (!PID_PATTERN.test(pid) || !Number.isSafeInteger(Number(pid))) return null;
  if (!TOKEN_PATTERN.test(token)) return null;
  if (start !== '-' && !HASH_PATTERN.test(start)) return null;
  if (!ACQUIRED_PATTERN.test(acquired)) return null;
  return {
    pid: Number(pid),
    startedAt: null,
    startId: start === '-' ? null : START_KEY_PREFIX + start,
    token,
    acquiredAt: new Date(parseInt(acquired, 36)).toISOString(),
  };
}

function parseV3(text: string): LockOwnerV3 | null {
  const fields = text.split(' ');
  if (fields.length !== 7) return null;
  const [, pid, token, start, acquired, machine, boot] = fields as [string, string, string, string, string, string, string];
  const common = parseCommon(pid, token, start, acquired);
  if (common === null || !HASH_PATTERN.test(machine) || (boot !== '-' && !HASH_PATTERN.test(boot))) return null;
  return { version: 3, ...common, host: `${MACHINE_HOST_PREFIX}${machine}`, machine, boot: boot === '-' ? null : boot };
}

function parseV2(text: string): LockOwnerV2 | null {
  const fields = text.split(' ');
  if (fields.length !== 6) return null;
  const [, pid, token, start, acquired, host] = fields as [string, string, string, string, string, string];
  const common = parseCommon(pid, token, start, acquired);
  if (common === null || (!HOST_LITERAL.test(host) && !HOST_ABBREVIATED.test(host))) return null;
  return { version: 2, ...common, host };
}

function parseV1(text: string): LockOwner | null {
  const v = parseJsonObject(text);
  if (v === null || v.version !== 1 || !isPid(v.pid)) return null;
  if (typeof v.host !== 'string' || v.host.length === 0) return null;
  if (typeof v.token !== 'string' || !TOKEN_PATTERN.test(v.token)) return null;
  if (typeof v.acquiredAt !== 'string') return null;
  if (v.startedAt !== null && typeof v.startedAt !== 'string') return null;
  if (v.startId !== null && typeof v.startId !== 'string') return null;
  return { version: 1, pid: v.pid, host: v.host, startedAt: v.startedAt, startId: v.startId, token: v.token, acquiredAt: v.acquiredAt };
}

/**
 * Parse an owner record — a link target, or a legacy `owner.json` — in version 3, 2 or 1.
 * @returns `null` for anything that is not a complete, well-formed record of either.
 */
export function parseOwner(text: string): LockOwner | null {
  if (text.startsWith('3 ')) return parseV3(text);
  return text.startsWith('2 ') ? parseV2(text) : parseV1(text);
}
