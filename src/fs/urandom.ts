/**
 * Random bytes from the kernel's `/dev/urandom`, without `node:crypto`: loading that module costs a fresh
 * process ~3 ms (it brings Node's streams along), more than the rest of a warm launch's lock, and the
 * lock only needs a few random bytes for its token. The device is checked on the open descriptor (a
 * character device, as `/dev/urandom` is); anywhere it is missing or is something else, `node:crypto`'s
 * `randomBytes` (the same kernel source) is used instead.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** `n` random bytes (n ≤ 256). */
export function urandomBytes(n: number): Buffer {
  const bytes = Buffer.alloc(n);
  let fd: number | null = null;
  try {
    fd = openSync('/dev/urandom', constants.O_RDONLY | constants.O_NOFOLLOW);
    if (fstatSync(fd).isCharacterDevice() && readSync(fd, bytes, 0, n, null) === n) return bytes;
  } catch {
    // no such device here (or not readable): the crypto module below
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return cryptoRandomBytes(n);
}

function cryptoRandomBytes(n: number): Buffer {
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return randomBytes(n);
}
