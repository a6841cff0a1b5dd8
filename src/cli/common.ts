/** What every state-dir command resolves the same way: the state dir and the config. */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { OrchestratorSettings } from '../../machines/types.js';
import { defaultStateDir } from '../platform.js';
import type { CliIO } from './io.js';
import type { ParsedCLI } from './parse-cli.js';

/** `--state-dir` > `FIRST_RUN_STATE_DIR` > the platform's app-state dir. */
export function resolveStateDir(cli: ParsedCLI, io: CliIO): string {
  const option = cli.options['state-dir'];
  if (typeof option === 'string') return resolve(option);
  if (io.env.FIRST_RUN_STATE_DIR) return resolve(io.env.FIRST_RUN_STATE_DIR);
  return defaultStateDir(io.env, homedir());
}

/** Load `--config` (a missing file means defaults) with this process's env switches. */
export async function resolveSettings(cli: ParsedCLI, io: CliIO): Promise<OrchestratorSettings> {
  const { loadConfig } = await import('../config/index.js');
  const file = typeof cli.options.config === 'string' ? cli.options.config : undefined;
  return (await loadConfig({ ...(file ? { file } : {}), env: io.env })).settings;
}
