/**
 * Readable progress for `launch` and `demo`: phase, step, a countdown of the timebox, status changes,
 * the tray colour (drawn in its colour on a terminal), the decision and the restart.
 */
import { isPermissionName, permissionKind } from '../../machines/permissions.js';
import type { CliIO } from './io.js';

type AnyEvent = { type: string; pid: number; [key: string]: unknown };

function swatch(color: unknown, tty: boolean): string {
  if (!tty || typeof color !== 'string' || !/^#[0-9A-Fa-f]{6}$/.test(color)) return '●';
  const n = Number.parseInt(color.slice(1), 16);
  return `\u001b[38;2;${(n >> 16) & 255};${(n >> 8) & 255};${n & 255}m●\u001b[0m`;
}

export interface Reporter {
  onEvent(event: AnyEvent): void;
  close(): void;
}

/** How a request shows: a system prompt, or (a kind without one, like Full Disk Access) its System Settings pane. */
function howAsked(permission: unknown): string {
  return isPermissionName(permission) && permissionKind(permission).ask === 'settings_only' ? 'System Settings' : 'system prompt';
}

export function createReporter(io: CliIO, options: { tty: boolean; countdownMs?: number }): Reporter {
  let countdown: ReturnType<typeof setInterval> | null = null;
  const line = (event: AnyEvent, text: string) => io.stdout(`[${event.pid}] ${text}`);
  const stopCountdown = () => {
    if (countdown) clearInterval(countdown);
    countdown = null;
  };
  const startCountdown = (event: AnyEvent, timeoutMs: number) => {
    stopCountdown();
    const started = Date.now();
    countdown = setInterval(() => {
      const left = Math.max(0, Math.ceil((timeoutMs - (Date.now() - started)) / 1000));
      line(event, `    … ${String(event.permission)}: ${left} s left in the timebox`);
    }, options.countdownMs ?? 1000);
    countdown.unref();
  };
  // advance_on_timeout=false after the timebox: no countdown any more, the step waits for the user (FR-3).
  const waitingForUser = (event: AnyEvent) => {
    stopCountdown();
    line(event, `    waiting for you to answer for ${String(event.permission)} — no time limit (advance_on_timeout=false); quit to stop`);
  };
  return {
    onEvent(event) {
      const e = event as Record<string, unknown> & AnyEvent;
      switch (event.type) {
        case 'instance.lock_acquired':
          return line(event, `instance lock acquired (waited ${String(e.waited_ms)} ms)`);
        case 'ledger.loaded':
          return line(event, `ledger: ${String(e.kind)}${e.generation ? ` (generation ${String(e.generation)})` : ''}`);
        case 'ledger.corrupt':
        case 'ledger.recovered':
        case 'ledger.safe_mode':
          return line(event, `${event.type}: ${String(e.message ?? e.reason ?? '')}`);
        case 'permissions.v2.phase':
          return line(event, `▶ ${String(e.phase)}`);
        case 'permissions.v2.step_started':
          line(event, `  step ${String(e.permission)} — timebox ${Math.round(Number(e.timeout_ms) / 1000)} s`);
          return startCountdown(event, Number(e.timeout_ms));
        case 'permissions.v2.step_resumed':
          // A step restored in a new process goes on with the time it had left (null: it waits for the user).
          if (e.waiting_for_user) return waitingForUser(event);
          line(event, `  step ${String(e.permission)} resumed — ${Math.ceil(Number(e.remaining_ms) / 1000)} s left in the timebox`);
          return startCountdown(event, Number(e.remaining_ms));
        case 'permissions.v2.step_waiting_for_user':
          return waitingForUser(event);
        case 'permissions.changed':
          return line(event, `    ${String(e.permission)}: ${String(e.from)} → ${String(e.to)}`);
        case 'permissions.v2.activation_requested':
          return line(event, `    asked for ${String(e.permission)} (${howAsked(e.permission)})`);
        case 'permissions.v2.settings_opened':
          return line(event, `    opened System Settings for ${String(e.permission)}`);
        case 'permissions.v2.step_timeout':
          if (e.keeps_waiting) stopCountdown();
          return line(event, `    timebox over for ${String(e.permission)}${e.keeps_waiting ? ' — keeps waiting (advance_on_timeout=false)' : ''}`);
        case 'permissions.v2.step_completed':
          stopCountdown();
          return line(event, `  ${['granted', 'assumed_granted', 'pending_restart'].includes(String(e.outcome)) ? '✓' : '✗'} ${String(e.permission)}: ${String(e.outcome)}`);
        case 'tray.status_updated':
          return line(event, `  tray ${swatch(e.color, options.tty)} ${String(e.status)} ${String(e.color)}${e.overlay ? ` + ${String(e.overlay)} badge` : ''}`);
        case 'permissions.v2.decision':
          return line(event, `  decision: ${e.allowed ? 'restart' : `no restart (${(e.blockedBy as string[]).join(', ')})`}`);
        case 'permissions.first_run_restart_pending':
          return line(event, `  a restart is needed to finish (first_run_restart_pending)`);
        case 'restart.deferred':
          return line(event, `  restart deferred: the app is busy — it waits for idle, at most ${Math.round(Number(e.max_defer_ms) / 1000)} s`);
        case 'restart.deferral_ended':
          return line(event, `  the app is idle again: restarting`);
        case 'restart.requested':
          return line(event, `  restart requested — executes in ${Math.round(Number(e.delay_ms) / 100) / 10} s unless you quit`);
        case 'restart.count_changed':
          return line(event, `  restart_count ${String(e.from)} → ${String(e.to)} (committed before the relaunch)`);
        case 'restart.handoff_started':
          return line(event, `  relaunching (${String(e.strategy)})…`);
        case 'restart.executed':
          return line(event, `  restart executed: successor pid ${String(e.new_pid)} proved itself alive; handing over the lock`);
        case 'restart.rejected':
        case 'restart.cancelled':
        case 'restart.failed':
          return line(event, `  ${event.type}: ${String(e.reason ?? e.message ?? '')}`);
        case 'restart.successor_started':
          return line(event, `successor of pid ${String(e.predecessor_pid)} started; waiting for the lock`);
        case 'permissions.first_run_completed':
          stopCountdown();
          return line(event, `✔ first run completed${(e.warnings as string[] | undefined)?.length ? ` with warnings: ${(e.warnings as string[]).join(', ')}` : ''}`);
        case 'permissions.first_run_failed':
          stopCountdown();
          return line(event, `✘ first run failed`);
        default:
          return;
      }
    },
    close: stopCountdown,
  };
}
