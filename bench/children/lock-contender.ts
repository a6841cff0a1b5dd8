/**
 * Benchmark child: take the instance lock of `argv[2]` (a dead holder's lock is taken over), print
 * `acquired <ms the acquire call took>`, release, exit.
 */
import { acquireInstanceLock } from '../../src/lock/index.js';

const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: lock-contender STATE_DIR');
const start = performance.now();
const lock = await acquireInstanceLock({ stateDir });
const ms = performance.now() - start;
process.stdout.write(`acquired ${ms.toFixed(3)}\n`);
await lock.release();
