import { ProblemList, describe } from './validate.js';

/** The environment as a plain record (`process.env` fits). */
export type EnvLike = Readonly<Record<string, string | undefined>>;

/** `NEXY_DISABLE_AUTO_RESTART`: run everything, journal the decision, execute no restart (RS-6). */
export const ENV_DRY_RUN = 'NEXY_DISABLE_AUTO_RESTART';
/** `NEXY_KS_FIRST_RUN_RESTART`: the emergency kill switch, no automatic restart (RS-2). */
export const ENV_KILL_SWITCH = 'NEXY_KS_FIRST_RUN_RESTART';

const TRUTHY = ['1', 'true', 'yes', 'on'];
const FALSY = ['0', 'false', 'no', 'off', ''];

/** The two environment switches, resolved. */
export interface EnvFlags {
  /** From `NEXY_DISABLE_AUTO_RESTART`. @default false */
  dryRun: boolean;
  /** From `NEXY_KS_FIRST_RUN_RESTART`. @default false */
  killSwitch: boolean;
}

/**
 * Read the two switches from `env` (pure: pass `process.env` yourself). `1|true|yes|on` are true and
 * `0|false|no|off|''` (or unset) false, case-insensitively and ignoring surrounding spaces; any other value
 * is a problem reported at the path `env.<VARIABLE>`, because a switch that silently reads as off is how
 * a kill switch fails open.
 */
export function readEnvFlags(env: EnvLike, problems: ProblemList): EnvFlags {
  return { dryRun: readSwitch(env, ENV_DRY_RUN, problems), killSwitch: readSwitch(env, ENV_KILL_SWITCH, problems) };
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
