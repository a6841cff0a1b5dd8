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
  'permissions.first_run_started': { missing: PermissionName[]; order: PermissionName[] };
  'permissions.first_run_completed': RunSummary;
  'permissions.first_run_failed': RunSummary;
  'permissions.status_checked': { permission: PermissionName; status: PermissionStatus };
  'permissions.changed': { permission: PermissionName; from: PermissionStatus; to: PermissionStatus };
  'permissions.v2.phase': { phase: Phase };
  'permissions.v2.step_started': { permission: PermissionName; timeout_ms: number };
  'permissions.v2.step_completed': { permission: PermissionName; outcome: StepOutcome; status: PermissionStatus };
  'permissions.v2.step_timeout': { permission: PermissionName; outcome: StepOutcome | null; keeps_waiting?: boolean };
  'permissions.v2.activation_requested': { permission: PermissionName };
  'permissions.v2.activation_failed': { permission: PermissionName; message: string };
  'permissions.v2.settings_opened': { permission: PermissionName };
  'permissions.v2.read_failed': { permission: PermissionName; message: string };
  'permissions.v2.decision': RestartDecision & { results: Partial<Record<PermissionName, StepResult>> };
  'restart.requested': { request_id: string; delay_ms: number; restart_count: number };
  'restart.cancelled': { reason: 'user_quit'; stage?: 'handoff' };
  'restart.rejected': { reason: RejectReason; source: RestartSource; restart_count?: number };
  'restart.count_changed': { from: number; to: number };
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
