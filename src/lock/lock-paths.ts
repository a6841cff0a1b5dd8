import * as path from 'node:path';
import { UsageError } from '../errors.js';
import { readEnvPath, relativeEnvPathMessage } from '../config/env-paths.js';

/** Where the instance lock lives. Precedence: `lockPath` > `stateDir` > `FIRST_RUN_LOCK_PATH` > `FIRST_RUN_STATE_DIR`. */
export interface LockLocationOptions {
  /**
   * The state dir; the lock is `<stateDir>/instance.lock`. Created 0700 when missing.
   * @default env `FIRST_RUN_STATE_DIR` (when neither `lockPath` nor env `FIRST_RUN_LOCK_PATH` is set)
   */
  stateDir?: string;
  /**
   * The lock's own path, when it must not be `<stateDir>/instance.lock`. Wins over `stateDir`. Its
   * parent is created 0700 when missing.
   * @default `<stateDir>/instance.lock`, else env `FIRST_RUN_LOCK_PATH`
   */
  lockPath?: string;
  /**
   * The environment read for `FIRST_RUN_LOCK_PATH` / `FIRST_RUN_STATE_DIR` when neither option is given.
   * Options always win over the environment.
   * @default process.env
   */
  env?: Record<string, string | undefined>;
}

/** The resolved paths of one instance lock. */
export interface LockPaths {
  /** The lock: a symbolic link whose target is the owner record, made in one `symlink()`. */
  lockPath: string;
  /** The directory that contains the lock (the state dir): 0700. */
  parentDir: string;
  /**
   * `<lockPath>/owner.json`: where an earlier version's directory lock kept its owner record (still read,
   * never written).
   */
  ownerFile: string;
  /**
   * `<lockPath>.aux/`: scratch space for the protocol (takeover mutexes, tombstones of earlier-format
   * locks of dead holders), made 0700 at the first takeover, kept out of the state dir's listing.
   */
  auxDir: string;
}

/** The lock's name inside the state dir. */
export const LOCK_DIR_NAME = 'instance.lock';
/** The owner record's file name inside an earlier version's lock directory. */
export const OWNER_FILE_NAME = 'owner.json';

/**
 * Resolve the lock's paths from options, then the environment (option > env; `lockPath` > `stateDir`).
 * @throws {UsageError} when neither an option nor an environment variable names a place, or the variable is a relative path.
 */
export function resolveLockPaths(options: LockLocationOptions): LockPaths {
  const env = options.env ?? process.env;
  let lockPath: string;
  if (nonEmpty(options.lockPath)) lockPath = options.lockPath;
  else if (nonEmpty(options.stateDir)) lockPath = path.join(options.stateDir, LOCK_DIR_NAME);
  else if (nonEmpty(env.FIRST_RUN_LOCK_PATH)) lockPath = envPathOrThrow(env, 'FIRST_RUN_LOCK_PATH');
  else if (nonEmpty(env.FIRST_RUN_STATE_DIR)) lockPath = path.join(envPathOrThrow(env, 'FIRST_RUN_STATE_DIR'), LOCK_DIR_NAME);
  else {
    throw new UsageError(
      'Expected `stateDir` or `lockPath` for the instance lock (or env FIRST_RUN_STATE_DIR / FIRST_RUN_LOCK_PATH), got none: pass the state dir.',
    );
  }
  lockPath = path.resolve(lockPath);
  return {
    lockPath,
    parentDir: path.dirname(lockPath),
    ownerFile: path.join(lockPath, OWNER_FILE_NAME),
    auxDir: `${lockPath}.aux`,
  };
}

/** An absolute path from the environment; a relative one is refused (src/config/env-paths.ts). */
function envPathOrThrow(env: Record<string, string | undefined>, name: string): string {
  const read = readEnvPath(env, name);
  if (read.kind === 'relative') throw new UsageError(relativeEnvPathMessage(read));
  return read.kind === 'absolute' ? read.path : '';
}

function nonEmpty(value: string | undefined): value is string {
  return typeof value === 'string' && value.length > 0;
}
