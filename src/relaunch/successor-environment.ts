/**
 * What a successor gets instead of what it would inherit (HE-1). Whatever started the first process —
 * a terminal, a launcher, a test harness, `$(first-run launch)` — may be gone or deaf by the time the
 * successor runs: its working directory deleted, its stdout a pipe whose reader left (EPIPE) or never
 * reads (a write blocks for ever, while the successor holds the lock). So a successor:
 * - starts in `/`, which always exists (as `open -n -a` starts an app), never in our cwd;
 * - reads nothing: stdin is `/dev/null`;
 * - writes its stdout and stderr to `successor.log` in the state dir when its plan says `output: 'log'`
 *   (the CLI's does): a regular file, created 0600, emptied for each successor. The journal stays the
 *   record; this file is a courtesy. Anything odd at that path (a FIFO, a symbolic link, a hard link to
 *   another file) is never written: the successor's output is then discarded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StdioOptions } from 'node:child_process';

/** Where every successor starts: a directory that exists on every POSIX system. */
export const SUCCESSOR_CWD = '/';

/**
 * The predecessor's working directory when its run started, in the successor's environment: a successor
 * (which starts in `/`) resolves a *relative* state dir against it (`pinStateDir`), so a host that passes
 * `stateDir: 'state'` finds the same state dir on both sides of the relaunch. Read once and removed, so
 * no later child inherits it.
 */
export const HANDOFF_CWD_ENV = 'FIRST_RUN_HANDOFF_CWD';

/** Take {@link HANDOFF_CWD_ENV} out of `env`: the directory, when it is an absolute path, else `null`. */
export function takeHandoffCwd(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env[HANDOFF_CWD_ENV];
  delete env[HANDOFF_CWD_ENV];
  return typeof value === 'string' && value.startsWith('/') ? value : null;
}

/** The successor's output file, inside the state dir. */
export const SUCCESSOR_LOG_NAME = 'successor.log';

/**
 * What becomes of a successor's stdout and stderr: `inherit` — ours (an embedding host's choice: its
 * own output, its own risk) — or `log` — {@link SUCCESSOR_LOG_NAME} in the state dir.
 */
export type SuccessorOutput = 'inherit' | 'log';

const { O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * Open `<stateDir>/successor.log` for a successor, emptied: a descriptor, or `null` when the path holds
 * anything but our own regular file with one link (then nothing is written there).
 */
export function openSuccessorLog(stateDir: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(path.join(stateDir, SUCCESSOR_LOG_NAME), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch {
    return null; // a symbolic link (ELOOP), a FIFO without a reader (ENXIO), a full disk: no log
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.nlink !== 1) throw new Error('not our own regular file');
    fs.ftruncateSync(fd, 0);
    return fd;
  } catch {
    fs.closeSync(fd);
    return null;
  }
}

/**
 * The successor's stdio: stdin `/dev/null`; stdout and stderr ours, the log file `logFd`, or discarded
 * (`log` asked but no file could be opened); plus `extra` (the hand-off channel on fd 3).
 */
export function successorStdio(output: SuccessorOutput, logFd: number | null, extra: readonly 'pipe'[] = []): StdioOptions {
  const out = output === 'inherit' ? 'inherit' : (logFd ?? 'ignore');
  return ['ignore', out, out, ...extra];
}
