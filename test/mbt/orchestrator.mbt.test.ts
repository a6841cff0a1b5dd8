/**
 * Model-based tests of the root orchestrator and the tray, generated with `xstate/graph` from the
 * production machines: precheck results, every step outcome, every answer of the relaunch gate, a quit
 * at every point and a crash (persist → JSON → restore → `runtime.booted`) at every step. Each path is
 * replayed against a real root actor whose children are the real machines (with inert effects).
 * Invariants: the phase is one of the seven; the tray never leaves its three statuses and their colours,
 * shows the lock only during the first run; the gate is asked at most once per process and never after
 * the user quit in that process; a restart is requested only when the decision allowed it.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import { getShortestPaths, type StatePath } from 'xstate/graph';
import { orchestratorMachine, type OrchestratorContext } from '../../machines/orchestrator.machine.js';
import { permissionStepMachine } from '../../machines/permission-step.machine.js';
import { quitIntentMachine } from '../../machines/quit-intent.machine.js';
import { relaunchGateMachine } from '../../machines/relaunch-gate.machine.js';
import { TRAY_COLORS, trayMachine } from '../../machines/tray.machine.js';
import { PHASES, TRAY_STATUSES, type PermissionName } from '../../machines/types.js';
import { testSettings } from '../support/settings.js';

type AnyEvent = { type: string; [key: string]: unknown };
const settings = testSettings({ order: ['microphone', 'screen_capture'] });
const MAX_BOOTS = 2;

function phaseOf(value: unknown): string {
  return typeof value === 'string' ? value : Object.keys(value as object)[0]!;
}
function leafOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as object)[0]!;
  return `${key}.${leafOf(inner)}`;
}

const READINGS = [
  { microphone: 'granted', screen_capture: 'granted' },
  { microphone: 'not_determined', screen_capture: 'granted' },
  { microphone: 'not_determined', screen_capture: 'denied' },
];

function eventsFor(snapshot: { value: unknown; context: OrchestratorContext }): AnyEvent[] {
  const state = leafOf(snapshot.value);
  const { context } = snapshot;
  const events: AnyEvent[] = [{ type: 'tray.quit_clicked' }];
  if (state === 'PRECHECK' || state === 'POST_RESTART_VERIFY.checking') {
    const id = state === 'PRECHECK' ? 'precheck' : 'verify';
    for (const statuses of READINGS) events.push({ type: `xstate.done.actor.${id}`, output: { statuses, errors: {}, at: 1_000 } });
  }
  if (state.endsWith('.step')) {
    const permission = context.queue[0] as PermissionName;
    for (const outcome of ['granted', 'pending_restart', 'denied']) {
      events.push({
        type: 'xstate.done.actor.step',
        output: { permission, outcome, status: outcome === 'granted' ? 'granted' : 'denied', requested: true },
      });
    }
  }
  if (state === 'RESTART_REQUESTED.waiting') {
    events.push(
      { type: 'gate.handed_off', newPid: 2 },
      { type: 'gate.cancelled' },
      { type: 'gate.rejected', reason: 'budget_spent', source: 'orchestrator' },
      { type: 'gate.unverified', message: 'no successor' },
    );
  }
  if (context.boots < MAX_BOOTS) events.push({ type: 'runtime.booted', bootId: `b${context.boots + 1}`, pid: context.boots + 1, at: 0 });
  return events;
}

/** Counters in context multiply states: key on what decides behaviour (XSTATE-NOTES). */
function serialize(snapshot: { value: unknown; context: OrchestratorContext }): string {
  const c = snapshot.context;
  return JSON.stringify([
    snapshot.value,
    c.queue,
    Object.values(c.results).map((r) => `${r?.permission}:${r?.outcome}`),
    c.statuses,
    c.decision?.allowed ?? null,
    c.restartOutcome,
    c.warnings,
    c.userQuit,
    c.boots,
  ]);
}

const traversable = orchestratorMachine.provide({
  actors: {
    relaunchGate: relaunchGateMachine.provide({ actions: { notifyParent: () => {} } }),
    quitIntent: quitIntentMachine.provide({ actions: { notifyParent: () => {} } }),
    permissionStep: permissionStepMachine.provide({ actions: { notifyParent: () => {} } }),
  },
});

class RootWorld {
  actor!: AnyActorRef;
  boot = 0;
  tray: { status: string; color: string; overlay: string | null; phase: string; boot: number }[] = [];
  gateAsked: { boot: number; accepted: boolean }[] = [];
  quitIn = new Set<number>();

  constructor() {
    this.actor = this.create(undefined);
  }

  private create(snapshot: unknown) {
    const inertGate = relaunchGateMachine.provide({
      actors: { waitDelay: fromCallback(() => {}) as never, commitLedger: (fromPromise(() => new Promise<never>(() => {})) as never) },
      actions: {
        publish: (_, params) => {
          if (params.type === 'restart.requested') this.gateAsked.push({ boot: this.boot, accepted: true });
          if (params.type === 'restart.rejected') this.gateAsked.push({ boot: this.boot, accepted: false });
        },
        executeRelaunch: () => expect.fail('no relaunch can execute with inert timers'),
        abortRelaunch: () => {},
      },
    });
    const logic = orchestratorMachine.provide({
      actors: {
        readStatuses: (fromPromise(() => new Promise<never>(() => {})) as never),
        relaunchGate: inertGate,
        permissionStep: permissionStepMachine.provide({
          actors: {
            readStatus: (fromPromise(() => new Promise<never>(() => {})) as never),
            waitInterval: fromCallback(() => {}),
            runTimebox: fromCallback(() => {}),
          },
          actions: { publish: () => {}, activatePermission: () => {}, openSettings: () => {} },
        }),
        quitIntent: quitIntentMachine.provide({ actions: { publish: () => {} } }),
        tray: trayMachine.provide({
          actions: {
            publish: (_, params) => {
              const payload = params.payload as { status: string; color: string; overlay: string | null };
              this.tray.push({ ...payload, phase: this.actor ? phaseOf(this.actor.getSnapshot().value) : 'PRECHECK', boot: this.boot });
            },
          },
        }),
      },
      actions: { publish: () => {} },
    });
    const actor = createActor(logic, {
      input: { settings, bootId: `b${this.boot}` },
      ...(snapshot ? { snapshot: snapshot as never } : {}),
    });
    actor.subscribe({ error: (error) => expect.fail(`the root actor failed: ${String(error)}`) });
    actor.start();
    return actor;
  }

  send(event: AnyEvent) {
    if (event.type === 'tray.quit_clicked') this.quitIn.add(this.boot);
    if (event.type === 'runtime.booted') {
      this.crash(event);
      return;
    }
    this.actor.send(event as never);
  }

  /** kill -9 and relaunch from the persisted snapshot. */
  crash(event: AnyEvent) {
    const persisted = JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot()));
    this.actor.stop();
    this.boot += 1;
    this.actor = this.create(persisted);
    this.actor.send({ ...event, settings } as never);
  }

  check() {
    expect(PHASES).toContain(phaseOf(this.actor.getSnapshot().value));
    for (const update of this.tray) {
      expect(TRAY_STATUSES).toContain(update.status);
      expect(update.color).toBe(TRAY_COLORS[update.status as keyof typeof TRAY_COLORS]);
    }
    const last = this.tray.at(-1);
    const phase = phaseOf(this.actor.getSnapshot().value);
    if (last && (phase === 'COMPLETED' || phase === 'FAILED') && this.tray.some((t) => t.boot === this.boot)) {
      expect(last.overlay, 'the badge goes after the first run').toBeNull();
    }
    const perBoot = new Map<number, number>();
    for (const ask of this.gateAsked.filter((a) => a.accepted)) perBoot.set(ask.boot, (perBoot.get(ask.boot) ?? 0) + 1);
    for (const count of perBoot.values()) expect(count, 'the gate arms at most once per process').toBeLessThanOrEqual(1);
    for (const ask of this.gateAsked) {
      if (ask.accepted) expect(this.quitIn.has(ask.boot), 'no restart is armed after a quit in that process').toBe(false);
    }
    const context = this.actor.getSnapshot().context as OrchestratorContext;
    if (phaseOf(this.actor.getSnapshot().value) === 'RESTART_REQUESTED' && context.decision) {
      expect(context.decision.allowed, 'a restart is requested only when the decision allowed it').toBe(true);
    }
  }
}

function replay(path: StatePath<any, any>, crashAt: number | null) {
  const world = new RootWorld();
  path.steps.forEach((step, index) => {
    if (index === crashAt) world.crash({ type: 'runtime.booted', bootId: `crash${index}`, pid: 99, at: 0 });
    world.send(step.event as AnyEvent);
    if (crashAt === null) expect(world.actor.getSnapshot().value).toEqual(step.state.value);
    world.check();
  });
}

describe('orchestrator and tray — model-based (MBT-1, SPEC §3, TR-1..3)', () => {
  it('every precheck, step outcome, gate answer, a quit at every point and a crash at every step', () => {
    const paths = getShortestPaths(traversable, {
      events: eventsFor as never,
      input: { settings, bootId: 'b0' },
      serializeState: serialize as never,
      limit: 50_000,
    });
    let replays = 0;
    for (const path of paths) {
      replay(path, null);
      replays++;
      for (let crashAt = 0; crashAt < path.steps.length; crashAt++) {
        replay(path, crashAt);
        replays++;
      }
    }
    const phases = new Set(paths.map((p) => phaseOf(p.state.value)));
    console.log(`orchestrator: ${paths.length} generated paths, ${replays} replays; phases reached: ${[...phases].join(', ')}`);
    expect([...phases].sort()).toEqual(PHASES.filter((p) => p !== 'DECISION').sort());
  }, 120_000);
});
