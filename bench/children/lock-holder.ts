/**
 * Benchmark child: take the instance lock of `argv[2]`, print `held <pid>`, then wait to be killed.
 * (`releaseOnExit` is moot: the benchmark SIGKILLs it, which leaves the lock directory behind.)
 */
import { acquireInstanceLock } from '../../src/lock/index.js';

const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: lock-holder STATE_DIR');
await acquireInstanceLock({ stateDir });
process.stdout.write(`held ${process.pid}\n`);
setInterval(() => {}, 60_000);
