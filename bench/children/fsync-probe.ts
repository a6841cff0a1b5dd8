/**
 * Preloaded with `node --import fsync-probe.js …` into a measured process: counts every fsync the
 * process makes through `node:fs` (`fsyncSync`, `fsync`, `fdatasync(Sync)`, `fs/promises` handles'
 * `sync`/`datasync`), by the path of the descriptor (`/proc/self/fd/N`, or `?` where that cannot be read),
 * and on `exit` appends one JSON line `{ pid, fsyncs: { path: count } }` to the file named by
 * `BENCH_FSYNC_FILE`. On macOS each of these is an `F_FULLFSYNC` (docs/performance.md).
 *
 * The ES-module named exports of `node:fs` are re-synced (`syncBuiltinESMExports`), so
 * `import { fsyncSync } from 'node:fs'` in the measured code sees the counting version too.
 */
import type * as FsModule from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

// The CommonJS module object: the one whose properties can be replaced (the ES namespace is frozen).
const fs = createRequire(import.meta.url)('node:fs') as typeof FsModule;

const file = process.env.BENCH_FSYNC_FILE;
if (file) {
  const counts: Record<string, number> = {};
  const note = (fd: number) => {
    let where = '?';
    try {
      where = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // not Linux: counted, unnamed
    }
    counts[where] = (counts[where] ?? 0) + 1;
  };
  const mutable = fs as unknown as Record<string, unknown>;
  for (const name of ['fsyncSync', 'fdatasyncSync'] as const) {
    const original = fs[name];
    mutable[name] = (fd: number) => {
      note(fd);
      original(fd);
    };
  }
  for (const name of ['fsync', 'fdatasync'] as const) {
    const original = fs[name];
    mutable[name] = (fd: number, callback: FsModule.NoParamCallback) => {
      note(fd);
      original(fd, callback);
    };
  }
  syncBuiltinESMExports();
  // FileHandle's prototype is not exported: take it from a handle.
  const probe = await fs.promises.open(process.execPath, 'r');
  const handle = Object.getPrototypeOf(probe) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await probe.close();
  for (const name of ['sync', 'datasync'] as const) {
    const original = handle[name];
    handle[name] = function (this: { fd: number }): Promise<void> {
      note(this.fd);
      return original.call(this);
    };
  }
  process.on('exit', () => {
    fs.appendFileSync(file, `${JSON.stringify({ pid: process.pid, fsyncs: counts })}\n`);
  });
}
