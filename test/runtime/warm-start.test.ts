/**
 * The warm launch without the machines (`src/runtime/warm-start.ts`) against the machines themselves:
 * wherever it answers, the real service restored from the same ledger, with the same settings and the
 * same statuses, publishes the same events in the same order, settles COMPLETED with the same restart
 * count, and leaves a snapshot with the same durable projection (so the ledger store writes nothing).
 * The ledgers come from real runs of the service (`World`) and from one-field mutations of them.
 */
import { describe, expect, it } from 'vitest';
import type { StatusesReading } from '../../machines/effects.js';
import type { OrchestratorSettings, PermissionName, PermissionStatus } from '../../machines/types.js';
import { PERMISSIONS } from '../../machines/types.js';
import type { PermissionBackend } from '../../src/backend/permission-backend.js';
import { ManualClock } from '../../src/clock.js';
import { canonicalJson } from '../../src/ledger/canonical-json.js';
import { orchestratorDurableProjection } from '../../src/runtime/durable-projection.js';
import { validateOrchestratorSnapshot } from '../../src/runtime/snapshot.js';
import { warmLaunchEvents, warmLedgerView } from '../../src/runtime/warm-start.js';
import { createFirstRunService } from '../../src/service/create-first-run-service.js';
import { flush, World } from '../support/world.js';
import { testSettings } from '../support/settings.js';

type Json = Record<string, any>;
type Reading = Partial<Record<PermissionName, PermissionStatus | Error>>;

const granted = (): Reading => Object.fromEntries(PERMISSIONS.map((p) => [p, 'granted']));

function backendOf(reading: Reading): PermissionBackend {
  return {
    name: 'fixed',
    getStatus: async (permission) => {
      const status = reading[permission];
      if (status instanceof Error) throw status;
      return status ?? 'not_determined';
    },
    activate: async () => {},
    openSettings: async () => {},
  };
}

function statusesReading(reading: Reading, order: readonly PermissionName[]): StatusesReading {
  const result: StatusesReading = { statuses: {}, errors: {}, at: 0 };
  for (const permission of order) {
    const status = reading[permission];
    if (status instanceof Error) result.errors[permission] = status.message;
    else result.statuses[permission] = status ?? 'not_determined';
  }
  return result;
}

/** What the machines do from `snapshot`: the events (without ts/pid), how it settled, the snapshot left. */
async function runMachines(snapshot: unknown, settings: OrchestratorSettings, reading: Reading) {
  const clock = new ManualClock();
  const service = createFirstRunService({ settings, backend: backendOf(reading), clock, bootId: 'warm-boot', snapshot: structuredClone(snapshot) });
  const events: { type: string; payload: Json }[] = [];
  service.on('*', ({ ts: _ts, pid: _pid, type, ...payload }) => events.push({ type, payload }));
  let settled: Awaited<ReturnType<typeof service.whenSettled>> | null = null;
  void service.whenSettled().then((result) => (settled = result));
  service.start();
  await flush();
  const after = service.getPersistedSnapshot();
  service.actor.stop();
  return { events, settled: settled as Awaited<ReturnType<typeof service.whenSettled>> | null, after };
}

const projectionOf = (snapshot: unknown) => canonicalJson(orchestratorDurableProjection(snapshot) ?? null);
const restartCountOf = (snapshot: unknown) => (snapshot as Json).children.relaunchGate.snapshot.context.restartCount as number;

/** Ledgers that real runs leave: the last committed snapshot of each scenario, and of one warm launch after it. */
async function realLedgers(): Promise<{ name: string; snapshot: unknown; settings: OrchestratorSettings }[]> {
  const ledgers: { name: string; snapshot: unknown; settings: OrchestratorSettings }[] = [];
  const scenario = async (name: string, world: World, before?: (world: World) => void) => {
    const first = world.launch();
    before?.(world);
    void first;
    await world.settle();
    ledgers.push({ name: `${name}: after the first run`, snapshot: world.lastCommitted!.snapshot, settings: world.settings });
    await world.settle();
    ledgers.push({ name: `${name}: after a warm launch`, snapshot: world.lastCommitted!.snapshot, settings: world.settings });
  };
  const allGranted = Object.fromEntries(PERMISSIONS.map((p) => [p, { status: 'granted' as const }]));
  await scenario('all granted', new World({ permissions: allGranted }));
  await scenario('listening tray', new World({ permissions: allGranted }), (world) => world.current!.setAppMode('LISTENING'));
  await scenario(
    'one restart',
    new World({
      permissions: {
        ...allGranted,
        screen_capture: { status: 'not_determined', onRequest: { result: 'granted', afterMs: 100, afterRestart: true } },
      },
    }),
  );
  await scenario('failed', new World({ permissions: { ...allGranted, accessibility: { status: 'denied' } } }));
  await scenario('kill switch', new World({ permissions: allGranted, settings: testSettings({ killSwitch: true }) }));
  return ledgers;
}

/** One field changed at a time: each would make the machines publish or commit something else. */
const MUTATIONS: Record<string, (s: Json) => void> = {
  'a decision kept': (s) => (s.context.decision = { allowed: false, blockedBy: ['nothing_requested'], dryRun: false, hardAllPassed: true, needsRestart: false }),
  'a warning': (s) => (s.context.warnings = ['restart_unverified']),
  'a result': (s) => (s.context.results = { microphone: { permission: 'microphone', outcome: 'granted', status: 'granted', requested: false } }),
  'a restart outcome': (s) => (s.context.restartOutcome = 'verified'),
  'a quit kept in the root': (s) => (s.context.userQuit = true),
  'a quit intent': (s) => (s.children.quitIntent.snapshot.value = 'quitRequested'),
  'a busy gate': (s) => (s.children.relaunchGate.snapshot.context.busy = true),
  'another restart delay in the gate': (s) => (s.children.relaunchGate.snapshot.context.delayMs += 1),
  'another kill switch in the gate': (s) => (s.children.relaunchGate.snapshot.context.killSwitch = !s.children.relaunchGate.snapshot.context.killSwitch),
  'a gate quit': (s) => (s.children.relaunchGate.snapshot.context.userQuit = true),
  'the tray drawing first-run': (s) => Object.assign(s.children.tray.snapshot, { value: 'firstRun', context: { ...s.children.tray.snapshot.context, overlay: { badge: 'lock', color: '#FF3B30' } } }),
  'a tray processing': (s) => (s.children.tray.snapshot.context.status = 'PROCESSING'),
  'a status recorded as denied': (s) => (s.context.statuses.accessibility = 'denied'),
  'a status never recorded': (s) => delete s.context.statuses.microphone,
  'other settings in the ledger': (s) => (s.context.settings = { ...s.context.settings, confirmRetries: s.context.settings.confirmRetries + 1 }),
  'FAILED': (s) => (s.value = 'FAILED'),
  'a history': (s) => (s.historyValue = { x: [] }),
};

const SETTINGS_VARIANTS: Record<string, (settings: OrchestratorSettings) => OrchestratorSettings> = {
  'the same settings': (settings) => settings,
  'a shorter restart delay': (settings) => ({ ...settings, restart: { ...settings.restart, delayMs: settings.restart.delayMs + 1 } }),
  'dry run': (settings) => ({ ...settings, dryRun: true }),
  'two permissions': (settings) => ({ ...settings, order: ['microphone', 'accessibility'] }),
  'dev force': (settings) => ({ ...settings, devForcePermissions: true }),
};

const READINGS: Record<string, () => Reading> = {
  'all granted': granted,
  'one revoked': () => ({ ...granted(), accessibility: 'denied' }),
  'one read failed': () => ({ ...granted(), microphone: new Error('TCC unavailable') }),
};

describe('the warm launch without the machines', () => {
  it('answers only where the machines do the same, and for every ledger a warm launch leaves', async () => {
    const ledgers = await realLedgers();
    const cases: { name: string; snapshot: Json; settings: OrchestratorSettings }[] = [];
    for (const ledger of ledgers) {
      cases.push({ name: ledger.name, snapshot: ledger.snapshot as Json, settings: ledger.settings });
      for (const [mutation, mutate] of Object.entries(MUTATIONS)) {
        const snapshot = structuredClone(ledger.snapshot) as Json;
        mutate(snapshot);
        cases.push({ name: `${ledger.name}, ${mutation}`, snapshot, settings: ledger.settings });
      }
    }
    const answered: string[] = [];
    for (const { name, snapshot, settings: ledgerSettings } of cases) {
      for (const [variant, vary] of Object.entries(SETTINGS_VARIANTS)) {
        const settings = vary(ledgerSettings);
        const view = warmLedgerView(snapshot, settings);
        for (const [readingName, makeReading] of Object.entries(READINGS)) {
          const reading = makeReading();
          const events = view && warmLaunchEvents(view, settings, statusesReading(reading, settings.order));
          if (!view || !events) continue;
          const label = `${name} / ${variant} / ${readingName}`;
          answered.push(label);
          // A snapshot it answers for is one the machines accept...
          expect(() => validateOrchestratorSnapshot(snapshot), label).not.toThrow();
          const machines = await runMachines(snapshot, settings, reading);
          // ...and they publish the same, settle the same, and leave nothing new to commit.
          expect(events.map(({ type, payload }) => ({ type, payload: payload ?? {} })), label).toEqual(machines.events);
          expect(machines.settled, label).toEqual({ outcome: 'completed', phase: 'COMPLETED', restartCount: view.restartCount, warnings: [] });
          expect(restartCountOf(machines.after), label).toBe(restartCountOf(snapshot));
          expect(projectionOf(machines.after), label).toBe(projectionOf(snapshot));
        }
      }
    }
    // It is not vacuous: it answers for each ledger a warm launch leaves, with the settings that left it.
    for (const ledger of ledgers.filter((l) => l.name.endsWith('after a warm launch') && !l.name.startsWith('failed'))) {
      expect(answered, ledger.name).toContain(`${ledger.name} / the same settings / all granted`);
    }
    expect(answered.some((label) => /one revoked|one read failed|dev force|a decision kept|FAILED/.test(label))).toBe(false);
  });

  it('takes the restart count and the tray from the ledger', async () => {
    const world = new World({ permissions: Object.fromEntries(PERMISSIONS.map((p) => [p, { status: 'granted' as const }])) });
    world.launch().setAppMode('PROCESSING');
    await world.settle();
    await world.settle();
    const snapshot = structuredClone(world.lastCommitted!.snapshot) as Json;
    snapshot.children.relaunchGate.snapshot.context.restartCount = 1;
    const view = warmLedgerView(snapshot, world.settings);
    expect(view).toEqual({ restartCount: 1, statuses: snapshot.context.statuses, tray: { status: 'PROCESSING', overlay: null } });
    const events = warmLaunchEvents(view!, world.settings, statusesReading(granted(), world.settings.order))!;
    expect(events[1]).toEqual({ type: 'tray.status_updated', payload: { status: 'PROCESSING', color: '#FF9500', overlay: null, overlay_color: null } });
  });

  it('says null for anything that is not a snapshot', () => {
    for (const value of [null, 1, 'COMPLETED', [], {}, { value: 'COMPLETED', status: 'active' }]) {
      expect(warmLedgerView(value, testSettings())).toBeNull();
    }
  });
});
