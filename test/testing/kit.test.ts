/**
 * The testing kit itself (src/testing, shipped as `first-run-orchestrator/testing`): inert effects found
 * in any machine, the two failures issue 12 reported for the former kit, the generator's coverage
 * bookkeeping, and failures returned as data.
 */
import { assign, createActor, fromPromise, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  generatePaths,
  inertOrchestrator,
  inertRelaunchGate,
  maximalPaths,
  orchestratorModel,
  provideInert,
  relaunchGateModel,
  relaunchGateShortestPaths,
  RELAUNCH_GATE_INPUTS,
  replayPath,
  settingsFromConfig,
  type EffectCall,
  type TestModel,
} from '../../src/testing/index.js';

const counter = setup({
  types: { context: {} as { n: number } },
  actors: { fetchValue: fromPromise(async () => 'real fetch: must not run in a test') },
  actions: { beep: (_, _params: { loud: boolean }) => {} },
}).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'idle',
  states: {
    idle: { on: { go: { target: 'loading', actions: [assign({ n: ({ context }) => context.n + 1 }), { type: 'beep', params: { loud: true } }] } } },
    loading: { invoke: { id: 'fetch', src: 'fetchValue', onDone: 'idle' }, on: { extra: 'idle' } },
  },
});

const counterModel = (machine = counter): TestModel => ({
  name: 'counter',
  machine,
  input: undefined,
  standalone: true,
  events: { go: () => [{ type: 'go' }], 'xstate.done.actor.fetch': () => [{ type: 'xstate.done.actor.fetch', output: 1 }] },
  bootEvent: (boot) => ({ type: 'runtime.booted', boot }),
  maxBoots: 0,
  serializeState: (s) => JSON.stringify(s.value),
  watch: () => ({ onEffect: () => {}, check: () => [] }),
});

describe('provideInert', () => {
  it('should find the effects of any machine: record its own actions, leave XState\'s, never run its actors', () => {
    const calls: EffectCall[] = [];
    const actor = createActor(provideInert(counter, { record: (call) => calls.push(call) })).start();
    actor.send({ type: 'go' });
    expect(actor.getSnapshot().context.n).toBe(1); // assign still runs
    expect(actor.getSnapshot().value).toBe('loading'); // the fetch never answers
    expect(calls).toEqual([
      { machine: 'counter', effect: 'beep', kind: 'action', params: { loud: true }, context: { n: 1 } },
      { machine: 'counter', effect: 'fetchValue', kind: 'actor', params: undefined },
    ]);
  });

  it('should run the exported relaunch gate and traverse it (formerly: "waitDelay" was not provided)', () => {
    const gate = createActor(inertRelaunchGate(), { input: RELAUNCH_GATE_INPUTS.default }).start();
    gate.send({ type: 'restart.request', requestId: 'r', source: 'orchestrator' });
    expect(gate.getSnapshot().value).toBe('armed');
    expect(gate.getSnapshot().status).toBe('active');
    expect(relaunchGateShortestPaths(RELAUNCH_GATE_INPUTS.default).length).toBeGreaterThan(10);
  });

  it('should traverse the orchestrator with its children (formerly: "Unable to send event to actor \'quitIntent\'")', () => {
    const settings = settingsFromConfig({ integrations: { permissions_v2: { order: ['microphone'] } } });
    const { paths } = generatePaths(orchestratorModel(settings));
    expect(paths.length).toBeGreaterThan(20);
    const calls: EffectCall[] = [];
    const root = createActor(inertOrchestrator({ record: (call) => calls.push(call) }), { input: { settings, bootId: 'b0' } }).start();
    root.send({ type: 'tray.quit_clicked' });
    expect(new Set(calls.map((call) => call.machine))).toEqual(new Set(['orchestrator', 'tray', 'quitIntent']));
  });
});

describe('generatePaths', () => {
  it('should list the events a state accepts that the model has no payload for', () => {
    expect(generatePaths(counterModel()).unmodelled).toEqual(['extra']);
  });

  it('should keep, as maximal paths, paths that together pass through every generated state', () => {
    const { paths, maximal } = generatePaths(relaunchGateModel());
    expect(maximal.length).toBeLessThan(paths.length);
    const key = (p: (typeof paths)[number]) => p.steps.map((s) => JSON.stringify(s.event)).join('\n');
    const onMaximal = (p: (typeof paths)[number]) => maximal.some((m) => `${key(m)}\n`.startsWith(`${key(p)}\n`) || key(p) === '');
    expect(paths.every(onMaximal)).toBe(true);
    expect(maximalPaths(maximal)).toHaveLength(maximal.length);
  });
});

describe('replayPath', () => {
  it('should return an actor that fails as a failure, not throw', () => {
    const fragile = setup({}).createMachine({
      id: 'fragile',
      initial: 'a',
      states: { a: { on: { go: { actions: assign(() => { throw new Error('kaboom'); }) } } } },
    });
    const model: TestModel = { ...counterModel(), name: 'fragile', machine: fragile, events: { go: () => [{ type: 'go' }] } };
    const path = { state: { value: 'a' }, steps: [{ event: { type: 'go' }, state: { value: 'a' } }], weight: 1 } as never;
    const failures = replayPath(model, path, null);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ model: 'fragile', invariant: 'no_actor_error', crashAt: null, step: 0, path: ['go'] });
    expect(failures[0]!.message).toContain('kaboom');
  });
});
