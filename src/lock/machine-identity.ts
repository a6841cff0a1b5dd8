/**
 * Which machine this is, and which boot of it (HE-9) — what a lock record says instead of a host name.
 * `os.hostname()` changes under a running app (a Bonjour conflict turns `MacBook-Pro.local` into
 * `MacBook-Pro-2.local`; DHCP hands out names; users rename Macs): a holder killed under the old name
 * left a lock that every later launch judged "on another host" and refused for ever. So a record
 * carries two tags, each the 48-bit FNV-1a hash of an identity read here, once per process:
 *
 * - **Machine**: what does not change with the network.
 *   - Linux: `/etc/machine-id` (else `/var/lib/dbus/machine-id`), qualified by this process's PID
 *     namespace (`/proc/self/ns/pid`): two containers with one image's machine-id cannot see each
 *     other's PIDs, so they must never judge each other's holders (they are "other machines").
 *   - macOS: the platform UUID (`IOPlatformUUID`, `ioreg -rd1 -c IOPlatformExpertDevice`). A spawn costs
 *     ~10–30 ms, so it is cached per user in `$TMPDIR` — only when that is the per-user, machine-local
 *     `/var/folders/…` (never a home dir that another Mac may share) — keyed by the boot: read once per
 *     boot. Without such a directory every process spawns `ioreg` once.
 *   - Anywhere the above cannot be read: the host name (`host:` + `os.hostname()`), as before — a rename
 *     then still strands a dead holder's lock (documented in docs/architecture.md).
 * - **Boot**: Linux `/proc/sys/kernel/random/boot_id`; macOS `kern.boottime` in seconds (from
 *   `os.uptime()`, which is exactly `time(NULL) - kern.boottime`; no spawn). `null` when unknown.
 *
 * A holder on another machine is never judged; one on this machine but from another boot is dead
 * unless its PID is alive with its recorded start identity (`lock-owner.ts`, `judgeOwner`).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readlinkSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import * as path from 'node:path';
import { currentPlatform, isMacOS, type Platform } from '../platform.js';
import { fnv1a48 } from './lock-record.js';
import { linuxBootId } from './process-identity.js';

/** Where the machine identity came from (recorded in no lock; for tests, status and docs). */
export type MachineIdSource = 'machine-id' | 'platform-uuid' | 'hostname';

/** This machine and boot, as a lock record carries them. */
export interface MachineIdentity {
  /** 8 base64url characters: the hash of the machine identity (see the module comment). */
  machine: string;
  /** 8 base64url characters: the hash of the boot identity; `null` when the boot cannot be told. */
  boot: string | null;
  source: MachineIdSource;
}

/** What reading the identity needs from the system (injectable for tests of other platforms). */
export interface MachineIdentityIO {
  platform: Platform;
  /** A small file's text, or `null` when it cannot be read. */
  readSmallFile(file: string): string | null;
  /** `readlink`, or `null`. */
  readLink(file: string): string | null;
  /** `ioreg -rd1 -c IOPlatformExpertDevice`'s output, or `null` when it could not run. */
  runIoreg(): string | null;
  /** `kern.boottime` in whole seconds (macOS), or `null`. */
  bootSeconds(): number | null;
  /** Linux's `boot_id`, or `null` (read once per process, shared with the start identities). */
  linuxBootId(): string | null;
  hostname(): string;
  /** The per-user cache of the platform UUID (macOS): read and write, both may fail (`null` / no-op). */
  cache: { read(): string | null; write(text: string): void } | null;
}

const MACHINE_ID = /^[0-9a-f]{32}$/;
const PLATFORM_UUID = /"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{36})"/;

/** The `IOPlatformUUID` in `ioreg` output, or `null`. */
export function parseIoregPlatformUuid(output: string): string | null {
  return PLATFORM_UUID.exec(output)?.[1]?.toUpperCase() ?? null;
}

function linuxMachine(io: MachineIdentityIO): { id: string; source: MachineIdSource } | null {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const id = io.readSmallFile(file)?.trim().toLowerCase();
    if (id && MACHINE_ID.test(id)) return { id: `machine-id:${id}:${io.readLink('/proc/self/ns/pid') ?? ''}`, source: 'machine-id' };
  }
  return null;
}

/** The platform UUID: from the cache when it was written in this boot, else from `ioreg` (and cached). */
function darwinMachine(io: MachineIdentityIO, bootSeconds: number | null): { id: string; source: MachineIdSource } | null {
  const cached = io.cache?.read()?.split(' ');
  if (bootSeconds !== null && cached?.length === 2 && cached[0] === String(bootSeconds) && /^[0-9A-F-]{36}$/.test(cached[1]!)) {
    return { id: `platform-uuid:${cached[1]}`, source: 'platform-uuid' };
  }
  const output = io.runIoreg();
  const uuid = output === null ? null : parseIoregPlatformUuid(output);
  if (uuid === null) return null;
  if (bootSeconds !== null) io.cache?.write(`${bootSeconds} ${uuid}`);
  return { id: `platform-uuid:${uuid}`, source: 'platform-uuid' };
}

/** Read this machine's identity through `io` (the pure core of {@link machineIdentity}). */
export function readMachineIdentity(io: MachineIdentityIO): MachineIdentity {
  const linux = io.platform === 'linux' || io.platform === 'android';
  const bootSeconds = isMacOS(io.platform) ? io.bootSeconds() : null;
  const machine = linux ? linuxMachine(io) : isMacOS(io.platform) ? darwinMachine(io, bootSeconds) : null;
  const bootId = linux ? io.linuxBootId() : bootSeconds === null ? null : String(bootSeconds);
  const { id, source } = machine ?? { id: `host:${io.hostname()}`, source: 'hostname' as const };
  return { machine: fnv1a48(id), boot: bootId === null ? null : fnv1a48(bootId), source };
}

/**
 * At most 128 bytes of `file`, or `null`. `O_NONBLOCK` and one bounded `read`: whatever sits at the path
 * (a FIFO, a device, a directory) cannot block or flood this, and what is not a machine-id fails its
 * pattern. No `fstat`: its first call in a process costs ~150 µs, more than the rest of the read.
 */
function readSmallFile(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.allocUnsafe(128);
    return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('latin1');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** `kern.boottime` in seconds: `time(NULL) - uptime`, read within one wall-clock second. */
function darwinBootSeconds(): number | null {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = Math.floor(Date.now() / 1000);
    const up = uptime();
    if (Math.floor(Date.now() / 1000) === before && Number.isFinite(up)) return before - Math.round(up);
  }
  return null;
}

/** The per-user, machine-local cache of the platform UUID: only under `/var/folders` (macOS's own per-user temp). */
function darwinCache(env: NodeJS.ProcessEnv): MachineIdentityIO['cache'] {
  const dir = env.TMPDIR;
  if (!dir || !/^\/(private\/)?var\/folders\//.test(dir)) return null;
  const file = path.join(dir, 'first-run-orchestrator.machine');
  return {
    read: () => readSmallFile(file),
    write: (text) => {
      const temp = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
        renameSync(temp, file);
      } catch {
        // not cached: the next process asks ioreg again
      }
    },
  };
}

function runIoreg(): string | null {
  const result = spawnSync('/usr/sbin/ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
  return result.status === 0 && typeof result.stdout === 'string' ? result.stdout : null;
}

let cached: MachineIdentity | undefined;

/** This machine's identity, read once per process (a lock cycle never pays for it twice). */
export function machineIdentity(): MachineIdentity {
  cached ??= readMachineIdentity({
    platform: currentPlatform(),
    readSmallFile,
    readLink: (file) => {
      try {
        return readlinkSync(file);
      } catch {
        return null;
      }
    },
    runIoreg,
    bootSeconds: darwinBootSeconds,
    linuxBootId: () => {
      const id = linuxBootId();
      return id === 'unknown-boot' ? null : id;
    },
    hostname,
    cache: darwinCache(process.env),
  });
  return cached;
}
