import { ConfigError } from '../errors.js';
import { PERMISSION_KINDS, isPermissionName } from '../../machines/permissions.js';
import {
  RELAUNCH_STRATEGIES,
  type OrchestratorSettings,
  type PermissionName,
  type RelaunchStrategy,
} from '../../machines/types.js';
import { canExecve } from '../relaunch/bundle-command.js';
import { CONFIG_LIMITS, DEFAULT_SETTINGS, cloneDefaultSettings } from './defaults.js';
import { readEnvFlags, type EnvLike } from './env.js';
import {
  ProblemList,
  checkKeys,
  describe,
  isRecord,
  keyPath,
  oneOf,
  own,
  readBoolean,
  readChoice,
  readNumber,
  readRecord,
  suggest,
  type NumberRule,
} from './validate.js';

/** The key path of our section of the app's config. Everything outside it is the app's and is ignored. */
export const CONFIG_SECTION = 'integrations.permissions_v2';

/** Keys allowed directly inside `integrations.permissions_v2`. */
export const SECTION_KEYS = [
  'enabled',
  'advance_on_timeout',
  'default_step_timeout_s',
  'poll_interval_s',
  'confirm_retries',
  'confirm_interval_s',
  'order',
  'steps',
  'restart',
] as const;
/** Keys allowed inside `integrations.permissions_v2.steps.<name>`. */
export const STEP_KEYS = ['timeout_s', 'hard', 'needs_restart', 'assume_granted_on_timeout', 'poll_interval_s'] as const;
/** Keys allowed inside `integrations.permissions_v2.restart`. */
export const RESTART_KEYS = [
  'delay_sec',
  'require_all_hard_pass',
  'require_needs_restart',
  'strategy',
  'handoff_timeout_s',
  'max_defer_s',
] as const;
/**
 * The first-run flow's old timeout key (seed 004, `permissions.first_run.max_wait_sec`). It is refused, not
 * silently ignored: a config that still sets it expects it to bound the steps.
 */
export const LEGACY_MAX_WAIT_KEY = 'permissions.first_run.max_wait_sec';

const TIMEOUT: NumberRule = {
  expected: `a number of seconds greater than 0 and at most ${CONFIG_LIMITS.maxStepTimeoutS}`,
  min: 0,
  minExclusive: true,
  max: CONFIG_LIMITS.maxStepTimeoutS,
};
const POLL: NumberRule = {
  expected: `a number of seconds greater than 0 (and not above the step's timeout)`,
  min: 0,
  minExclusive: true,
  max: CONFIG_LIMITS.maxStepTimeoutS,
};
const RETRIES: NumberRule = {
  expected: `an integer from 0 to ${CONFIG_LIMITS.maxConfirmRetries}`,
  min: 0,
  max: CONFIG_LIMITS.maxConfirmRetries,
  integer: true,
};
const CONFIRM_INTERVAL: NumberRule = {
  expected: `a number of seconds from 0 to ${CONFIG_LIMITS.maxConfirmIntervalS}`,
  min: 0,
  max: CONFIG_LIMITS.maxConfirmIntervalS,
};
const DELAY: NumberRule = {
  expected: `a number of seconds from 0 to ${CONFIG_LIMITS.maxRestartDelayS}`,
  min: 0,
  max: CONFIG_LIMITS.maxRestartDelayS,
};
const HANDOFF: NumberRule = {
  expected:
    `a number of seconds from ${CONFIG_LIMITS.minHandoffTimeoutS} to ${CONFIG_LIMITS.maxHandoffTimeoutS} ` +
    '(a hand-off starts a new process and waits for its proof of life; a shorter bound would spend the one restart on a hand-off that cannot succeed)',
  min: CONFIG_LIMITS.minHandoffTimeoutS,
  max: CONFIG_LIMITS.maxHandoffTimeoutS,
};
const MAX_DEFER: NumberRule = {
  expected: `a number of seconds from 0 to ${CONFIG_LIMITS.maxDeferS}`,
  min: 0,
  max: CONFIG_LIMITS.maxDeferS,
};

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * The environment to read `NEXY_DISABLE_AUTO_RESTART` and `NEXY_KS_FIRST_RUN_RESTART` from. Never read
   * from `process.env` here: {@link loadConfig} is the entry that defaults to it.
   * @default {} (both switches off)
   */
  env?: EnvLike;
  /**
   * The host is a packaged (shipped) app, where the development switch `NEXY_DEV_FORCE_PERMISSIONS` is
   * refused. An Electron host passes `app.isPackaged`. @default false
   */
  packaged?: boolean;
  /**
   * What this runtime can do, for `restart.strategy: "execve"` (which needs `process.execve`).
   * @default this process: `canExecve()` and `process.versions.node`
   */
  runtime?: { canExecve: boolean; nodeVersion: string };
}

/** Seconds from the config to the milliseconds of the settings. */
const ms = (seconds: number): number => Math.round(seconds * 1000);

/**
 * Validate a parsed config document and resolve it into {@link OrchestratorSettings} (CF-1, CF-2).
 * Only `integrations.permissions_v2` is read; the rest of the app's config is ignored. Every problem is
 * collected (wrong types, unknown keys and permission names, duplicates in `order`, out-of-range numbers,
 * a poll interval above its timeout, the legacy `permissions.first_run.max_wait_sec`, an `execve` strategy
 * this runtime cannot run, bad environment switches) and thrown together. Pure, except that the default of
 * `options.runtime` looks at this process.
 *
 * @param raw the parsed JSON document (`undefined` means "no config": all defaults).
 * @param fileLabel how to name the source in the error, usually its path.
 * @throws ConfigError listing every problem by key path, what was expected and what was found.
 * @example
 * parseConfig({ integrations: { permissions_v2: { order: ['microphone'] } } }, 'config.json').order
 * // ['microphone']
 */
export function parseConfig(raw: unknown, fileLabel: string, options: ParseConfigOptions = {}): OrchestratorSettings {
  const problems = new ProblemList();
  const settings = resolveConfig(raw, problems);
  checkLegacyKeys(raw, problems);
  checkStrategyAvailable(settings, options.runtime ?? { canExecve: canExecve(), nodeVersion: process.versions.node }, problems);
  const flags = readEnvFlags(options.env ?? {}, problems, { packaged: options.packaged === true });
  if (problems.size > 0) throw new ConfigError(fileLabel, problems.items);
  return { ...settings, ...flags };
}

/** Resolve the document, recording problems instead of throwing. Unknown or bad values read as defaults. */
function resolveConfig(raw: unknown, problems: ProblemList): OrchestratorSettings {
  const settings = cloneDefaultSettings();
  if (raw === undefined) return settings;
  if (!isRecord(raw)) {
    problems.add('', `expected the config to be a JSON object, got ${describe(raw)}`);
    return settings;
  }
  const integrations = readRecord(raw, 'integrations', '', problems);
  if (integrations === undefined) return settings;
  const section = readRecord(integrations, 'permissions_v2', 'integrations', problems);
  if (section === undefined) return settings;
  const at = CONFIG_SECTION;
  checkKeys(section, SECTION_KEYS, at, problems);

  settings.enabled = readBoolean(section, 'enabled', at, problems) ?? settings.enabled;
  settings.advanceOnTimeout = readBoolean(section, 'advance_on_timeout', at, problems) ?? settings.advanceOnTimeout;
  settings.confirmRetries = readNumber(section, 'confirm_retries', at, RETRIES, problems) ?? settings.confirmRetries;
  const confirmS = readNumber(section, 'confirm_interval_s', at, CONFIRM_INTERVAL, problems);
  if (confirmS !== undefined) settings.confirmIntervalMs = ms(confirmS);

  const defaultTimeoutS = readNumber(section, 'default_step_timeout_s', at, TIMEOUT, problems);
  const defaultPollS = readNumber(section, 'poll_interval_s', at, POLL, problems);
  const timeoutMs = defaultTimeoutS === undefined ? DEFAULT_SETTINGS.steps.microphone.timeoutMs : ms(defaultTimeoutS);
  const pollMs = defaultPollS === undefined ? DEFAULT_SETTINGS.steps.microphone.pollIntervalMs : ms(defaultPollS);
  if (pollMs > timeoutMs && (defaultPollS !== undefined || defaultTimeoutS !== undefined)) {
    const where = defaultPollS !== undefined ? 'poll_interval_s' : 'default_step_timeout_s';
    problems.add(
      keyPath(at, where),
      `expected the poll interval (${pollMs / 1000} s) to be at most the default step timeout (${timeoutMs / 1000} s)`,
    );
  }

  const order = readOrder(section, at, problems);
  if (order !== undefined) settings.order = order;

  const steps = readRecord(section, 'steps', at, problems);
  const stepsAt = keyPath(at, 'steps');
  if (steps !== undefined) checkKeys(steps, PERMISSION_KINDS, stepsAt, problems, 'permission name');
  for (const name of PERMISSION_KINDS) {
    const step = settings.steps[name];
    step.timeoutMs = timeoutMs;
    step.pollIntervalMs = pollMs;
    if (steps === undefined) continue;
    const stepRecord = readRecord(steps, name, stepsAt, problems);
    if (stepRecord === undefined) continue;
    const stepAt = keyPath(stepsAt, name);
    checkKeys(stepRecord, STEP_KEYS, stepAt, problems);
    const stepTimeoutS = readNumber(stepRecord, 'timeout_s', stepAt, TIMEOUT, problems);
    const stepPollS = readNumber(stepRecord, 'poll_interval_s', stepAt, POLL, problems);
    if (stepTimeoutS !== undefined) step.timeoutMs = ms(stepTimeoutS);
    if (stepPollS !== undefined) step.pollIntervalMs = ms(stepPollS);
    if ((stepTimeoutS !== undefined || stepPollS !== undefined) && step.pollIntervalMs > step.timeoutMs) {
      const where = stepPollS !== undefined ? 'poll_interval_s' : 'timeout_s';
      problems.add(
        keyPath(stepAt, where),
        `expected the step's poll interval (${step.pollIntervalMs / 1000} s${stepPollS === undefined ? `, from ${at}.poll_interval_s` : ''}) to be at most its timeout (${step.timeoutMs / 1000} s${stepTimeoutS === undefined ? `, from ${at}.default_step_timeout_s` : ''})`,
      );
    }
    step.hard = readBoolean(stepRecord, 'hard', stepAt, problems) ?? step.hard;
    step.needsRestart = readBoolean(stepRecord, 'needs_restart', stepAt, problems) ?? step.needsRestart;
    step.assumeGrantedOnTimeout =
      readBoolean(stepRecord, 'assume_granted_on_timeout', stepAt, problems) ?? step.assumeGrantedOnTimeout;
  }

  const restart = readRecord(section, 'restart', at, problems);
  if (restart !== undefined) {
    const restartAt = keyPath(at, 'restart');
    checkKeys(restart, RESTART_KEYS, restartAt, problems);
    const delayS = readNumber(restart, 'delay_sec', restartAt, DELAY, problems);
    if (delayS !== undefined) settings.restart.delayMs = ms(delayS);
    settings.restart.requireAllHardPass =
      readBoolean(restart, 'require_all_hard_pass', restartAt, problems) ?? settings.restart.requireAllHardPass;
    settings.restart.requireNeedsRestart =
      readBoolean(restart, 'require_needs_restart', restartAt, problems) ?? settings.restart.requireNeedsRestart;
    settings.restart.strategy =
      readChoice<RelaunchStrategy>(restart, 'strategy', restartAt, RELAUNCH_STRATEGIES, problems) ??
      settings.restart.strategy;
    const handoffS = readNumber(restart, 'handoff_timeout_s', restartAt, HANDOFF, problems);
    if (handoffS !== undefined) settings.restart.handoffTimeoutMs = ms(handoffS);
    const deferS = readNumber(restart, 'max_defer_s', restartAt, MAX_DEFER, problems);
    if (deferS !== undefined) settings.restart.maxDeferMs = ms(deferS);
  }
  return settings;
}

/** `permissions.first_run.max_wait_sec` (seed 004) is refused with the key that replaced it. */
function checkLegacyKeys(raw: unknown, problems: ProblemList): void {
  if (!isRecord(raw)) return;
  const permissions = own(raw, 'permissions');
  const firstRun = isRecord(permissions) ? own(permissions, 'first_run') : undefined;
  if (!isRecord(firstRun) || own(firstRun, 'max_wait_sec') === undefined) return;
  problems.add(
    LEGACY_MAX_WAIT_KEY,
    `is no longer read (got ${describe(own(firstRun, 'max_wait_sec'))}); set ${CONFIG_SECTION}.default_step_timeout_s ` +
      `(seconds per step, or ${CONFIG_SECTION}.steps.<name>.timeout_s for one step) and remove it`,
  );
}

/** `restart.strategy: "execve"` on a runtime without `process.execve` is refused up front, not at relaunch time. */
function checkStrategyAvailable(
  settings: OrchestratorSettings,
  runtime: { canExecve: boolean; nodeVersion: string },
  problems: ProblemList,
): void {
  if (settings.restart.strategy !== 'execve' || runtime.canExecve) return;
  problems.add(
    keyPath(keyPath(CONFIG_SECTION, 'restart'), 'strategy'),
    `\`execve\` needs process.execve (Node ≥ 23.11), and this is Node ${runtime.nodeVersion}; use \`node\` or \`bundle\``,
  );
}

function readOrder(section: Record<string, unknown>, at: string, problems: ProblemList): PermissionName[] | undefined {
  const value = own(section, 'order');
  if (value === undefined) return undefined;
  const orderAt = keyPath(at, 'order');
  if (!Array.isArray(value)) {
    problems.add(orderAt, `expected an array of permission names (${oneOf(PERMISSION_KINDS)}), got ${describe(value)}`);
    return undefined;
  }
  const order: PermissionName[] = [];
  let ok = true;
  value.forEach((item: unknown, index) => {
    const itemAt = keyPath(orderAt, index);
    if (!isPermissionName(item)) {
      ok = false;
      const hint = typeof item === 'string' ? suggest(item, PERMISSION_KINDS) : undefined;
      problems.add(
        itemAt,
        `expected a permission name, ${oneOf(PERMISSION_KINDS)}, got ${describe(item)}${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}`,
      );
      return;
    }
    const name = item;
    const first = order.indexOf(name);
    if (first >= 0) {
      ok = false;
      problems.add(itemAt, `duplicate permission \`${name}\` (already at ${keyPath(orderAt, value.indexOf(name))}); each step runs once`);
      return;
    }
    order.push(name);
  });
  return ok ? order : undefined;
}

/** The config document shape (`integrations.permissions_v2`), in seconds, as written by {@link settingsToConfigJson}. */
export interface PermissionsV2ConfigJson {
  enabled: boolean;
  advance_on_timeout: boolean;
  default_step_timeout_s: number;
  poll_interval_s: number;
  confirm_retries: number;
  confirm_interval_s: number;
  order: PermissionName[];
  steps: Record<
    PermissionName,
    { timeout_s: number; hard: boolean; needs_restart: boolean; assume_granted_on_timeout: boolean; poll_interval_s: number }
  >;
  restart: {
    delay_sec: number;
    require_all_hard_pass: boolean;
    require_needs_restart: boolean;
    strategy: RelaunchStrategy;
    handoff_timeout_s: number;
    max_defer_s: number;
  };
}

/**
 * The config file that produces `settings` (for `first-run status`, docs and round-trip tests). Every
 * step is written out in full; `default_step_timeout_s`/`poll_interval_s` are taken from the first step
 * of `order` (or the defaults). The environment switches are not part of the file and are left out.
 */
export function settingsToConfigJson(settings: OrchestratorSettings): { integrations: { permissions_v2: PermissionsV2ConfigJson } } {
  const s = (value: number): number => value / 1000;
  const first = settings.order[0];
  const reference = first === undefined ? DEFAULT_SETTINGS.steps.microphone : settings.steps[first];
  const steps = {} as PermissionsV2ConfigJson['steps'];
  for (const name of PERMISSION_KINDS) {
    const step = settings.steps[name];
    steps[name] = {
      timeout_s: s(step.timeoutMs),
      hard: step.hard,
      needs_restart: step.needsRestart,
      assume_granted_on_timeout: step.assumeGrantedOnTimeout,
      poll_interval_s: s(step.pollIntervalMs),
    };
  }
  return {
    integrations: {
      permissions_v2: {
        enabled: settings.enabled,
        advance_on_timeout: settings.advanceOnTimeout,
        default_step_timeout_s: s(reference.timeoutMs),
        poll_interval_s: s(Math.min(reference.pollIntervalMs, reference.timeoutMs)),
        confirm_retries: settings.confirmRetries,
        confirm_interval_s: s(settings.confirmIntervalMs),
        order: [...settings.order],
        steps,
        restart: {
          delay_sec: s(settings.restart.delayMs),
          require_all_hard_pass: settings.restart.requireAllHardPass,
          require_needs_restart: settings.restart.requireNeedsRestart,
          strategy: settings.restart.strategy,
          handoff_timeout_s: s(settings.restart.handoffTimeoutMs),
          max_defer_s: s(settings.restart.maxDeferMs ?? DEFAULT_SETTINGS.restart.maxDeferMs ?? 0),
        },
      },
    },
  };
}
