/**
 * The typed event contract (EV-2, EV-3): every event the service publishes, with its payload. The
 * host subscribes in process with `service.on(type, listener)`; the runtime appends each one to
 * `events.ndjson` as `{ts, pid, type, ...payload}`.
 */
import type {
  PermissionName,
  PermissionStatus,
  Phase,
  RestartDecision,
  StepOutcome,
  StepResult,
  TrayStatus,
} from '../../machines/types.js';
import type { RejectReason, RestartSource } from '../../machines/relaunch-gate.machine.js';

type RunSummary = {
  results: Partial<Record<PermissionName, StepResult>>;
  warnings: string[];
  restart_outcome: string | null;
};

/** Payload of each event, by type. */
export interface FirstRunEventPayloads {
  /** `dev_forced`: NEXY_DEV_FORCE_PERMISSIONS made every step run (development only). */
  'permissions.first_run_started': { missing: PermissionName[]; order: PermissionName[]; dev_forced: boolean };
  /** The pipeline ended needing a restart, before the gate schedules it (seed 004; information, not a trigger). */
  'permissions.first_run_restart_pending': { request_id: string; results: Partial<Record<PermissionName, StepResult>> };
  'permissions.first_run_completed': RunSummary;
  'permissions.first_run_failed': RunSummary;
  'permissions.status_checked': { permission: PermissionName; status: PermissionStatus };
  'permissions.changed': { permission: PermissionName; from: PermissionStatus; to: PermissionStatus };
  'permissions.v2.phase': { phase: Phase };
  'permissions.v2.step_started': { permission: PermissionName; timeout_ms: number };
  'permissions.v2.step_completed': { permission: PermissionName; outcome: StepOutcome; status: PermissionStatus };
  'permissions.v2.step_timeout': { permission: PermissionName; outcome: StepOutcome | null; keeps_waiting?: boolean };
  /** A step restored in a new process goes on with the time it had left at its last commit (null: waiting for the user). */
  'permissions.v2.step_resumed': { permission: PermissionName; remaining_ms: number | null; waiting_for_user: boolean };
  /** advance_on_timeout=false: the timebox ended and the step now waits for the user, without a bound (FR-3). */
  'permissions.v2.step_waiting_for_user': { permission: PermissionName; status: PermissionStatus | null };
  'permissions.v2.activation_requested': { permission: PermissionName };
  'permissions.v2.activation_failed': { permission: PermissionName; message: string };
  'permissions.v2.settings_opened': { permission: PermissionName };
  'permissions.v2.read_failed': { permission: PermissionName; message: string };
  'permissions.v2.decision': RestartDecision & { results: Partial<Record<PermissionName, StepResult>> };
  'restart.requested': { request_id: string; delay_ms: number; restart_count: number };
  'restart.cancelled': { reason: 'user_quit'; stage?: 'handoff' };
  'restart.rejected': { reason: RejectReason; source: RestartSource; restart_count?: number };
  'restart.count_changed': { from: number; to: number };
  /** The restart came due while the host said busy: it waits for idle, at most `max_defer_ms` (RS-10). */
  'restart.deferred': { reason: 'busy'; request_id: string; max_defer_ms: number };
  /** The host said idle while a restart was deferred: it proceeds. */
  'restart.deferral_ended': { request_id: string };
  'restart.executed': { new_pid: number; restart_count: number };
  'restart.failed': { stage: 'commit' | 'handoff'; message: string };
  'tray.status_updated': { status: TrayStatus; color: string; overlay: string | null; overlay_color: string | null };
  'app.quit_intent': { user_quit_intent: true };
  'user.quit': { user_quit_intent: true };
  'ledger.write_failed': { message: string };
  'service.error': { message: string };
}

export type FirstRunEventType = keyof FirstRunEventPayloads;

/** An event as delivered to subscribers and written to the journal. */
export type FirstRunEvent<T extends FirstRunEventType = FirstRunEventType> = {
  [K in T]: { type: K; ts: string; pid: number } & FirstRunEventPayloads[K];
}[T];
