/**
 * Random bytes from the kernel's `/dev/urandom`, without `node:crypto`: loading that module costs a fresh
 * process ~3 ms (it brings Node's streams along), more than the rest of a warm launch's lock, and the
 * lock only needs a few random bytes for its token. The device is checked on the open descriptor (a
 * character device, as `/dev/urandom` is); anywhere it is missing or is something else, `node:crypto`'s
 * `randomBytes` (the same kernel source) is used instead.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const POOL_BYTES = 288;
let pool: Buffer | null = null;
let used = POOL_BYTES;

/**
 * `n` random bytes (n ≤ 288), each handed out once: they come from a pool read 288 bytes at a time, so
 * a process that takes many locks (an embedding app, the benchmark) opens the device once per 32 tokens.
 */
export function urandomBytes(n: number): Buffer {
  if (n > POOL_BYTES) throw new RangeError(`urandomBytes: at most ${POOL_BYTES} bytes at a time, asked for ${n}`);
  if (pool === null || used + n > POOL_BYTES) {
    pool = readDevice(POOL_BYTES) ?? cryptoRandomBytes(POOL_BYTES);
    used = 0;
  }
  const bytes = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n); // never handed out twice, not even by a bug
  used += n;
  return bytes;
}

function readDevice(n: number): Buffer | null {
  const bytes = Buffer.alloc(n);
  let fd: number | null = null;
  try {
    // Non-blocking: a FIFO planted at that name must not hold the open (its type is checked just after).
    fd = openSync('/dev/urandom', constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (fstatSync(fd).isCharacterDevice() && readSync(fd, bytes, 0, n, null) === n) return bytes;
  } catch {
    // no such device here (or not readable): the crypto module instead
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return null;
}

/** `node:crypto` loaded on first use, by `process.getBuiltinModule`: bundler-safe (HE-4), unlike `createRequire(import.meta.url)`. */
function cryptoRandomBytes(n: number): Buffer {
  return process.getBuiltinModule('node:crypto').randomBytes(n);
}
