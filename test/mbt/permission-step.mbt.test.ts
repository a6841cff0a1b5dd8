/**
 * Model-based tests of the permission step, generated with `xstate/graph` from the production machine:
 * every status a read can return (and a failed read), ticks, the timebox, for every permission kind and
 * config variant. Each path is replayed against a real actor, with a crash (persist → JSON → restore in a
 * new process → `runtime.booted`) at every step. Invariants: the outcome is one of FR-4's six and follows
 * its rules, the prompt fires at most once per process (never when blocked), a restricted permission
 * shows nothing, the timebox keeps its deadline across a restore, and `advance_on_timeout=false` never
 * ends a step by the timebox.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import { getShortestPaths, type StatePath } from 'xstate/graph';
import {
  permissionStepMachine,
  type PermissionStepContext,
  type PermissionStepInput,
} from '../../machines/permission-step.machine.js';
import { PERMISSION_STATUSES, STEP_OUTCOMES, type PermissionName, type StepSettings } from '../../machines/types.js';

const traversable = permissionStepMachine.provide({ actions: { notifyParent: () => {} } });
type StepEvent = { type: string; [key: string]: unknown };

const READING_STATES = ['reading', 'confirmRead', 'rechecking', 'pollRead'];
const WAITING_STATES = ['confirmWait', 'pollWait'];

function leaf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as object)[0]!;
  return typeof inner === 'string' ? inner : `${key}.${leaf(inner)}`;
}

function eventsFor(snapshot: { value: unknown }): StepEvent[] {
  const state = leaf(snapshot.value);
  const events: StepEvent[] = [];
  if (READING_STATES.includes(state)) {
    for (const status of [...PERMISSION_STATUSES, null]) {
      events.push({ type: 'xstate.done.actor.readStatus', output: { status, at: 1_000, ...(status ? {} : { error: 'read failed' }) } });
    }
  }
  if (WAITING_STATES.includes(state)) events.push({ type: 'step.tick' });
  if (state !== 'finished' && state !== 'reading') events.push({ type: 'step.timebox_expired' });
  return events;
}

function settings(permission: PermissionName): StepSettings {
  return {
    timeoutMs: 15_000,
    pollIntervalMs: 1_000,
    hard: true,
    needsRestart: permission === 'screen_capture' || permission === 'input_monitoring',
    assumeGrantedOnTimeout: permission === 'microphone',
  };
}

const VARIANTS: [string, PermissionStepInput][] = [];
for (const permission of ['microphone', 'input_monitoring', 'accessibility', 'screen_capture'] as const) {
  for (const advanceOnTimeout of [true, false]) {
    for (const requestedBefore of [false, true]) {
      VARIANTS.push([
        `${permission} advance=${advanceOnTimeout} requestedBefore=${requestedBefore}`,
        {
          permission,
          settings: settings(permission),
          advanceOnTimeout,
          confirmRetries: 2,
          confirmIntervalMs: 2_000,
          requestedBefore,
          promptBlocked: false,
          knownStatus: null,
        },
      ]);
    }
  }
}
VARIANTS.push([
  'screen_capture prompt blocked (already shown in this process)',
  { ...VARIANTS.find(([name]) => name.startsWith('screen_capture advance=true requestedBefore=false'))![1], promptBlocked: true },
]);

class StepWorld {
  actor!: AnyActorRef;
  boot = 1;
  activations: number[] = [];
  settingsOpened: number[] = [];
  timeboxInputs: (number | null)[] = [];
  firstStatus: string | null = null;

  constructor(private readonly input: PermissionStepInput) {
    this.actor = this.create(undefined);
  }

  private create(snapshot: unknown) {
    const logic = permissionStepMachine.provide({
      actors: {
        readStatus: (fromPromise(() => new Promise<never>(() => {})) as never),
        waitInterval: fromCallback(() => {}),
        runTimebox: fromCallback(({ input }: { input: { ms: number | null; maxMs: number } }) => {
          this.timeboxInputs.push(input.ms);
        }),
      },
      actions: {
        notifyParent: () => {},
        publish: () => {},
        activatePermission: () => {
          this.activations.push(this.boot);
        },
        openSettings: () => {
          this.settingsOpened.push(this.boot);
        },
      },
    });
    const actor = createActor(logic, { input: this.input, ...(snapshot ? { snapshot: snapshot as never } : {}) });
    actor.subscribe({ error: (error) => expect.fail(`the step actor failed: ${String(error)}`) });
    actor.start();
    return actor;
  }

  get context(): PermissionStepContext {
    return this.actor.getSnapshot().context as PermissionStepContext;
  }

  send(event: StepEvent) {
    if (event.type === 'xstate.done.actor.readStatus' && this.firstStatus === null) {
      this.firstStatus = String((event.output as { status: unknown }).status);
    }
    this.actor.send(event as never);
  }

  crash() {
    const before = this.context.remainingMs;
    const expired = this.context.timeboxExpired;
    const persisted = JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot()));
    this.actor.stop();
    this.boot += 1;
    this.timeboxInputs = [];
    this.actor = this.create(persisted);
    this.actor.send({ type: 'runtime.booted', bootId: `b${this.boot}`, pid: this.boot, at: 0 });
    // FR-3: the restored step goes on with the time it had left at its last commit, never more than its
    // timebox, and the timebox is re-armed with it (or not at all once it ended with advance=false).
    expect(this.context.remainingMs).toBe(before === null ? null : Math.min(before, this.input.settings.timeoutMs));
    if (leaf(this.actor.getSnapshot().value) !== 'finished' && before !== null && this.actor.getSnapshot().value !== 'reading') {
      expect(this.timeboxInputs).toContain(expired ? null : before);
    }
  }

  check() {
    const perBoot = new Map<number, number>();
    for (const boot of this.activations) perBoot.set(boot, (perBoot.get(boot) ?? 0) + 1);
    for (const count of perBoot.values()) expect(count, 'the prompt fires at most once per process').toBeLessThanOrEqual(1);
    if (this.input.promptBlocked) expect(this.activations, 'a blocked Screen Capture prompt never fires').toEqual([]);
    if (this.firstStatus === 'restricted') {
      expect(this.activations, 'restricted: nothing shown').toEqual([]);
      expect(this.settingsOpened, 'restricted: nothing shown').toEqual([]);
    }
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'done') {
      const output = snapshot.output as { outcome: string };
      expect(STEP_OUTCOMES).toContain(output.outcome);
      if (this.firstStatus === 'restricted') expect(output.outcome).toBe('restricted');
    }
  }
}

function replay(path: StatePath<any, any>, input: PermissionStepInput, crashAt: number | null) {
  const world = new StepWorld(input);
  path.steps.forEach((step, index) => {
    if (index === crashAt) world.crash();
    const event = step.event as StepEvent;
    const before = world.actor.getSnapshot().status;
    world.send(event);
    if (crashAt === null) expect(world.actor.getSnapshot().value).toEqual(step.state.value);
    if (event.type === 'step.timebox_expired' && !input.advanceOnTimeout && before === 'active') {
      expect(world.actor.getSnapshot().status, 'advance_on_timeout=false: the timebox never ends the step').toBe('active');
    }
    world.check();
  });
  if (crashAt === null) {
    world.crash();
    world.check();
  }
}

describe('permission step — model-based (MBT-1, FR-3, FR-4, FR-6)', () => {
  it('every outcome, timeout and re-read, with a crash at every step, for every permission and config', () => {
    let paths = 0;
    let replays = 0;
    const outcomes = new Set<string>();
    for (const [, input] of VARIANTS) {
      const generated = getShortestPaths(traversable, {
        events: eventsFor as never,
        input,
        limit: 20_000,
      });
      paths += generated.length;
      for (const path of generated) {
        const end = path.state as unknown as { status: string; output?: { outcome: string } };
        if (end.status === 'done' && end.output) outcomes.add(end.output.outcome);
        replay(path, input, null);
        replays++;
        for (let crashAt = 0; crashAt < path.steps.length; crashAt++) {
          replay(path, input, crashAt);
          replays++;
        }
      }
    }
    console.log(`permission step: ${VARIANTS.length} variants, ${paths} generated paths, ${replays} replays; outcomes reached: ${[...outcomes].sort().join(', ')}`);
    expect([...outcomes].sort()).toEqual([...STEP_OUTCOMES].sort());
  });
});
