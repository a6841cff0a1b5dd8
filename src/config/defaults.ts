import { DEFAULT_PERMISSIONS, PERMISSION_CATALOGUE, PERMISSION_KINDS } from '../../machines/permissions.js';
import { DEFAULT_MAX_DEFER_MS, type OrchestratorSettings, type PermissionName, type StepSettings } from '../../machines/types.js';

/**
 * The documented bounds of every numeric config key (CF-2). Values outside them are refused, not
 * clamped: an absurd timeout is almost always a unit mistake (milliseconds written as seconds).
 */
export const CONFIG_LIMITS = {
  /** Step timeouts (`default_step_timeout_s`, `steps.<name>.timeout_s`): greater than 0, at most 1 hour. */
  maxStepTimeoutS: 3600,
  /** `confirm_retries`: an integer from 0 to 10. */
  maxConfirmRetries: 10,
  /** `confirm_interval_s`: 0 to 600 s. */
  maxConfirmIntervalS: 600,
  /** `restart.delay_sec`: 0 to 600 s. */
  maxRestartDelayS: 600,
  /**
   * `restart.handoff_timeout_s`: at least 0.5 s, at most 600 s. A hand-off starts a whole new process
   * and waits for its proof of life (~0.1 s for a bare Node successor on a fast machine, far more for an
   * Electron app, docs/performance.md); a shorter bound would spend the one restart on a hand-off that
   * cannot succeed.
   */
  minHandoffTimeoutS: 0.5,
  maxHandoffTimeoutS: 600,
  /** `restart.max_defer_s`: 0 to 3600 s (0: a restart that comes due while busy is given up at once). */
  maxDeferS: 3600,
} as const;

/** The pipeline order when the config has none (CF-1): seed 004's four. */
export const DEFAULT_ORDER: readonly PermissionName[] = [...DEFAULT_PERMISSIONS];

/**
 * Every kind of the catalogue gets a step, whether or not `order` names it: the settings stay a total
 * map (a host may edit `order` in code), and a kind's flags default to its catalogue entry (FR-4, FR-5).
 */
function defaultSteps(timeoutMs: number, pollIntervalMs: number): Record<PermissionName, StepSettings> {
  const steps = {} as Record<PermissionName, StepSettings>;
  for (const name of PERMISSION_KINDS) steps[name] = { timeoutMs, pollIntervalMs, ...PERMISSION_CATALOGUE[name].defaults };
  return steps;
}

/** The default of one step's flags, before any config is applied (its catalogue entry's). */
export function defaultStepFlags(name: PermissionName): Pick<StepSettings, 'needsRestart' | 'assumeGrantedOnTimeout'> {
  const { needsRestart, assumeGrantedOnTimeout } = PERMISSION_CATALOGUE[name].defaults;
  return { needsRestart, assumeGrantedOnTimeout };
}

/**
 * The settings used when there is no config file (CF-1), in milliseconds.
 *
 * - `enabled` — @default true
 * - `advanceOnTimeout` — @default true
 * - `steps.*.timeoutMs` (`default_step_timeout_s`) — @default 15000
 * - `steps.*.pollIntervalMs` (`poll_interval_s`) — @default 1000
 * - `confirmRetries` — @default 2
 * - `confirmIntervalMs` (`confirm_interval_s`) — @default 2000
 * - `order` — @default ['microphone', 'accessibility', 'input_monitoring', 'screen_capture']
 * - `steps` — one per kind of the catalogue (`PERMISSION_KINDS`), named in `order` or not
 * - `steps.*.hard` — @default true
 * - `steps.*.needsRestart` — @default true for `screen_capture`, `input_monitoring` and `full_disk_access`
 *   (their grant shows only in a new process), false otherwise
 * - `steps.*.assumeGrantedOnTimeout` — @default true for `microphone` only
 * - `restart.delayMs` (`delay_sec`) — @default 3000
 * - `restart.requireAllHardPass` — @default true
 * - `restart.requireNeedsRestart` — @default false
 * - `restart.strategy` — @default 'node'
 * - `restart.handoffTimeoutMs` (`handoff_timeout_s`) — @default 10000
 * - `restart.maxDeferMs` (`max_defer_s`) — @default 300000
 * - `devForcePermissions` (`NEXY_DEV_FORCE_PERMISSIONS`) — @default false
 * - `dryRun` (`NEXY_DISABLE_AUTO_RESTART`), `killSwitch` (`NEXY_KS_FIRST_RUN_RESTART`) — @default false
 *
 * Frozen; use {@link cloneDefaultSettings} for a mutable copy.
 */
export const DEFAULT_SETTINGS: Readonly<OrchestratorSettings> = deepFreeze({
  enabled: true,
  advanceOnTimeout: true,
  confirmRetries: 2,
  confirmIntervalMs: 2000,
  order: [...DEFAULT_ORDER],
  steps: defaultSteps(15_000, 1000),
  restart: {
    delayMs: 3000,
    requireAllHardPass: true,
    requireNeedsRestart: false,
    strategy: 'node',
    handoffTimeoutMs: 10_000,
    maxDeferMs: DEFAULT_MAX_DEFER_MS,
  },
  devForcePermissions: false,
  dryRun: false,
  killSwitch: false,
});

/** A fresh, mutable copy of {@link DEFAULT_SETTINGS}. */
export function cloneDefaultSettings(): OrchestratorSettings {
  return structuredClone(DEFAULT_SETTINGS) as OrchestratorSettings;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
