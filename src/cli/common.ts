/** What every state-dir command resolves the same way: the state dir and the config. */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { OrchestratorSettings } from '../../machines/types.js';
import { StateDirError } from '../errors.js';
import { absoluteHomeDir, defaultStateDir } from '../platform.js';
import type { CliIO } from './io.js';
import type { ParsedCLI } from './parse-cli.js';

/** `--state-dir` > `FIRST_RUN_STATE_DIR` > the platform's app-state dir. */
export function resolveStateDir(cli: ParsedCLI, io: CliIO): string {
  const option = cli.options['state-dir'];
  if (typeof option === 'string') return resolve(option);
  if (io.env.FIRST_RUN_STATE_DIR) return resolve(io.env.FIRST_RUN_STATE_DIR);
  const home = absoluteHomeDir(io.env, userDbHome);
  if (home === null) {
    throw new StateDirError(
      '(default)',
      `Cannot choose the default state dir: HOME is ${JSON.stringify(io.env.HOME ?? null)}, not an absolute path, and the user database has no home for this user. Pass --state-dir DIR (or set FIRST_RUN_STATE_DIR) to an absolute path.`,
    );
  }
  return defaultStateDir(io.env, home);
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
  const file = typeof cli.options.config === 'string' ? cli.options.config : undefined;
  return (await loadConfig({ ...(file ? { file } : {}), env: io.env })).settings;
}
