/**
 * `ledger_commit`: `await store.commit(snapshot)` (fsync on: CAS check, backup hard link, the hand-written
 * temp + fsync + rename of `write-atomic.ts`, directory fsync) of a real COMPLETED orchestrator snapshot, against a
 * hand-written sequence of the system calls LG-2 requires, of the same bytes, in a sibling directory of
 * the same file system (SPEC §5, the floor decided 2026-12-07): the backup (`link` of the ledger to a
 * temp name + `rename` over the old backup: the previous generation is kept), then temp write + fsync +
 * rename over the ledger, then one directory fsync (it covers both renames). Batches of `BATCH`,
 * alternated, ms per write.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { openLedgerStore, type LedgerSummary } from '../../src/ledger/index.js';
import type { BenchContext } from '../context.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';
import { prepareWarmState } from './warm-launch.js';

const BATCH = 10;

export async function ledgerCommit(ctx: BenchContext): Promise<Figure[]> {
  const { stateDir: warm } = prepareWarmState(ctx);
  const envelope = JSON.parse(readFileSync(path.join(warm, 'permission_ledger.json'), 'utf8')) as { snapshot: unknown; summary: LedgerSummary };

  const storeDir = ctx.dir('ledger');
  const store = openLedgerStore({ stateDir: storeDir });
  store.load();
  await store.commit(envelope.snapshot, envelope.summary);
  const bytes = readFileSync(store.paths.ledger);
  // The same snapshot with another boot id (same length): a commit of the same snapshot again would be
  // skipped, so the batch alternates the two.
  const other = structuredClone(envelope.snapshot) as { context: { bootId: string } };
  other.context.bootId = randomUUID();

  const bareDir = ctx.dir('ledger-bare');
  const bareFile = path.join(bareDir, 'permission_ledger.json');
  const bareTmp = `${bareFile}.tmp`;
  const bareBackup = `${bareFile}.bak`;
  const bareBackupTmp = `${bareBackup}.tmp`;
  writeFileSync(bareFile, bytes, { mode: 0o600 }); // the generation the first write keeps as its backup
  const bareWrite = () => {
    linkSync(bareFile, bareBackupTmp);
    renameSync(bareBackupTmp, bareBackup);
    const fd = openSync(bareTmp, 'w', 0o600);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(bareTmp, bareFile);
    const dirFd = openSync(bareDir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  };

  const samples = await interleave(
    ctx.runs(50, 6),
    2,
    async () => {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) await store.commit(i % 2 === 0 ? other : envelope.snapshot, envelope.summary);
      return (performance.now() - start) / BATCH;
    },
    () => {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) bareWrite();
      return (performance.now() - start) / BATCH;
    },
  );
  await store.close();
  return [
    ratioFigure({
      name: 'ledger_commit',
      unit: 'ms',
      values: samples.a,
      baselines: samples.b,
      maxRatio: 1.2,
      detail: `store.commit of a ${bytes.length}-byte envelope (fsync) vs the system calls LG-2 requires, by hand, same bytes: backup link+rename, temp write+fsync+rename, dir fsync; batches of ${BATCH}`,
    }),
  ];
}
