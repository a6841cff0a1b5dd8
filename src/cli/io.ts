/**
 * What a command may touch of the outside: output streams and the environment. Commands never call
 * `process.exit`; they return an exit code and `main` sets it (house style 6).
 */
import {
  BackendUnavailableError,
  ConfigError,
  FirstRunError,
  LockAcquisitionError,
  ScenarioError,
  StateDirError,
  UsageError,
} from '../errors.js';
import type { ParsedCLI } from './parse-cli.js';
import { LOCK_WAIT_HINT } from '../lock/instance-lock.js';
import { constants, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { currentPlatform } from '../platform.js';
import { monotonicMs } from '../clock-monotonic.js';
import { isatty } from 'node:tty';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** How long a write waits for a full non-blocking pipe to drain before the output is given up. */
const DRAIN_LIMIT_MS = 10_000;
const failed: Record<1 | 2, boolean> = { 1: false, 2: false };
/** The stream of fd 1 or 2 has our `error` listener (off Linux, where pipes go through the stream). */
const streamListened: Record<1 | 2, boolean> = { 1: false, 2: false };
/** The descriptor each output is written through (see {@link outputFd}), once chosen. */
const through: Record<1 | 2, number | null> = { 1: null, 2: null };

/**
 * The descriptor to write fd 1 or 2 through (HE-1). A pipe inherited from a shell is usually blocking:
 * a reader that stops reading (but keeps the pipe open) would block `write(2)` for ever, while this
 * process holds the lock. On Linux a pipe is reopened through `/proc/self/fd/N` with `O_NONBLOCK` — a new
 * open file description, so the flag changes nothing for the other processes sharing the pipe — and a
 * full pipe then waits at most {@link DRAIN_LIMIT_MS}. A pipe with no reader left cannot be opened
 * (ENXIO): that is EPIPE. Anything else (a file, a terminal, a socket, no procfs) is written as it is.
 */
function outputFd(fd: 1 | 2): number {
  if (through[fd] !== null) return through[fd];
  through[fd] = fd;
  try {
    if (fstatSync(fd).isFIFO()) through[fd] = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') throw Object.assign(new Error('the pipe has no reader'), { code: 'EPIPE' });
  }
  return through[fd];
}

/**
 * Write a line to fd 1 or 2 with `write(2)` itself. `process.stdout` would do the same on Linux (it is
 * synchronous there for files, pipes and terminals) but its first use builds a stream and loads Node's
 * whole streams machinery — ~2–3 ms of every launch (docs/performance.md). Elsewhere a pipe goes through
 * the stream: `process.stdout` writes to pipes asynchronously there, so a host that reads our output
 * slowly never blocks this process. A closed reader (`first-run status | head`) ends that output quietly
 * and the command goes on (a launch's run is never cut short by its output); any other failure (EIO,
 * ENOSPC, a pipe full for too long) stops that output and says so once on the other descriptor — it
 * never throws into the run.
 */
function writeLine(fd: 1 | 2, text: string): void {
  const line = text.endsWith('\n') ? text : `${text}\n`;
  if (failed[fd]) return;
  if (viaStream(fd)) {
    const stream = fd === 1 ? process.stdout : process.stderr;
    // EPIPE (and any other write error) arrives as an `error` event: without a listener, an uncaught
    // exception — and the launcher's own guard on stdout would end the process. Ours is attached once.
    if (!streamListened[fd]) {
      streamListened[fd] = true;
      stream.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? void (failed[fd] = true) : giveUpOutput(fd, error.code ?? String(error))));
    }
    stream.write(line);
    return;
  }
  const bytes = Buffer.from(line, 'utf8');
  let offset = 0;
  let drainDeadline: number | null = null;
  while (offset < bytes.length) {
    try {
      offset += writeSync(outputFd(fd), bytes, offset, bytes.length - offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') {
        failed[fd] = true; // the reader is gone: that output ends quietly, and the command goes on (HE-1)
        return;
      }
      // A non-blocking pipe, full for a moment: wait, by the monotonic clock (1 ms waits overrun on a busy machine).
      drainDeadline ??= code === 'EAGAIN' ? monotonicMs() + DRAIN_LIMIT_MS : null;
      if (code === 'EAGAIN' && monotonicMs() < drainDeadline!) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      giveUpOutput(fd, code ?? String(error));
      return;
    }
  }
}

function giveUpOutput(fd: 1 | 2, why: string): void {
  failed[fd] = true;
  const other = fd === 1 ? 2 : 1;
  if (!failed[other]) writeLine(other, `first-run: writing to ${fd === 1 ? 'stdout' : 'stderr'} failed (${why}); its output stops here`);
}

let streamed: Record<1 | 2, boolean> | null = null;
/** Whether fd goes through `process.stdout`/`stderr`: a pipe or socket, on a platform where those are asynchronous. */
function viaStream(fd: 1 | 2): boolean {
  if (currentPlatform() === 'linux') return false;
  streamed ??= { 1: isPipe(1), 2: isPipe(2) };
  return streamed[fd];
}

function isPipe(fd: number): boolean {
  try {
    const stats = fstatSync(fd);
    return stats.isFIFO() || stats.isSocket();
  } catch {
    return false;
  }
}

/**
 * Whether stdout is a terminal, without building `process.stdout`, and without loading `node:tty` (with
 * `net` and the streams) unless stdout is a character device other than `/dev/null` — a terminal is one.
 */
export function stdoutIsTerminal(): boolean {
  try {
    const stats = fstatSync(1);
    if (!stats.isCharacterDevice() || stats.rdev === statSync('/dev/null').rdev) return false;
    return isatty(1);
  } catch {
    return false;
  }
}

export const processIO: CliIO = {
  stdout: (text) => writeLine(1, text),
  stderr: (text) => writeLine(2, text),
  env: process.env,
};

/** A command: parsed arguments in, exit code out. */
export type Command = (cli: ParsedCLI, io: CliIO) => Promise<number>;

export const EXIT = { ok: 0, failure: 1, usage: 2, locked: 3 } as const;

/** The one place that decides an error's exit code (SPEC §4). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof ScenarioError) return EXIT.usage;
  if (error instanceof BackendUnavailableError || error instanceof StateDirError) return EXIT.usage;
  if (error instanceof LockAcquisitionError) return EXIT.locked;
  return EXIT.failure;
}

/**
 * An error in the CLI's words: a lock conflict tells a library caller to pass `timeoutMs`; a CLI user
 * gets the flag (`launch --lock-timeout MS`), or no hint where there is no such flag: `reset`, and a
 * relaunched successor (its wait comes from the hand-off, never from a flag).
 */
export function inCliWords(error: unknown, cli: ParsedCLI | null): unknown {
  if (!(error instanceof LockAcquisitionError) || !error.message.includes(LOCK_WAIT_HINT)) return error;
  const flagWaits = cli?.command === 'launch' && cli.options['successor-of'] === undefined;
  const message = flagWaits ? error.message.replace(LOCK_WAIT_HINT, 'or pass `--lock-timeout MS` to wait for it') : error.message.replace(`, ${LOCK_WAIT_HINT}`, '');
  return new LockAcquisitionError(error.lockPath, error.holder, message, { cause: error });
}

/** The one place that decides how an error is shown. */
export function reportError(error: unknown, io: CliIO, json: boolean): number {
  const code = exitCodeFor(error);
  if (json) {
    const payload: Record<string, unknown> = {
      error: {
        code: error instanceof FirstRunError ? error.code : 'ERR_UNEXPECTED',
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
      },
      exit_code: code,
    };
    if (error instanceof LockAcquisitionError) (payload.error as Record<string, unknown>).holder = error.holder;
    if (error instanceof ConfigError || error instanceof ScenarioError) (payload.error as Record<string, unknown>).problems = error.problems;
    io.stdout(JSON.stringify(payload));
  } else if (error instanceof FirstRunError) {
    io.stderr(`first-run: ${error.message}`);
  } else {
    io.stderr(`first-run: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return code;
}
