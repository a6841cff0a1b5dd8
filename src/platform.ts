/**
 * The one module that reads `process.platform` (house style 5).
 *
 * Why one place: the platform decides which permission backend can exist (`macos` needs TCC and
 * `node-mac-permissions`, which only builds on darwin) and which relaunch strategies make sense (`bundle`
 * needs `/usr/bin/open`). If every module sniffed `process.platform` itself, tests could not pretend to be
 * on another OS and the decisions would drift apart. Everything else takes a `platform` option that
 * defaults to {@link currentPlatform}, so a test on Linux can say "assume darwin" explicitly.
 */
import { absoluteEnvPath } from './config/env-paths.js';

/** An operating-system name as Node reports it (`'darwin'`, `'linux'`, `'win32'`, …). */
export type Platform = NodeJS.Platform;

/**
 * The platform this process runs on.
 * @returns `process.platform`, read here and nowhere else.
 */
export function currentPlatform(): Platform {
  return process.platform;
}

/**
 * Whether `platform` is macOS (darwin), the only OS with TCC and the `macos` backend.
 * @param platform The platform to test. @default currentPlatform()
 * @example
 * if (!isMacOS()) backend = createSimBackend(...);
 */
export function isMacOS(platform: Platform = currentPlatform()): boolean {
  return platform === 'darwin';
}

/**
 * The platform's app-state directory for this product (SPEC §4's default `--state-dir`):
 * `~/Library/Application Support/first-run-orchestrator` on macOS, `$XDG_STATE_HOME/first-run-orchestrator`
 * (or `~/.local/state/first-run-orchestrator`) elsewhere. An embedding app passes its own
 * (`app.getPath('userData')`).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv, home: string, platform: Platform = currentPlatform()): string {
  if (isMacOS(platform)) return `${home}/Library/Application Support/first-run-orchestrator`;
  return `${absoluteEnvPath(env, 'XDG_STATE_HOME') ?? `${home}/.local/state`}/first-run-orchestrator`;
}

/**
 * This user's home directory, absolute: `$HOME` when it is an absolute path, else the user database's
 * (`os.userInfo().homedir`). A relative or empty `HOME` would make the default state dir depend on the
 * working directory — two launches from two directories would both run, and both restart.
 * @returns `null` when neither is an absolute path.
 */
export function absoluteHomeDir(env: NodeJS.ProcessEnv, userDbHome: () => string | null): string | null {
  const home = absoluteEnvPath(env, 'HOME'); // the rule for every path from the environment: src/config/env-paths.ts
  if (home !== null) return home;
  const fromDb = userDbHome();
  return fromDb && fromDb.startsWith('/') ? fromDb : null;
}
