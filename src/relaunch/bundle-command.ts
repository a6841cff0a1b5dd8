import { isAbsolute } from 'node:path';
import { describeValue, RelaunchError } from '../errors.js';

/**
 * The argv of a relaunch (RS-8): a program and its arguments as an array, for
 * `child_process.spawn(command, args)` without a shell, so no argument is ever re-parsed: spaces, quotes,
 * `$()` and backticks reach the new process verbatim. Pure functions only; the relauncher runs them.
 */

/** A program and its argument vector, never a shell string. */
export interface RelaunchCommand {
  /** Absolute path of the program. */
  command: string;
  /** Its arguments, one array element per argv entry. */
  args: string[];
}

/** Input of {@link buildBundleRelaunchCommand}. */
export interface BundleRelaunchInput {
  /** Absolute path of the app bundle, ending in `.app` (e.g. `/Applications/Nexy.app`). */
  appPath: string;
  /** Arguments for the new instance (after `--args`). */
  args: readonly string[];
  /**
   * Environment variables for the new instance, passed as `open --env NAME=VALUE` (the app is started by
   * LaunchServices, which does not inherit the environment of `open`). `--env` is in `open(1)` of recent
   * macOS releases; omit this option to stay compatible with older ones.
   * @default no `--env` arguments
   */
  env?: Readonly<Record<string, string>>;
  /**
   * The program that asks LaunchServices to start the app: an absolute path taking `open(1)`'s
   * arguments. Tests on Linux pass a stand-in that starts the successor the way `open` would (a new
   * process that is not our child), so the whole `bundle` path runs in CI except the real `open`.
   * @default OPEN_COMMAND (`/usr/bin/open`)
   */
  opener?: string;
}

/** Input of {@link buildNodeRelaunchCommand}: normally `process.execPath`, `process.execArgv`, `process.argv[1]`, `process.argv.slice(2)`. */
export interface NodeRelaunchInput {
  /** Absolute path of the Node (or Electron) executable. */
  execPath: string;
  /** Node's own flags, before the entry. */
  execArgv: readonly string[];
  /** The entry script, as Node received it. */
  entry: string;
  /** The script's arguments, after the entry. */
  args: readonly string[];
}

/** The macOS `open` program; absolute so `PATH` cannot substitute another. */
export const OPEN_COMMAND = '/usr/bin/open';

function fail(message: string): never {
  throw new RelaunchError(message);
}

function assertStringArray(name: string, value: unknown): asserts value is readonly string[] {
  if (!Array.isArray(value)) fail(`Expected \`${name}\` to be an array of strings, got ${describeValue(value)}`);
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string') fail(`Expected \`${name}[${index}]\` to be a string, got ${describeValue(item)}`);
    if (item.includes('\0')) fail(`Expected \`${name}[${index}]\` to contain no NUL character, got ${describeValue(item)}`);
  });
}

function assertAbsolutePath(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') fail(`Expected \`${name}\` to be a non-empty absolute path, got ${describeValue(value)}`);
  if (value.includes('\0')) fail(`Expected \`${name}\` to contain no NUL character, got ${describeValue(value)}`);
  if (!isAbsolute(value)) fail(`Expected \`${name}\` to be an absolute path, got ${describeValue(value)}`);
}

/**
 * The `bundle` strategy: `open -n -a <App.app> [--env NAME=VALUE …] --args …args`. `-n` starts a new
 * instance even though the old one is still running (the relaunch gate needs both alive for the hand-off);
 * `--args` makes every following element an argv entry of the app, not a file for `open`.
 * @throws RelaunchError when `appPath` is not an absolute path ending in `.app` (a trailing `/` is allowed),
 *   an arg is not a string, or an env name is empty or contains `=`.
 * @example
 * buildBundleRelaunchCommand({ appPath: '/Applications/Nexy.app', args: ['--relaunched'] })
 * // { command: '/usr/bin/open', args: ['-n', '-a', '/Applications/Nexy.app', '--args', '--relaunched'] }
 */
export function buildBundleRelaunchCommand(input: BundleRelaunchInput): RelaunchCommand {
  const { appPath, args, env } = input;
  assertAbsolutePath('appPath', appPath);
  if (input.opener !== undefined) assertAbsolutePath('opener', input.opener);
  if (!/\.app\/?$/.test(appPath)) fail(`Expected \`appPath\` to be an app bundle ending in \`.app\`, got ${describeValue(appPath)}`);
  assertStringArray('args', args);
  const envArgs: string[] = [];
  if (env !== undefined) {
    if (env === null || typeof env !== 'object' || Array.isArray(env)) {
      fail(`Expected \`env\` to be an object of strings, got ${describeValue(env)}`);
    }
    for (const [name, value] of Object.entries(env)) {
      if (name === '' || name.includes('=') || name.includes('\0')) {
        fail(`Expected every \`env\` name to be non-empty without \`=\`, got ${describeValue(name)}`);
      }
      if (typeof value !== 'string' || value.includes('\0')) {
        fail(`Expected \`env.${name}\` to be a string without NUL, got ${describeValue(value)}`);
      }
      envArgs.push('--env', `${name}=${value}`);
    }
  }
  return { command: input.opener ?? OPEN_COMMAND, args: ['-n', '-a', appPath, ...envArgs, '--args', ...args] };
}

/**
 * The `node` strategy: the same Node entry with the same argv — `execPath …execArgv entry …args`.
 * @throws RelaunchError when `execPath` is not absolute, `entry` is empty, or a flag/arg is not a string.
 * @example
 * buildNodeRelaunchCommand({ execPath: process.execPath, execArgv: process.execArgv,
 *   entry: process.argv[1]!, args: process.argv.slice(2) })
 */
export function buildNodeRelaunchCommand(input: NodeRelaunchInput): RelaunchCommand {
  const { execPath, execArgv, entry, args } = input;
  assertAbsolutePath('execPath', execPath);
  assertStringArray('execArgv', execArgv);
  if (typeof entry !== 'string' || entry === '' || entry.includes('\0')) {
    fail(`Expected \`entry\` to be a non-empty path to the entry script, got ${describeValue(entry)}`);
  }
  assertStringArray('args', args);
  return { command: execPath, args: [...execArgv, entry, ...args] };
}

/**
 * Whether the `execve` strategy is available: `process.execve` exists from Node 23.11 (not on Node 20,
 * nor in Electron builds without it). It replaces the process image in place, keeping the PID.
 * @param proc The process object to inspect. @default process
 */
export function canExecve(proc: object = process): boolean {
  return typeof (proc as { execve?: unknown }).execve === 'function';
}
