import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRegularFileSync, UnsafeFileError } from '../../src/fs/regular-file.js';

describe('readRegularFileSync', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'regular-file-'));
  const fileOf = (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };

  it.each([0, 1, 100, 4096])('reads a %i-byte file whole', (size) => {
    const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
    expect(readRegularFileSync(fileOf(`f${size}`, bytes), { maxBytes: 4096 }).equals(bytes)).toBe(true);
  });

  it('refuses a file one byte over the limit, naming it', () => {
    const file = fileOf('big', Buffer.alloc(4097, 1));
    expect(() => readRegularFileSync(file, { maxBytes: 4096 })).toThrow(UnsafeFileError);
    expect(() => readRegularFileSync(file, { maxBytes: 4096 })).toThrow(/big is 4097 bytes, expected at most 4096 bytes/);
  });

  it('refuses a directory before reading', () => {
    expect(() => readRegularFileSync(dir, { maxBytes: 10 })).toThrow(/is a directory, expected a regular file/);
  });
});
