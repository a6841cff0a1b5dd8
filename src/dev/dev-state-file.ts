/**
 * The dev-restart state file (`<stateDir>/dev-restart-state.json`): what a process stopped by a dev
 * restart hands to its successor — the root actor's snapshot, the input events still queued, and the
 * app's own JSON state. Written atomically and durably (temp file, fsync, rename, fsync of the
 * directory), 0600. It carries the hand-off token, so a successor only ever restores the file written for
 * it; any other file (a crashed session's, an old one) is stale and is never restored.
 */
import * as fs from 'node:fs';
import { renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DevRestartError } from '../errors.js';
import { readRegularFileSync } from '../fs/regular-file.js';
import { writeFileAtomicSync } from '../ledger/write-atomic.js';

/** A dev-restart state file holds one persisted snapshot (a few kB); anything near this is not ours. */
const DEV_STATE_MAX_BYTES = 16 * 1024 * 1024;

/** The file's name inside the state dir. */
export const DEV_STATE_FILE = 'dev-restart-state.json';
/** Where a stale file is moved (overwriting an older one) once it was reported. */
export const DEV_STATE_STALE_FILE = 'dev-restart-state.stale.json';
/** Where the successor moves the file it restored. */
export const DEV_STATE_RESTORED_FILE = 'dev-restart-state.restored.json';

const KIND = 'first-run.dev-restart';
const VERSION = 1;

/** What a process stopped by a dev restart saves for its successor. Plain JSON. */
export interface DevSavedState {
  /** The root actor's persisted snapshot, or null when it could not be taken (the successor then uses the ledger). */
  snapshot: unknown;
  /** Input events that arrived once the shutdown began; re-delivered, in order, by the successor. */
  events: unknown[];
  /** The app's own JSON state (e.g. a dev module's counter). */
  app: unknown;
  /** Phase of `snapshot`, for the journal. */
  phase: string | null;
  /** `restart_count` in `snapshot`, for the journal. */
  restartCount: number | null;
}

/** The file's content. */
export interface DevStateDocument extends DevSavedState {
  kind: typeof KIND;
  version: typeof VERSION;
  /** The hand-off token of the successor this file is for. */
  token: string;
  /** PID of the process that wrote it. */
  fromPid: number;
  savedAt: string;
  /** The changed files that caused the restart. */
  changes: string[];
}

export function devStatePath(stateDir: string): string {
  return join(stateDir, DEV_STATE_FILE);
}

/** Write the file atomically and durably (the ledger's atomic write, then the directory's fsync). */
export function writeDevState(stateDir: string, document: Omit<DevStateDocument, 'kind' | 'version'>): string {
  const file = devStatePath(stateDir);
  try {
    writeFileAtomicSync(fs, file, `${JSON.stringify({ kind: KIND, version: VERSION, ...document })}\n`, { mode: 0o600, fsync: true });
    const dir = fs.openSync(dirname(file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch (error) {
    throw new DevRestartError(`Cannot write the dev-restart state file ${file}: ${(error as Error).message}. Check that the state dir is writable.`, {
      cause: error,
    });
  }
  return file;
}

/**
 * Read the file written for `token`.
 * @throws DevRestartError when it is missing, unreadable, not ours (another token) or malformed.
 */
export function readDevState(stateDir: string, token: string): DevStateDocument {
  const file = devStatePath(stateDir);
  let raw: string;
  try {
    // Never blocks or balloons on what is there (a FIFO, /dev/zero, a link): checked on the descriptor.
    raw = readRegularFileSync(file, { maxBytes: DEV_STATE_MAX_BYTES, noFollow: true }).toString('utf8');
  } catch (error) {
    throw new DevRestartError(`Cannot read the dev-restart state file ${file}: ${(error as Error).message}.`, { cause: error });
  }
  let document: Partial<DevStateDocument>;
  try {
    document = JSON.parse(raw) as Partial<DevStateDocument>;
  } catch (error) {
    throw new DevRestartError(`The dev-restart state file ${file} is not JSON: ${(error as Error).message}.`, { cause: error });
  }
  if (typeof document !== 'object' || document === null || document.kind !== KIND || document.version !== VERSION) {
    throw new DevRestartError(`The dev-restart state file ${file} is not a version-${VERSION} "${KIND}" document.`);
  }
  if (document.token !== token) {
    throw new DevRestartError(
      `The dev-restart state file ${file} is for hand-off token ${JSON.stringify(document.token)}, not ${JSON.stringify(token)} (a stale file).`,
    );
  }
  if (!Array.isArray(document.events)) throw new DevRestartError(`The dev-restart state file ${file} has no \`events\` array.`);
  return document as DevStateDocument;
}

/** Whether a dev-restart state file is there (without reading it). */
export function hasDevState(stateDir: string): boolean {
  return statSync(devStatePath(stateDir), { throwIfNoEntry: false }) !== undefined;
}

/**
 * The successor restored it: it is moved to `dev-restart-state.restored.json` (replacing the previous
 * one), so what was restored can be looked at, and no later launch takes it for a pending restart.
 */
export function retireDevState(stateDir: string): void {
  try {
    renameSync(devStatePath(stateDir), join(stateDir, DEV_STATE_RESTORED_FILE));
  } catch {
    rmSync(devStatePath(stateDir), { force: true });
  }
}

/** Move a stale file aside (it is reported once, and kept for a human to look at). Returns the new path. */
export function setAsideDevState(stateDir: string): string {
  const target = join(stateDir, DEV_STATE_STALE_FILE);
  renameSync(devStatePath(stateDir), target);
  return target;
}
