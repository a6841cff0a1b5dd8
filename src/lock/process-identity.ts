/**
 * Who a process is, beyond its PID: is it alive, a zombie, suspended, and when did it start?
 *
 * A PID alone cannot be trusted (LK-3): after the holder of a lock dies its PID is recycled, and
 * `kill(pid, 0)` then reports some other program as alive. So the lock records the holder's *start
 * identity* next to its PID, and a holder is only believed alive when a process with that PID exists,
 * is not a zombie, and started at the recorded instant.
 *
 * How the start identity is read depends on the OS, and this is the one place that decides it
 * ({@link startTimeMethod}; `process.platform` itself is read only in `src/platform.ts`):
 * - Linux: `/proc/<pid>/stat` field 22 (`starttime`, clock ticks since boot) qualified by
 *   `/proc/sys/kernel/random/boot_id`, so a PID + tick count from before a reboot never matches a
 *   process of this boot. No subprocess, a few µs.
 * - macOS: `ps -o stat= -o lstart= -p PID` with `TZ=UTC LC_ALL=C` (lstart is printed in local time:
 *   without a fixed zone a time-zone change would make a live holder look recycled). One spawn, ~10 ms,
 *   only when judging another process; our own identity is computed once per process.
 * - Elsewhere: liveness by `kill(pid, 0)` only; a recycled PID cannot be detected there, so a live PID
 *   is always treated as the holder (the safe direction: never take over a possibly live holder).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { isPid } from '../safe-json.js';
import { currentPlatform, type Platform } from '../platform.js';

/** How a process's start identity is read on a platform. */
export type StartTimeMethod = 'linux-proc' | 'darwin-ps' | 'none';

/** What is known about one PID right now. */
export interface ProcessProbe {
  /** The PID that was probed. */
  pid: number;
  /** A process with this PID exists (zombies included; `kill(pid, 0)` succeeds or fails with EPERM). */
  exists: boolean;
  /** It has exited but was not reaped yet: dead for our purposes. */
  zombie: boolean;
  /** It is suspended (SIGSTOP, a debugger): alive, and never taken over. */
  stopped: boolean;
  /** Opaque, exactly comparable start identity (`linux:<boot_id>:<ticks>`, `darwin:<lstart UTC>`), `null` when unknown. */
  startId: string | null;
  /** The start time as an ISO string, for people; `null` when unknown. */
  startedAt: string | null;
}

/**
 * Decide, once, how start identities are read on `platform` (see the module comment for why).
 * @param platform @default currentPlatform()
 */
export function startTimeMethod(platform: Platform = currentPlatform()): StartTimeMethod {
  if (platform === 'linux' || platform === 'android') return procfsUsable() ? 'linux-proc' : 'none';
  if (platform === 'darwin') return 'darwin-ps';
  return 'none';
}

let procfsCache: boolean | undefined;
function procfsUsable(): boolean {
  if (procfsCache === undefined) {
    try {
      readProcFile('/proc/self/stat');
      procfsCache = true;
    } catch {
      procfsCache = false;
    }
  }
  return procfsCache;
}

/** `kill(pid, 0)`: true when the PID exists (EPERM means it exists but belongs to another user). */
export function pidExists(pid: number): boolean {
  // pid <= 0 would address process groups: never pass it to kill.
  if (!isPid(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Anything but ESRCH is treated as "exists": when unsure, never declare a holder dead.
    return code !== 'ESRCH';
  }
}

let bootIdCache: string | undefined;
/** Linux's `boot_id`, read once per process (`unknown-boot` when it cannot be read); shared with `machine-identity.ts`. */
export function linuxBootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readProcFile('/proc/sys/kernel/random/boot_id').trim() || 'unknown-boot';
    } catch {
      bootIdCache = 'unknown-boot';
    }
  }
  return bootIdCache;
}

/**
 * A small /proc file, read into 4 kB buffers until its end (two `read(2)`s for the files read here).
 * `readFileSync` sizes a procfs file (its size says 0) with 64 kB buffers: ~0.25 ms a file on a cold
 * launch, which reads two of them for its own lock record (measured).
 * @throws the errno error of `open`/`read` (ENOENT, ESRCH, …), as `readFileSync` did.
 */
function readProcFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(4096);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

let bootTimeCache: number | null | undefined;
function linuxBootTimeMs(): number | null {
  if (bootTimeCache === undefined) {
    try {
      const match = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
      bootTimeCache = match?.[1] ? Number(match[1]) * 1000 : null;
    } catch {
      bootTimeCache = null;
    }
  }
  return bootTimeCache;
}

// USER_HZ is 100 on every mainstream Linux build; it only affects the human-readable `startedAt`,
// never the comparison, which uses the raw tick count.
const LINUX_TICKS_PER_SECOND = 100;

function probeLinux(pid: number): ProcessProbe {
  let stat: string;
  try {
    stat = readProcFile(`/proc/${pid}/stat`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') {
      // Normally: gone. With /proc mounted hidepid, another user's process is invisible but kill(pid, 0)
      // still says EPERM: then it exists with an unknown start (treated as alive).
      return { pid, exists: pidExists(pid), zombie: false, stopped: false, startId: null, startedAt: null };
    }
    return { pid, exists: pidExists(pid), zombie: false, stopped: false, startId: null, startedAt: null };
  }
  // `comm` (field 2) may contain spaces and parentheses: the fields after it start after the LAST ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const ticks = fields[19]; // field 22 (starttime) is the 20th after comm
  if (ticks === undefined || !/^\d+$/.test(ticks)) {
    return { pid, exists: true, zombie: false, stopped: false, startId: null, startedAt: null };
  }
  return {
    pid,
    exists: true,
    zombie: state === 'Z' || state === 'X' || state === 'x',
    stopped: state === 'T' || state === 't',
    startId: `linux:${linuxBootId()}:${ticks}`,
    // For people only, and it needs the boot time from /proc/stat (a few kB to read and scan): worked
    // out when read — a lock's own record no longer carries it, so only judging a live holder does.
    get startedAt(): string | null {
      const boot = linuxBootTimeMs();
      return boot === null ? null : new Date(boot + (Number(ticks) * 1000) / LINUX_TICKS_PER_SECOND).toISOString();
    },
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parse `ps` lstart printed under TZ=UTC, e.g. `Tue Feb 20 10:11:12 2024`. */
export function parseLstartUtc(lstart: string): string | null {
  const m = /^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(lstart.trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[1] ?? '');
  if (month < 0) return null;
  const ms = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function probeDarwin(pid: number): ProcessProbe {
  if (!pidExists(pid)) return { pid, exists: false, zombie: false, stopped: false, startId: null, startedAt: null };
  const result = spawnSync('/bin/ps', ['-o', 'stat=', '-o', 'lstart=', '-p', String(pid)], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    timeout: 5000,
  });
  const line = (result.stdout ?? '').trim();
  if (result.status !== 0 && line === '') {
    // ps found nothing: the process is gone, unless ps itself failed to run (then: unknown, alive).
    return result.error
      ? { pid, exists: true, zombie: false, stopped: false, startId: null, startedAt: null }
      : { pid, exists: pidExists(pid), zombie: false, stopped: false, startId: null, startedAt: null };
  }
  const space = line.search(/\s/);
  const state = space < 0 ? line : line.slice(0, space);
  const lstart = space < 0 ? '' : line.slice(space).trim();
  return {
    pid,
    exists: true,
    zombie: state.startsWith('Z'),
    stopped: state.startsWith('T'),
    startId: lstart ? `darwin:${lstart.replace(/\s+/g, ' ')}` : null,
    startedAt: lstart ? parseLstartUtc(lstart) : null,
  };
}

/**
 * Probe one PID: exists, zombie, stopped, start identity.
 * @param pid The process to probe.
 * @param method @default startTimeMethod()
 */
export function probeProcess(pid: number, method: StartTimeMethod = startTimeMethod()): ProcessProbe {
  if (!isPid(pid)) {
    return { pid, exists: false, zombie: false, stopped: false, startId: null, startedAt: null };
  }
  switch (method) {
    case 'linux-proc':
      return probeLinux(pid);
    case 'darwin-ps':
      return probeDarwin(pid);
    case 'none':
      return { pid, exists: pidExists(pid), zombie: false, stopped: false, startId: null, startedAt: null };
  }
}

let selfCache: ProcessProbe | undefined;

/** This process's own probe, computed once (a process's start time never changes). */
export function selfIdentity(): ProcessProbe {
  if (selfCache === undefined || selfCache.pid !== process.pid) selfCache = probeProcess(process.pid);
  return selfCache;
}
