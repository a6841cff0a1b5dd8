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

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIO: CliIO = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
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
