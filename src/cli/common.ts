/** What every state-dir command resolves the same way: the state dir and the config. */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { OrchestratorSettings } from '../../machines/types.js';
import { StateDirError, UsageError } from '../errors.js';
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

function userDbHome(): string | null {
  try {
    return userInfo().homedir;
  } catch {
    return null;
  }
}

/** Load `--config` (a missing file means defaults) with this process's env switches. */
export async function resolveSettings(cli: ParsedCLI, io: CliIO): Promise<OrchestratorSettings> {
  const { loadConfig } = await import('../config/index.js');
  const file = typeof cli.options.config === 'string' ? absolutePath(cli.options.config, '--config') : undefined;
  return (await loadConfig({ ...(file ? { file } : {}), env: io.env })).settings;
}
