import { PERMISSIONS, type OrchestratorSettings, type PermissionName, type StepSettings } from '../../machines/types.js';

/** Test settings: the product defaults, in small numbers, with overrides. */
export function testSettings(overrides: Partial<OrchestratorSettings> = {}, step: Partial<StepSettings> = {}): OrchestratorSettings {
  const steps = Object.fromEntries(
    PERMISSIONS.map((permission) => [
      permission,
      {
        timeoutMs: 15_000,
        pollIntervalMs: 1_000,
        hard: true,
        needsRestart: permission === 'screen_capture' || permission === 'input_monitoring',
        assumeGrantedOnTimeout: permission === 'microphone',
        ...step,
      } satisfies StepSettings,
    ]),
  ) as Record<PermissionName, StepSettings>;
  return {
    enabled: true,
    advanceOnTimeout: true,
    confirmRetries: 2,
    confirmIntervalMs: 2_000,
    order: [...PERMISSIONS],
    steps,
    restart: { delayMs: 3_000, requireAllHardPass: true, requireNeedsRestart: false, strategy: 'node', handoffTimeoutMs: 10_000 },
    dryRun: false,
    killSwitch: false,
    ...overrides,
  };
}
