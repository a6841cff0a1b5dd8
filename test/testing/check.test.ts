/**
 * `checkFirstRun` as an adopter uses it (issue 21): a sabotaged child is caught whichever way it is
 * passed (as `machines.relaunchGate`, or as the orchestrator's child); `maxFailures` counts over the
 * whole check; the async form gives the same result with progress, lets the event loop run, and stops
 * on an abort. A one-permission order keeps each check to a few seconds.
 */
import { describe, expect, it } from 'vitest';
import { orchestratorMachine } from '../../machines/orchestrator.machine.js';
import { relaunchGateMachine } from '../../machines/relaunch-gate.machine.js';
import { UsageError } from '../../src/errors.js';
import { checkFirstRun, checkFirstRunAsync, machinesUnderTest, settingsFromConfig, type CheckProgress } from '../../src/testing/index.js';

const settings = settingsFromConfig({ integrations: { permissions_v2: { order: ['microphone'] } } });
const forgetsBudget = relaunchGateMachine.provide({ guards: { hasBudget: () => true } });
const ignoresDecision = orchestratorMachine.provide({ guards: { isRestartAllowed: () => true } });

describe('checkFirstRun: the machines it is given', () => {
  it('should catch a sabotaged gate passed as the orchestrator\'s child (formerly: 0 failures)', () => {
    const orchestrator = orchestratorMachine.provide({ actors: { relaunchGate: forgetsBudget } });
    const result = checkFirstRun(settings, { machines: { orchestrator }, maxFailures: 3 });
    expect(result.failures.map((f) => f.invariant)).toEqual(expect.arrayContaining([expect.stringMatching(/^(at_most_one_restart|restart_count_at_most_1)$/)]));
    expect(result.failures.every((f) => f.model.startsWith('relaunchGate'))).toBe(true);
  });

  it('should run a gate passed as `machines.relaunchGate` as the orchestrator\'s child too', () => {
    // A gate that fails on the root's request: only the root's replay sends it one with a decision behind it.
    const fails = relaunchGateMachine.provide({ guards: { hasBudget: () => { throw new Error('sabotaged gate'); } } });
    expect(machinesUnderTest({ relaunchGate: fails }).orchestrator.implementations.actors.relaunchGate).toBe(fails);
    const result = checkFirstRun(settings, { machines: { relaunchGate: fails }, maxFailures: 3 });
    const fromRoot = result.failures.filter((f) => f.model.startsWith('orchestrator'));
    expect(fromRoot.length).toBeGreaterThan(0);
    expect(fromRoot[0]).toMatchObject({ invariant: 'no_actor_error' });
    expect(fromRoot[0]!.message).toContain('sabotaged gate');
  });

  it('should check the product\'s machines when given none (and the given orchestrator\'s own children)', () => {
    expect(machinesUnderTest()).toEqual({ orchestrator: orchestratorMachine, relaunchGate: relaunchGateMachine, permissionStep: orchestratorMachine.implementations.actors.permissionStep });
    const orchestrator = orchestratorMachine.provide({ actors: { relaunchGate: forgetsBudget } });
    expect(machinesUnderTest({ orchestrator })).toMatchObject({ orchestrator, relaunchGate: forgetsBudget });
  });
});

describe('checkFirstRun: maxFailures', () => {
  it('should count failures over the whole check, and name the models it left unchecked', () => {
    // Three models fail here (the root, and the gate twice): per model, that was 2 + 2 + 2.
    const result = checkFirstRun(settings, { machines: { orchestrator: ignoresDecision, relaunchGate: forgetsBudget }, maxFailures: 2 });
    expect(result.failures).toHaveLength(2);
    expect(result.models.map((m) => m.model)).toEqual(['orchestrator [microphone]']);
    expect(result.unchecked).toEqual(['permissionStep microphone advance=true requestedBefore=false', 'relaunchGate (ledger: latest)', 'relaunchGate (ledger: committed)']);
  });

  it.each([0, -1, 1.5, Number.NaN, '3'])('should refuse maxFailures %s, naming the option', (maxFailures) => {
    expect(() => checkFirstRun(settings, { maxFailures: maxFailures as number })).toThrow(UsageError);
    expect(() => checkFirstRun(settings, { maxFailures: maxFailures as number })).toThrow(/Expected `maxFailures` to be a whole number from 1/);
  });
});

describe('checkFirstRunAsync', () => {
  it('should give the sync result, with progress, while the event loop keeps running', async () => {
    const progress: CheckProgress[] = [];
    // A timer due at once fires while the check runs (the sync form would hold it until the end).
    let settled = false;
    let timerBeforeSettled: boolean | null = null;
    setTimeout(() => (timerBeforeSettled = !settled), 0);
    const result = await checkFirstRunAsync(settings, { onProgress: (p) => progress.push(p), progressIntervalMs: 0 }).finally(() => (settled = true));
    const sync = checkFirstRun(settings);
    expect({ ...result, models: result.models.map((m) => ({ ...m, endStates: m.endStates.length })) }).toEqual({ ...sync, models: sync.models.map((m) => ({ ...m, endStates: m.endStates.length })) });
    expect(timerBeforeSettled, 'a timer fired during the check').toBe(true);

    const names = sync.models.map((m) => m.model);
    expect(progress.filter((p) => p.kind === 'model_started').map((p) => p.model)).toEqual(names);
    const done = progress.filter((p) => p.kind === 'model_done');
    expect(done.map((p) => [p.model, p.replays])).toEqual(sync.models.map((m) => [m.model, m.replays]));
    expect(done.at(-1)).toMatchObject({ index: names.length, models: names.length, totalReplays: sync.replays, failures: 0 });
    const replaying = progress.filter((p) => p.kind === 'replaying');
    expect(replaying.length).toBeGreaterThan(names.length);
    expect(replaying.every((p) => p.replays <= p.plannedReplays && p.plannedReplays > 0)).toBe(true);
    expect(progress.map((p) => p.elapsedMs)).toEqual([...progress.map((p) => p.elapsedMs)].sort((a, b) => a - b));
  }, 60_000);

  it('should stop when its signal aborts, with the signal\'s reason', async () => {
    const controller = new AbortController();
    const seen: CheckProgress[] = [];
    const checking = checkFirstRunAsync(settings, {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.kind === 'replaying' && p.replays >= 50) controller.abort(new Error('enough'));
      },
      progressIntervalMs: 0,
    });
    await expect(checking).rejects.toThrow('enough');
    expect(seen.some((p) => p.kind === 'model_done')).toBe(false);
  });

  it('should count maxFailures over the whole check, as the sync form does', async () => {
    const result = await checkFirstRunAsync(settings, { machines: { orchestrator: ignoresDecision, relaunchGate: forgetsBudget }, maxFailures: 2 });
    expect(result.failures).toHaveLength(2);
    expect(result.unchecked).toHaveLength(3);
    await expect(checkFirstRunAsync(settings, { maxFailures: 0 })).rejects.toThrow(UsageError);
  });
});
