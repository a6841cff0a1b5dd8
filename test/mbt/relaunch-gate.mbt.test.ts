/**
 * Model-based tests of the relaunch gate, generated with `xstate/graph` from the production machine.
 *
 * Paths: the shortest path to every reachable state, and every such path extended by every event
 * (so every transition is taken). Each path is replayed against a real actor; at every prefix the
 * process "crashes" (persist → JSON → restore in a new process → `runtime.booted`), restored either
 * from the latest snapshot or from the last snapshot durably committed by `commitLedger` (the ledger
 * may lag the memory by everything after the last forced commit), and the restored gate is then driven
 * to rest by the world (timers fire, commits land, successors come up, the owner asks again).
 *
 * Invariants on every path (SPEC §3): at most one restart executed, whatever crashes happen; every
 * execution happens after a durable commit of restart_count ≥ 1; a quit before execution in a process
 * means no execution in it; restart_count only grows and never exceeds 1.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import type { StatePath } from 'xstate/graph';
import {
  relaunchGateMachine,
  type RelaunchGateContext,
  type RelaunchGateInput,
} from '../../machines/relaunch-gate.machine.js';
import {
  RELAUNCH_GATE_INPUTS,
  relaunchGateEvents,
  relaunchGateShortestPaths,
  type GateModelEvent,
} from '../../src/testing/relaunch-gate-model.js';

type GateEvent = GateModelEvent;
const INPUTS = RELAUNCH_GATE_INPUTS;
const eventsFor = relaunchGateEvents;

interface Execution {
  bootId: string;
  committedCount: number;
  quitBefore: boolean;
}

/** The world around the gate: executions, the durable ledger, quits — across "processes". */
class GateWorld {
  executions: Execution[] = [];
  committed: unknown = null;
  quitIn = new Set<string>();
  maxCount = 0;
  actor!: AnyActorRef;

  constructor(private readonly input: RelaunchGateInput) {
    this.actor = this.create(undefined);
  }

  private create(snapshot: unknown) {
    const logic = relaunchGateMachine.provide({
      actors: {
        waitDelay: fromCallback(() => {}),
        commitLedger: fromPromise(() => new Promise<{ generation: number }>(() => {})),
      },
      actions: {
        notifyParent: () => {},
        publish: () => {},
        abortRelaunch: () => {},
        executeRelaunch: ({ context }) => {
          const committedCount =
            (this.committed as { context?: { restartCount?: number } } | null)?.context?.restartCount ?? 0;
          this.executions.push({ bootId: context.bootId, committedCount, quitBefore: this.quitIn.has(context.bootId) });
        },
      },
    });
    const actor = createActor(logic, {
      input: this.input,
      ...(snapshot ? { snapshot: JSON.parse(JSON.stringify(snapshot)) as never } : {}),
    });
    actor.subscribe({ error: (error) => expect.fail(`the gate actor failed: ${String(error)}`) });
    actor.start();
    return actor;
  }

  get context(): RelaunchGateContext {
    return this.actor.getSnapshot().context as RelaunchGateContext;
  }

  get value(): string {
    return String(this.actor.getSnapshot().value);
  }

  send(event: GateEvent) {
    if (event.type === 'user.quit') this.quitIn.add(this.context.bootId);
    if (event.type === 'xstate.done.actor.commitLedger' && this.value === 'committing') {
      // What commitLedger makes durable: the snapshot as it is while committing.
      this.committed = JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot()));
    }
    this.actor.send(event as never);
    this.check();
  }

  /** kill -9 and relaunch: restore from the latest or the last committed snapshot, then boot. */
  crash(from: 'latest' | 'committed', bootId: string) {
    const snapshot =
      from === 'committed' && this.committed ? this.committed : JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot()));
    this.actor.stop();
    this.actor = this.create(snapshot);
    this.actor.send({ type: 'runtime.booted', bootId, pid: 2, at: 0 });
    this.check();
  }

  /** The world drives the gate to rest: timers fire, commits land, successors come up, the owner asks again. */
  settle() {
    let askedAgain = false;
    for (let i = 0; i < 10; i++) {
      const value = this.value;
      if (value === 'armed') this.send({ type: 'gate.delay_elapsed' });
      else if (value === 'deferred') this.send({ type: 'app.busy_changed', busy: false });
      else if (value === 'committing') this.send({ type: 'xstate.done.actor.commitLedger', output: { generation: 2 } });
      else if (value === 'executing') this.send({ type: 'relaunch.succeeded', newPid: 4343 });
      else if (!askedAgain) {
        askedAgain = true;
        this.send({ type: 'restart.request', requestId: 'again', source: 'orchestrator' });
      } else break;
    }
  }

  check() {
    const count = this.context.restartCount;
    expect(count, 'restart_count never decreases').toBeGreaterThanOrEqual(this.maxCount);
    expect(count, 'restart_count never exceeds 1').toBeLessThanOrEqual(1);
    this.maxCount = count;
    expect(this.executions.length, 'at most one restart executed, ever').toBeLessThanOrEqual(1);
    for (const execution of this.executions) {
      expect(execution.committedCount, 'restart_count 1 is durable before the successor starts').toBe(1);
      expect(execution.quitBefore, 'a quit before execution means no execution').toBe(false);
    }
  }
}

function replay(path: StatePath<any, any>, input: RelaunchGateInput, crashAt: number | null, from: 'latest' | 'committed') {
  const world = new GateWorld(input);
  path.steps.forEach((step, index) => {
    if (index === crashAt) {
      world.crash(from, `c${index}`);
      world.settle();
      return;
    }
    if (crashAt !== null && index > crashAt) return;
    const event = step.event as GateEvent;
    if (event.type === 'runtime.booted') world.crash('latest', String(event.bootId));
    else world.send(event);
    if (crashAt === null) {
      // Exact replay: the real actor (restores included) is where the graph says.
      expect(world.actor.getSnapshot().value).toEqual(step.state.value);
      expect(world.context.restartCount).toBe(step.state.context.restartCount);
    }
  });
  if (crashAt === null) {
    world.crash(from, 'end');
    world.settle();
  }
  return world;
}

function generate(input: RelaunchGateInput) {
  const shortest = relaunchGateShortestPaths(input);
  const extended: StatePath<any, any>[] = [];
  for (const path of shortest) {
    for (const event of eventsFor(path.state as never)) {
      extended.push({ ...path, steps: [...path.steps, { event, state: path.state }] } as StatePath<any, any>);
    }
  }
  return { shortest, extended };
}

describe('relaunch gate — model-based (MBT-1, SPEC §3)', () => {
  for (const [name, input] of Object.entries(INPUTS)) {
    it(`${name}: every path, a crash at every step, both ledger variants — ≤ 1 restart, commit before relaunch, quit wins`, () => {
      const { shortest, extended } = generate(input);
      let replays = 0;
      for (const path of shortest) {
        for (const from of ['latest', 'committed'] as const) {
          replay(path, input, null, from);
          replays++;
          for (let crashAt = 0; crashAt < path.steps.length; crashAt++) {
            replay(path, input, crashAt, from);
            replays++;
          }
        }
      }
      for (const path of extended) {
        // Extended paths end with an arbitrary event; the replay only checks the invariants.
        const world = new GateWorld(input);
        for (const step of path.steps) {
          const event = step.event as GateEvent;
          if (event.type === 'runtime.booted') world.crash('latest', String(event.bootId));
          else world.send(event);
        }
        world.crash('committed', 'end');
        world.settle();
        replays++;
      }
      console.log(`relaunch gate [${name}]: ${shortest.length} shortest paths, ${extended.length} extended paths, ${replays} replays`);
      expect(shortest.length).toBeGreaterThan(10);
    });
  }

  it('the generated paths reach an executed restart and a crash right after it (the dangerous window)', () => {
    const { shortest } = generate(INPUTS.default!);
    const executed = shortest.filter((p) => (p.state.context as RelaunchGateContext).last.kind === 'executed');
    expect(executed.length).toBeGreaterThan(0);
    const restoredCommitting = shortest.filter((p) =>
      p.steps.some((s, i) => s.event.type === 'runtime.booted' && p.steps[i - 1]?.state.value === 'committing'),
    );
    expect(restoredCommitting.length).toBeGreaterThan(0);
  });
});
