/** What every state-dir command resolves the same way: the state dir and the config. */
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { OrchestratorSettings } from '../../machines/types.js';
import { ConfigError, StateDirError, UsageError } from '../errors.js';
import { readEnvPath, relativeEnvPathMessage } from '../config/env-paths.js';
import { absoluteHomeDir, defaultStateDir } from '../platform.js';
import type { CliIO } from './io.js';
import type { ParsedCLI } from './parse-cli.js';

/**
 * `--state-dir` > `FIRST_RUN_STATE_DIR` > the platform's app-state dir, absolute. A relative
 * `FIRST_RUN_STATE_DIR` is refused (src/config/env-paths.ts); a relative `--state-dir` is resolved against
 * the working directory, once.
 */
export function resolveStateDir(cli: ParsedCLI, io: CliIO): string {
  const option = cli.options['state-dir'];
  if (typeof option === 'string') return absolutePath(option, '--state-dir');
  const fromEnv = readEnvPath(io.env, 'FIRST_RUN_STATE_DIR');
  if (fromEnv.kind === 'relative') throw new StateDirError(fromEnv.value, relativeEnvPathMessage(fromEnv));
  if (fromEnv.kind === 'absolute') return resolve(fromEnv.path);
  const home = absoluteHomeDir(io.env, userDbHome);
  if (home === null) {
    throw new StateDirError(
      '(default)',
      `Cannot choose the default state dir: HOME is ${JSON.stringify(io.env.HOME ?? null)}, not an absolute path, and the user database has no home for this user. Pass --state-dir DIR (or set FIRST_RUN_STATE_DIR) to an absolute path.`,
    );
  }
  return defaultStateDir(io.env, home);
}

/**
 * `value` (a path from the command line) made absolute against the working directory.
 * @throws {UsageError} when it is relative and the working directory no longer exists (deleted meanwhile).
 */
export function absolutePath(value: string, option: string): string {
  if (value.startsWith('/')) return resolve(value);
  try {
    return resolve(process.cwd(), value);
  } catch (error) {
    throw new UsageError(
      `Cannot resolve the relative path ${JSON.stringify(value)} of ${option}: the working directory no longer exists (${(error as NodeJS.ErrnoException).code ?? String(error)}). Pass an absolute path, or run from a directory that exists.`,
      { cause: error },
    );
  }
}

/**
 * Whether the state dir exists. A path that exists and is not a directory (a file, a FIFO), or lies under
 * a file, is no state dir at all: a `StateDirError` (exit 2, README's exit codes), as `launch` refuses it.
 */
export function stateDirExists(stateDir: string): boolean {
  let stats;
  try {
    stats = statSync(stateDir, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOTDIR' ? 'a part of the path above it is a file, not a directory' : `it cannot be read (${code ?? String(error)})`;
    throw new StateDirError(stateDir, `Cannot read the state dir ${stateDir}: ${why}. Pass --state-dir (or set FIRST_RUN_STATE_DIR) to a directory.`, { cause: error });
  }
  if (stats === undefined) return false;
  if (!stats.isDirectory()) {
    throw new StateDirError(stateDir, `The state dir ${stateDir} is not a directory (it is a ${stats.isFile() ? 'file' : 'special file'}): pass --state-dir (or set FIRST_RUN_STATE_DIR) to a directory.`);
  }
  return true;
}

/**
 * The stderr line of a state dir that was group/world-writable and was tightened to 0700 (journaled as
 * `state_dir.tightened`): a mode changed under the user's feet is said, never done silently.
 */
export function tightenedLine(stateDir: string, from: string): string {
  return `first-run: the state dir ${stateDir} was ${from} (others could write to it); tightened to 0700 so no other user can move the ledger away`;
}

function userDbHome(): string | null {
  try {
    return userInfo().homedir;
  } catch {
    return null;
  }
}

/**
 * Load `--config` with this process's env switches; no `--config` means the defaults. A `--config` that
 * names no file is refused (exit 2), not taken for the defaults: the user asked for that file, and a typo
 * must not run the first run with other settings than theirs. (The library's `loadConfig` keeps CF-1's
 * "a missing file means the defaults" for an app's own config location, which may not exist yet.)
 * @throws ConfigError naming the file when it is missing or invalid.
 */
export async function resolveSettings(cli: ParsedCLI, io: CliIO): Promise<OrchestratorSettings> {
  const { loadConfig } = await import('../config/index.js');
  const file = typeof cli.options.config === 'string' ? absolutePath(cli.options.config, '--config') : undefined;
  const loaded = await loadConfig({ ...(file !== undefined ? { file } : {}), env: io.env });
  if (file !== undefined && loaded.file === null) {
    throw new ConfigError(file, [{ path: '(root)', message: 'no such file: fix the --config path, or leave --config out to run with the defaults' }]);
  }
  return loaded.settings;
}
