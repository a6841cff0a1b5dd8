import * as fs from 'node:fs';

/**
 * The synchronous `node:fs` calls the ledger makes itself, swappable so tests can inject faults
 * (EACCES, EIO, a failing directory fsync) — tests run as root, where `chmod 000` stops nothing.
 * Every write goes through it, the atomic write of `write-atomic.ts` included.
 */
export interface LedgerFs {
  lstatSync: typeof fs.lstatSync;
  openSync: typeof fs.openSync;
  fstatSync: typeof fs.fstatSync;
  readFileSync: typeof fs.readFileSync;
  closeSync: typeof fs.closeSync;
  fsyncSync: typeof fs.fsyncSync;
  writeSync: typeof fs.writeSync;
  renameSync: typeof fs.renameSync;
  linkSync: typeof fs.linkSync;
  unlinkSync: typeof fs.unlinkSync;
  mkdirSync: typeof fs.mkdirSync;
}

/** The real implementation, with any overrides applied. */
export function resolveLedgerFs(overrides?: Partial<LedgerFs>): LedgerFs {
  const real: LedgerFs = {
    lstatSync: fs.lstatSync,
    openSync: fs.openSync,
    fstatSync: fs.fstatSync,
    readFileSync: fs.readFileSync,
    closeSync: fs.closeSync,
    fsyncSync: fs.fsyncSync,
    writeSync: fs.writeSync,
    renameSync: fs.renameSync,
    linkSync: fs.linkSync,
    unlinkSync: fs.unlinkSync,
    mkdirSync: fs.mkdirSync,
  };
  return overrides ? { ...real, ...overrides } : real;
}
