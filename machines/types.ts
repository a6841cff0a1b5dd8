/**
 * Plain-JSON vocabulary shared by every machine. Nothing here touches I/O: these are the words of the
 * product (SPEC §2) as TypeScript string-literal unions.
 */

import { DEFAULT_PERMISSIONS, type PermissionName } from './permissions.js';

export type { PermissionName } from './permissions.js';

/**
 * Seed 004's four permissions (FR-5), in their default order: what the pipeline walks when the config
 * has no `order`. Every kind the product knows is in `PERMISSION_KINDS` (machines/permissions.ts).
 */
export const PERMISSIONS = DEFAULT_PERMISSIONS;

/** A permission's status as read from TCC (or the simulated backend), normalised. */
export const PERMISSION_STATUSES = ['granted', 'denied', 'not_determined', 'restricted'] as const;
export type PermissionStatus = (typeof PERMISSION_STATUSES)[number];

/** How a step ended (FR-4). */
export const STEP_OUTCOMES = [
  'granted',
  'assumed_granted',
  'pending_restart',
  'denied',
  'restricted',
  'timed_out',
] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** Outcomes with which a step *passes* (FR-4). */
export const PASSING_OUTCOMES: readonly StepOutcome[] = ['granted', 'assumed_granted', 'pending_restart'];

/** The root orchestrator's phases, named as users grep for them. */
export const PHASES = [
  'PRECHECK',
  'PIPELINE',
  'DECISION',
  'RESTART_REQUESTED',
  'POST_RESTART_VERIFY',
  'COMPLETED',
  'FAILED',
] as const;
export type Phase = (typeof PHASES)[number];

/** The tray's only three statuses (TR-1). */
export const TRAY_STATUSES = ['SLEEPING', 'LISTENING', 'PROCESSING'] as const;
export type TrayStatus = (typeof TRAY_STATUSES)[number];
/** The app's mode, which the tray follows outside first-run. Same three words. */
export type AppMode = TrayStatus;

/** Relaunch strategies (RS-8). */
export const RELAUNCH_STRATEGIES = ['node', 'bundle', 'execve'] as const;
export type RelaunchStrategy = (typeof RELAUNCH_STRATEGIES)[number];

/** How long a restart that came due while busy may wait for idle, when the settings do not say (RS-10). */
export const DEFAULT_MAX_DEFER_MS = 300_000;

/** Per-step settings after defaults are applied (CF-1), in milliseconds. */
export interface StepSettings {
  timeoutMs: number;
  pollIntervalMs: number;
  hard: boolean;
  needsRestart: boolean;
  assumeGrantedOnTimeout: boolean;
}

/** Everything the machines need from the config, resolved and in milliseconds. Plain JSON. */
export interface OrchestratorSettings {
  enabled: boolean;
  advanceOnTimeout: boolean;
  confirmRetries: number;
  confirmIntervalMs: number;
  order: PermissionName[];
  steps: Record<PermissionName, StepSettings>;
  restart: {
    delayMs: number;
    requireAllHardPass: boolean;
    requireNeedsRestart: boolean;
    strategy: RelaunchStrategy;
    handoffTimeoutMs: number;
    /**
     * `restart.max_defer_s`: how long a restart that came due while the host said "busy" may wait for
     * "idle" (RS-10). After it, this process records the decision and does not restart; the next launch
     * decides again. @default {@link DEFAULT_MAX_DEFER_MS}
     */
    maxDeferMs?: number;
  };
  /**
   * `NEXY_DEV_FORCE_PERMISSIONS` (development only, refused in a packaged app): run the pipeline even
   * when every permission is granted, so testers can watch the flow. @default false
   */
  devForcePermissions?: boolean;
  /** `NEXY_DISABLE_AUTO_RESTART`: decide and journal, execute nothing (RS-6). */
  dryRun: boolean;
  /** `NEXY_KS_FIRST_RUN_RESTART`: the emergency kill switch (RS-2). */
  killSwitch: boolean;
}

/** A step's result, as the root records it. */
export interface StepResult {
  permission: PermissionName;
  outcome: StepOutcome;
  /** The last status read. */
  status: PermissionStatus;
  /** Whether a request (prompt or System Settings) was made for it, ever (remembered across launches). */
  requested: boolean;
}

/** Why a restart was or was not allowed (RS-2); journaled as `permissions.v2.decision`. */
export interface RestartDecision {
  allowed: boolean;
  /** Every reason that blocks the restart; empty when allowed. */
  blockedBy: DecisionBlocker[];
  hardAllPassed: boolean;
  needsRestart: boolean;
  dryRun: boolean;
}
/** What blocks a restart on the orchestrator's side; the gate's reasons are its `RejectReason`s. */
export type DecisionBlocker = 'hard_step_failed' | 'no_restart_needed' | 'nothing_requested';

/**
 * Sent by the host right after every start, fresh or restored: how a restored snapshot learns that it
 * runs in a new process, with this process's settings (config and env switches apply per launch).
 */
export interface RuntimeBootedEvent {
  type: 'runtime.booted';
  bootId: string;
  pid: number;
  /** Epoch ms. */
  at: number;
  settings?: OrchestratorSettings;
}
