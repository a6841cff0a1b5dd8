/**
 * The warm launch without the machines: what an app pays at every start once its first run is done.
 *
 * A warm launch restores a `COMPLETED` ledger, sends `runtime.booted`, re-reads every permission (FR-1)
 * and, everything still granted, settles `COMPLETED` again, having changed nothing a later launch needs
 * (so the ledger store skips the commit: docs/architecture.md, "Durable only when it matters"). Running
 * that through XState costs loading xstate and building the machines (~15 ms in a fresh process) and
 * restoring five actors (~0.5 ms in an app that has them loaded) — for a result fixed in advance. This
 * module computes that result from the snapshot alone, **only for the snapshots where it is fixed**, and
 * says `null` for everything else, which then runs the machines as before.
 *
 * ## When the answer is fixed (`warmLedgerView`)
 * The root is `COMPLETED` with nothing of a run left (no results, decision, restart outcome, warnings or
 * quit), its children are exactly the relaunch gate at rest (`idle`), the quit intent `none` and the tray
 * `following`, and every field that `runtime.booted` overwrites already holds the value it would write —
 * the launch's settings, no quit, not busy, the gate's switches — except the per-process boot id and
 * boot counter. From such a snapshot the machines do exactly this (orchestrator.machine.ts `COMPLETED`
 * → `PRECHECK` → `COMPLETED`, `recordBoot`, `recordStatuses`; the gate's and the quit intent's
 * `recordBoot`; the tray's `runtime.booted`):
 * 1. publish `permissions.v2.phase` PRECHECK, then the tray draws its icon again (`tray.status_updated`);
 * 2. read every permission in `order` (`readEveryStatus`, the precheck's own read);
 * 3. all granted (and each as the snapshot already had it, so no `permissions.changed` and no new
 *    status in the context): publish `permissions.status_checked` for each, `permissions.v2.phase`
 *    COMPLETED and `permissions.first_run_completed` with empty results — and the new snapshot differs
 *    from the restored one only in its boot id and boot counter, which the durable projection leaves out:
 *    no commit.
 * Here the statuses are read first and the events published after (the same events, in the same
 * order): anything else after the read (a permission revoked, a read that failed, a status that changed)
 * is `null` too, the launch runs the machines — which read the statuses once more (reads only, nothing
 * prompted) and publish for themselves — so no event is ever published twice.
 *
 * ## Why it cannot drift from the machines
 * `test/runtime/warm-start.test.ts` runs the real service from every warm-looking ledger its scenarios
 * produce (and from mutations of them, one field at a time) and checks that wherever this module answers,
 * the machines publish the same events in the same order, settle the same way and leave a snapshot with
 * the same durable projection — and that it answers for the ledgers a real warm launch leaves. A change
 * to what the machines do on a warm boot fails that test until this module says the same.
 */
import type { PublishParams, StatusesReading } from '../../machines/effects.js';
import { trayStatusPayload, type TrayView } from '../../machines/tray-status.js';
import { canonicalJson } from '../ledger/canonical-json.js';
import { isRecord } from '../safe-json.js';
import { SNAPSHOT_CHILDREN } from './snapshot-shape.js';
import { DEFAULT_MAX_DEFER_MS, type OrchestratorSettings, type PermissionStatus, type TrayStatus } from '../../machines/types.js';

/** What a warm launch needs of a ledger snapshot that qualifies. */
export interface WarmLedgerView {
  /** `restart_count` as the relaunch gate holds it (0 or 1). */
  restartCount: number;
  /** The statuses the snapshot recorded, by permission. */
  statuses: Readonly<Record<string, unknown>>;
  /** What the tray shows. */
  tray: TrayView;
}

type Json = Record<string, unknown>;

const TRAY_STATUSES: readonly TrayStatus[] = ['SLEEPING', 'LISTENING', 'PROCESSING'];


function isEmptyObject(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const _ in value) return false;
  return true;
}

/** The child's snapshot when the child is `name`, active, in state `value` and has no children of its own. */
function childAtRest(children: Json, name: string, value: string): Json | null {
  const child = children[name];
  if (!isRecord(child) || child.src !== name || child.systemId !== name) return null;
  const snapshot = child.snapshot;
  if (!isRecord(snapshot) || snapshot.status !== 'active' || snapshot.value !== value) return null;
  if (!isEmptyObject(snapshot.children) || !isRecord(snapshot.context)) return null;
  return snapshot;
}

/** The root holds nothing of a run and `runtime.booted` would change none of its durable fields. */
function rootAtRest(root: Json, settings: OrchestratorSettings): Json | null {
  if (root.status !== 'active' || root.value !== 'COMPLETED' || !isEmptyObject(root.historyValue)) return null;
  const context = root.context;
  if (!isRecord(context) || !isRecord(context.statuses)) return null;
  if (!isEmptyObject(context.results) || context.decision !== null || context.restartOutcome !== null) return null;
  if (!Array.isArray(context.warnings) || context.warnings.length !== 0 || context.userQuit !== false) return null;
  // Equal as JSON would write them (key order and `undefined` properties aside).
  return canonicalJson(context.settings) === canonicalJson(settings) ? context : null;
}

/** The gate at rest, its switches already those of this launch (the gate's `recordBoot` writes them). */
function gateAtRest(children: Json, settings: OrchestratorSettings): number | null {
  const gate = childAtRest(children, 'relaunchGate', 'idle');
  const context = gate?.context as Json | undefined;
  if (!context || context.userQuit !== false || context.busy !== false) return null;
  const maxDeferMs = settings.restart.maxDeferMs ?? context.maxDeferMs ?? DEFAULT_MAX_DEFER_MS;
  const unchanged =
    context.delayMs === (settings.restart.delayMs ?? context.delayMs) &&
    context.maxDeferMs === maxDeferMs &&
    context.enabled === (settings.enabled ?? context.enabled) &&
    context.dryRun === (settings.dryRun ?? context.dryRun) &&
    context.killSwitch === (settings.killSwitch ?? context.killSwitch);
  const count = context.restartCount;
  return unchanged && (count === 0 || count === 1) ? count : null;
}

/** The tray following the app (not drawing the first-run badge): what it shows. */
function trayAtRest(children: Json): TrayView | null {
  const context = childAtRest(children, 'tray', 'following')?.context as Json | undefined;
  const status = context?.status as TrayStatus;
  if (!context || !TRAY_STATUSES.includes(status) || context.overlay !== null) return null;
  return { status, overlay: null };
}

/**
 * The view of a ledger snapshot from which a warm launch's outcome is fixed (see the module comment), or
 * `null` when the machines must run. Pure; never throws.
 */
export function warmLedgerView(snapshot: unknown, settings: OrchestratorSettings): WarmLedgerView | null {
  if (!isRecord(snapshot) || settings.devForcePermissions === true) return null;
  const context = rootAtRest(snapshot, settings);
  const children = snapshot.children;
  if (!context || !isRecord(children) || Object.keys(children).length !== SNAPSHOT_CHILDREN.length) return null;
  if (!childAtRest(children, 'quitIntent', 'none')) return null;
  const restartCount = gateAtRest(children, settings);
  const tray = trayAtRest(children);
  if (restartCount === null || !tray) return null;
  return { restartCount, statuses: context.statuses as Json, tray };
}

/**
 * Every event of the warm launch, in the machines' order, when every permission in `order` reads
 * `granted` as the snapshot had it; `null` otherwise (the machines must run, and publish for themselves).
 * Nothing is published before the read, so a launch that falls back publishes nothing twice.
 */
export function warmLaunchEvents(view: WarmLedgerView, settings: OrchestratorSettings, reading: StatusesReading): PublishParams[] | null {
  const granted: PermissionStatus = 'granted';
  const events: PublishParams[] = [
    { type: 'permissions.v2.phase', payload: { phase: 'PRECHECK' } },
    { type: 'tray.status_updated', payload: trayStatusPayload(view.tray) },
  ];
  for (const permission of settings.order) {
    if (reading.statuses[permission] !== granted || view.statuses[permission] !== granted) return null;
    events.push({ type: 'permissions.status_checked', payload: { permission, status: granted } });
  }
  events.push(
    { type: 'permissions.v2.phase', payload: { phase: 'COMPLETED' } },
    { type: 'permissions.first_run_completed', payload: { results: {}, warnings: [], restart_outcome: null } },
  );
  return events;
}
