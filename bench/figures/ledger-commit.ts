/**
 * `ledger_commit`: `await store.commit(snapshot)` (fsync on: CAS check, backup hard link, the hand-written
 * temp + fsync + rename of `write-atomic.ts`, directory fsync) of a real COMPLETED orchestrator snapshot, against a
 * hand-written sequence of the system calls LG-2 requires, of the same bytes, in a sibling directory of
 * the same file system (SPEC §5, the floor decided 2026-12-07): the backup (`link` of the ledger to a
 * temp name + `rename` over the old backup: the previous generation is kept), then temp write + fsync +
 * rename over the ledger, then one directory fsync (it covers both renames). Batches of `BATCH`,
 * alternated, ms per write.
 *
 * `ledger_commit_syscalls` (informational) times the very system calls `store.commit` makes (traced:
 * the compare-and-set `lstat`, the backup's `link` + `rename`, the temp's `open(O_EXCL|O_NOFOLLOW)` +
 * `write` + `fsync` + `close` + `rename`, the identity `lstat`, the directory's `open` + `fsync` +
 * `close`), by hand, against the same baseline: what is left of `ledger_commit` above it is our
 * JavaScript (canonical JSON, checksum, envelope, the queue's promise).
 */
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { openLedgerStore, type LedgerSummary } from '../../src/ledger/index.js';
import type { BenchContext } from '../context.js';
import { interleaveAll, ratioFigure, type Figure } from '../stats.js';
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

  const bare = lg2Sequence(ctx.dir('ledger-bare'), bytes, false);
  const traced = lg2Sequence(ctx.dir('ledger-syscalls'), bytes, true);
  const batch = (write: () => void) => () => {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) write();
    return (performance.now() - start) / BATCH;
  };
  const [ours, baseline, syscalls] = await interleaveAll(ctx.runs(50, 6), 2, [
    async () => {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) await store.commit(i % 2 === 0 ? other : envelope.snapshot, envelope.summary);
      return (performance.now() - start) / BATCH;
    },
    batch(bare),
    batch(traced),
  ]);
  await store.close();
  return [
    ratioFigure({
      name: 'ledger_commit',
      unit: 'ms',
      values: ours!,
      baselines: baseline!,
      maxRatio: 1.2,
      detail: `store.commit of a ${bytes.length}-byte envelope (fsync) vs the system calls LG-2 requires, by hand, same bytes: backup link+rename, temp write+fsync+rename, dir fsync; batches of ${BATCH}`,
    }),
    ratioFigure({
      name: 'ledger_commit_syscalls',
      unit: 'ms',
      values: syscalls!,
      baselines: baseline!,
      maxRatio: null,
      detail: 'the system calls store.commit makes (LG-2\'s, plus its compare-and-set and identity lstats; O_EXCL|O_NOFOLLOW temp), by hand, vs the same baseline: ledger_commit above this is our JavaScript',
    }),
  ];
}

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * A hand-written commit of `bytes` in `dir`: the backup's link + rename, temp write + fsync + rename,
 * directory fsync (LG-2); with `asTraced`, also the two `lstat`s and the temp flags of `store.commit`.
 */
function lg2Sequence(dir: string, bytes: Buffer, asTraced: boolean): () => void {
  const file = path.join(dir, 'permission_ledger.json');
  const tmp = `${file}.tmp`;
  const backup = `${file}.bak`;
  const backupTmp = `${backup}.tmp`;
  writeFileSync(file, bytes, { mode: 0o600 }); // the generation the first write keeps as its backup
  return () => {
    if (asTraced) lstatSync(file, { bigint: true });
    linkSync(file, backupTmp);
    renameSync(backupTmp, backup);
    const fd = openSync(tmp, asTraced ? TEMP_FLAGS : 'w', 0o600);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    if (asTraced) lstatSync(file, { bigint: true });
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  };
}
