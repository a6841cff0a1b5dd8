import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileVersionSync, isSettledVersion, readRegularFileSync, readRegularFileWithIdentitySync, UnsafeFileError } from '../../src/fs/regular-file.js';
import { createSimBackend } from '../../src/backend/sim-backend.js';
import { tempDir } from '../support/temp-dir.js';

describe('readRegularFileSync', () => {
  const dir = tempDir('regular-file-');
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

describe('file versions', () => {
  const dir = tempDir('file-version-');

  it('change with a rewrite of another size and with a replace; a directory or nothing has none', () => {
    const file = path.join(dir, 'v.json');
    writeFileSync(file, 'one');
    const first = readRegularFileWithIdentitySync(file, { maxBytes: 100 }).version;
    expect(fileVersionSync(file)).toBe(first);
    writeFileSync(file, 'three');
    expect(fileVersionSync(file)).not.toBe(first);
    const second = fileVersionSync(file);
    writeFileSync(`${file}.tmp`, 'three');
    renameSync(`${file}.tmp`, file);
    expect(fileVersionSync(file)).not.toBe(second);
    expect(fileVersionSync(dir)).toBeNull();
    expect(fileVersionSync(path.join(dir, 'missing'))).toBeNull();
  });

  it('are trusted only once the file is older than the timestamps\u2019 tick', () => {
    const file = path.join(dir, 'settled.json');
    writeFileSync(file, '{}');
    expect(isSettledVersion(fileVersionSync(file)!, Date.now())).toBe(false);
    const old = new Date(Date.now() - 10_000);
    utimesSync(file, old, old);
    expect(isSettledVersion(fileVersionSync(file)!, Date.now())).toBe(true);
  });
});

describe('the simulated backend reads a database that changed, whatever its timestamps', () => {
  const dir = tempDir('sim-version-');
  const db = (status: string) => JSON.stringify({ permissions: { microphone: { status } } });

  it('a same-size rewrite right after a read (within the timestamp tick) is seen', async () => {
    const file = path.join(dir, 'fresh.json');
    writeFileSync(file, db('granted'));
    const backend = createSimBackend({ file });
    expect(await backend.getStatus('microphone')).toBe('granted');
    writeFileSync(file, db('denied').padEnd(db('granted').length, ' '));
    expect(await backend.getStatus('microphone')).toBe('denied');
    await backend.close();
  });

  it('a settled database rewritten in place is seen', async () => {
    const file = path.join(dir, 'settled.json');
    writeFileSync(file, db('granted'));
    const old = new Date(Date.now() - 10_000);
    utimesSync(file, old, old);
    const backend = createSimBackend({ file });
    expect(await backend.getStatus('microphone')).toBe('granted');
    expect(await backend.getStatus('microphone')).toBe('granted');
    writeFileSync(file, db('restricted'));
    expect(await backend.getStatus('microphone')).toBe('restricted');
    await backend.close();
  });
});
