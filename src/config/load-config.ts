import { readRegularFileSync, UnsafeFileError } from '../fs/regular-file.js';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { OrchestratorSettings } from '../../machines/types.js';
import type { EnvLike } from './env.js';
import { parseConfig } from './parse-config.js';
import { parseJsonText } from './validate.js';

/** A config file larger than this is refused unread: it is not a config file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /**
   * The JSON config file (the app's whole config; only `integrations.permissions_v2` is read). A file
   * that does not exist means the defaults (CF-1).
   * @default undefined (no file: the defaults)
   */
  file?: string;
  /**
   * Where `NEXY_DISABLE_AUTO_RESTART` and `NEXY_KS_FIRST_RUN_RESTART` are read from.
   * @default process.env
   */
  env?: EnvLike;
  /** The host is a packaged app: the development switch `NEXY_DEV_FORCE_PERMISSIONS` is refused. @default false */
  packaged?: boolean;
}

/** What {@link loadConfig} found. */
export interface LoadedConfig {
  settings: OrchestratorSettings;
  /** The absolute path of the file read, or `null` when none was (not given, or missing). */
  file: string | null;
  /** The parsed document, `undefined` when no file was read. */
  raw: unknown;
  /** A line for logs when the defaults were used, e.g. `Config file /x/config.json not found; using the defaults`; else `null`. */
  notice: string | null;
}

/**
 * Read, validate and resolve the config (CF-1, CF-2): the CLI-facing entry, which is why `env` defaults
 * to `process.env` here and nowhere else.
 *
 * @throws ConfigError when the file cannot be read, is not JSON (with line and column), or is invalid;
 *   `problems` lists every issue by key path.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const parseOptions = { env, packaged: options.packaged === true };
  if (options.file === undefined) {
    return { settings: parseConfig(undefined, '(no config file; environment)', parseOptions), file: null, raw: undefined, notice: 'No config file given; using the defaults' };
  }
  const file = resolve(options.file);
  let text: string;
  try {
    // Type and size first, on the open descriptor: a FIFO would block forever, /dev/zero never end.
    text = readRegularFileSync(file, { maxBytes: MAX_CONFIG_BYTES }).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') {
      return {
        settings: parseConfig(undefined, file, parseOptions),
        file: null,
        raw: undefined,
        notice: `Config file ${file} not found; using the defaults`,
      };
    }
    if (error instanceof UnsafeFileError) {
      const message =
        error.code === 'EFBIG'
          ? `expected a JSON config file of at most ${MAX_CONFIG_BYTES} bytes, got ${error.found}`
          : `cannot read the config file: it is ${error.found}; expected a regular JSON file (fix --config)`;
      throw new ConfigError(file, [{ path: '(root)', message }], { cause: error });
    }
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : String((error as Error | undefined)?.message ?? error);
    throw new ConfigError(file, [{ path: '(root)', message: `cannot read the config file: ${reason}; fix the path or its permissions` }], {
      cause: error,
    });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const { line, column } = parsed.location;
    throw new ConfigError(file, [
      { path: '(root)', message: `not valid JSON at line ${line}, column ${column}: ${parsed.message}` },
    ]);
  }
  return { settings: parseConfig(parsed.value, file, parseOptions), file, raw: parsed.value, notice: null };
}
