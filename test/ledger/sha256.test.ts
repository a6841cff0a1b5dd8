import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/ledger/sha256.js';
import { sha256Checksum, sha256ChecksumForRead } from '../../src/ledger/canonical-json.js';

const reference = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('sha256Hex (the ledger checksum without node:crypto)', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(sha256Hex(Buffer.from(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('equals node:crypto for every length around the block boundaries and for random data', () => {
    for (let length = 0; length <= 300; length++) {
      const bytes = randomBytes(length);
      expect(sha256Hex(bytes), `length ${length}`).toBe(reference(bytes));
    }
    for (const length of [1000, 4096, 65_537, 1_000_003]) {
      const bytes = randomBytes(length);
      expect(sha256Hex(bytes), `length ${length}`).toBe(reference(bytes));
    }
  });

  it('hashes the UTF-8 bytes of the text, for a write (node:crypto) and for a read (without) alike', () => {
    const text = '{"phase":"COMPLETED","note":"ünïcødé ✓ 🎉"}';
    expect(sha256Checksum(text)).toBe(`sha256:${reference(Buffer.from(text, 'utf8'))}`);
    expect(sha256ChecksumForRead(text)).toBe(sha256Checksum(text));
  });
});
