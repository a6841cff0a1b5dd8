/**
 * `lock_cycle`: `await acquireInstanceLock()` + `await release()` on a free lock, in this process, against a
 * bare `mkdirSync` + `rmdirSync` of the same lock path. Batches of `BATCH` cycles, alternated, per-cycle µs.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import { acquireInstanceLock } from '../../src/lock/index.js';
import type { BenchContext } from '../context.js';
import { interleave, ratioFigure, type Figure } from '../stats.js';

const BATCH = 50;

export async function lockCycle(ctx: BenchContext): Promise<Figure[]> {
  const stateDir = ctx.dir('lock-cycle');
  const lockPath = path.join(stateDir, 'instance.lock');

  const lockBatch = async () => {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const lock = await acquireInstanceLock({ stateDir });
      await lock.release();
    }
    return ((performance.now() - start) * 1000) / BATCH;
  };
  const bareBatch = () => {
    const start = performance.now();
    for (let i = 0; i < BATCH; i++) {
      mkdirSync(lockPath);
      rmdirSync(lockPath);
    }
    return ((performance.now() - start) * 1000) / BATCH;
  };
  const samples = await interleave(ctx.runs(60, 8), 4, lockBatch, bareBatch);
  return [
    ratioFigure({
      name: 'lock_cycle',
      unit: 'µs',
      values: samples.a,
      baselines: samples.b,
      maxRatio: 1.2,
      detail: `acquireInstanceLock + release (free lock) vs mkdirSync + rmdirSync of the same path; µs per cycle, batches of ${BATCH}`,
    }),
  ];
}
