/**
 * An adopter's model-based test, as it would sit in their own repository: it imports only the public
 * `first-run-orchestrator/testing` and `first-run-orchestrator/machines` entries, describes the app's
 * own configuration (a different order, a step that is not hard, one needs_restart step, their
 * timeouts), generates and replays paths for it, and checks that the same helper catches a sabotaged
 * machine. CI runs it from the packed and installed package (test/testing/adopter-fixture.test.ts,
 * through test/package/packed.ts); see docs/testing.md.
 */
import { describe, expect, it } from 'vitest';
import { orchestratorMachine, relaunchGateMachine } from 'first-run-orchestrator/machines';
import { checkFirstRun, generatePaths, leafOf, orchestratorModel, settingsFromConfig, topOf } from 'first-run-orchestrator/testing';

/** The `integrations.permissions_v2` section of the app's config file. */
const config = {
  integrations: {
    permissions_v2: {
      order: ['screen_capture', 'microphone', 'accessibility'],
      default_step_timeout_s: 20,
      steps: {
        screen_capture: { needs_restart: false },
        microphone: { hard: false, timeout_s: 8 },
        accessibility: { needs_restart: true },
      },
      restart: { delay_sec: 2 },
    },
  },
};
const settings = settingsFromConfig(config);

describe('our first run, model-based', () => {
  it('should read our configuration', () => {
    expect(settings.order).toEqual(['screen_capture', 'microphone', 'accessibility']);
    expect(settings.steps.microphone.hard).toBe(false);
    expect(settings.steps.microphone.timeoutMs).toBe(8_000);
    expect(settings.order.filter((permission) => settings.steps[permission].needsRestart)).toEqual(['accessibility']);
  });

  it('should keep every invariant on every generated path, with a crash at every step', () => {
    const result = checkFirstRun(settings);
    for (const model of result.models) console.log(`${model.model}: ${model.paths} paths, ${model.replays} replays`);
    console.log(`adopter total: ${result.paths} paths, ${result.replays} replays, ${result.failures.length} failures`);
    expect(result.failures).toEqual([]);
    expect(result.models.every((model) => model.unmodelled.length === 0)).toBe(true);
    expect(result.paths).toBeGreaterThan(100);
  });

  it('should generate paths that follow our order and our hard flags', () => {
    const { paths } = generatePaths(orchestratorModel(settings));
    // The first step the pipeline runs is screen_capture, ours, not the product's default order.
    const firstSteps = new Set(
      paths.filter((p) => leafOf(p.state.value) === 'PIPELINE.step').map((p) => (p.state.context as { queue: string[] }).queue[0]),
    );
    expect(firstSteps.has('screen_capture')).toBe(true);
    // microphone is not hard: a denied microphone still allows the restart accessibility needs.
    const restartWithMicrophoneDenied = paths.some((p) => {
      const context = p.state.context as { results: Record<string, { outcome: string } | undefined> };
      return topOf(p.state.value) === 'RESTART_REQUESTED' && context.results.microphone?.outcome === 'denied';
    });
    expect(restartWithMicrophoneDenied).toBe(true);
  });

  it('should report failures for a sabotaged machine passed to the same helper', () => {
    const noBudget = relaunchGateMachine.provide({ guards: { hasBudget: () => true } });
    const ignoresDecision = orchestratorMachine.provide({ guards: { isRestartAllowed: () => true } });
    // maxFailures counts over the whole check: one check per sabotage, so each is sure to be reached.
    const failures = [{ relaunchGate: noBudget }, { orchestrator: ignoresDecision }].flatMap((machines) => checkFirstRun(settings, { machines, maxFailures: 3 }).failures);
    const broken = new Set(failures.map((failure) => failure.invariant));
    console.log(`sabotaged: ${failures.length} failures (${[...broken].join(', ')})`);
    expect(broken.has('restart_only_when_allowed')).toBe(true);
    expect(broken.has('restart_count_at_most_1') || broken.has('at_most_one_restart')).toBe(true);
  });
});
