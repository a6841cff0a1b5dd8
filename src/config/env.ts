import { ProblemList, describe } from './validate.js';

/** The environment as a plain record (`process.env` fits). */
export type EnvLike = Readonly<Record<string, string | undefined>>;

/** `NEXY_DISABLE_AUTO_RESTART`: run everything, journal the decision, execute no restart (RS-6). */
export const ENV_DRY_RUN = 'NEXY_DISABLE_AUTO_RESTART';
/** `NEXY_KS_FIRST_RUN_RESTART`: the emergency kill switch, no automatic restart (RS-2). */
export const ENV_KILL_SWITCH = 'NEXY_KS_FIRST_RUN_RESTART';

/**
 * `NEXY_DEV_FORCE_PERMISSIONS` (seed 004): development only — run the pipeline even when every permission
 * is granted. Refused in a packaged app: a stray developer switch must not change what users see.
 */
export const ENV_DEV_FORCE = 'NEXY_DEV_FORCE_PERMISSIONS';

const TRUTHY = ['1', 'true', 'yes', 'on'];
const FALSY = ['0', 'false', 'no', 'off', ''];

/** The environment switches, resolved. */
export interface EnvFlags {
  /** From `NEXY_DISABLE_AUTO_RESTART`. @default false */
  dryRun: boolean;
  /** From `NEXY_KS_FIRST_RUN_RESTART`. @default false */
  killSwitch: boolean;
  /** From `NEXY_DEV_FORCE_PERMISSIONS`; always false in a packaged app (where setting it is a problem). @default false */
  devForcePermissions: boolean;
}

/** Options of {@link readEnvFlags}. */
export interface ReadEnvFlagsOptions {
  /**
   * The host is a packaged (shipped) app: `NEXY_DEV_FORCE_PERMISSIONS` set there is refused. An Electron
   * host passes `app.isPackaged`. @default false
   */
  packaged?: boolean;
}

/**
 * Read the switches from `env` (pure: pass `process.env` yourself). `1|true|yes|on` are true and
 * `0|false|no|off|''` (or unset) false, case-insensitively and ignoring surrounding spaces; any other value
 * is a problem reported at the path `env.<VARIABLE>`, because a switch that silently reads as off is how
 * a kill switch fails open.
 */
export function readEnvFlags(env: EnvLike, problems: ProblemList, options: ReadEnvFlagsOptions = {}): EnvFlags {
  const force = readSwitch(env, ENV_DEV_FORCE, problems);
  if (force && options.packaged === true) {
    problems.add(
      `env.${ENV_DEV_FORCE}`,
      `${ENV_DEV_FORCE} is a development switch (run the first-run flow even when every permission is granted) and is refused in a packaged app; unset it`,
    );
  }
  return {
    dryRun: readSwitch(env, ENV_DRY_RUN, problems),
    killSwitch: readSwitch(env, ENV_KILL_SWITCH, problems),
    devForcePermissions: force && options.packaged !== true,
  };
}

function readSwitch(env: EnvLike, name: string, problems: ProblemList): boolean {
  const raw = Object.hasOwn(env, name) ? env[name] : undefined;
  if (raw === undefined) return false;
  const value = String(raw).trim().toLowerCase();
  if (TRUTHY.includes(value)) return true;
  if (FALSY.includes(value)) return false;
  problems.add(
    `env.${name}`,
    `expected the environment variable ${name} to be 1, true, yes or on (set) or 0, false, no, off or empty (unset), got ${describe(raw)}`,
  );
  return false;
}
