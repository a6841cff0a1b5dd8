/**
 * Paths from the environment (HE-3), one rule for all of them: a path from the environment is used only
 * when it is absolute. A relative one would be resolved against the working directory of whichever
 * process reads it — two launches from two directories would use two state dirs, and both would run a
 * first run and restart. What happens to a relative value depends only on whether a fallback keeps the
 * user's intent:
 * - `HOME`, `XDG_STATE_HOME` (and every `XDG_*` base directory): ignored, as the XDG Base Directory
 *   specification says ("a relative path … should be considered invalid and ignored"); the user
 *   database's home, or the XDG default under it, is used instead.
 * - `FIRST_RUN_STATE_DIR`, `FIRST_RUN_LOCK_PATH`: refused with an error naming the variable — no other
 *   directory is what the user asked for.
 */

/** What the environment says of one path variable. */
export type EnvPath =
  | { kind: 'unset' }
  | { kind: 'absolute'; path: string }
  | { kind: 'relative'; name: string; value: string };

/** Read the path variable `name` from `env`: unset (or empty), absolute, or relative. */
export function readEnvPath(env: Readonly<Record<string, string | undefined>>, name: string): EnvPath {
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  if (typeof value !== 'string' || value === '') return { kind: 'unset' };
  return value.startsWith('/') ? { kind: 'absolute', path: value } : { kind: 'relative', name, value };
}

/** The variable's path when it is absolute, else `null` (the rule for `HOME` and `XDG_*`: a relative one is ignored). */
export function absoluteEnvPath(env: Readonly<Record<string, string | undefined>>, name: string): string | null {
  const read = readEnvPath(env, name);
  return read.kind === 'absolute' ? read.path : null;
}

/** Why a relative value of one of our own path variables is refused (for the error the caller throws). */
export function relativeEnvPathMessage(read: Extract<EnvPath, { kind: 'relative' }>): string {
  return `Expected the environment variable ${read.name} to be an absolute path, got ${JSON.stringify(read.value)}: a relative path would name another directory from every working directory (two state dirs, two first runs). Set it to an absolute path.`;
}
