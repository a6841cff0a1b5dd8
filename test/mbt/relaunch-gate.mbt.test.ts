/**
 * Model-based tests of the relaunch gate, generated with `xstate/graph` from the production machine
 * through the public testing kit (`src/testing`, shipped as `first-run-orchestrator/testing`).
 *
 * Paths: the shortest path to every reachable state; the maximal ones are replayed against a real actor
 * without a crash and with a crash (persist → JSON → restore in a new process → `runtime.booted`) before
 * every step, restored from the latest snapshot or from the last one `commitLedger` made durable, then
 * driven to rest by the world (timers fire, commits land, successors come up, the owner asks again);
 * every path is also extended by every event the world can send at its end (every transition taken).
 *
 * Invariants on every replay (SPEC §3): at most one restart executed, whatever crashes happen; every
 * execution after a durable commit of restart_count 1; a quit before execution in a process means no
 * execution in it; a restart never goes ahead while the host says busy (RS-10); restart_count only
 * grows and never exceeds 1.
 */
import { describe, expect, it } from 'vitest';
import type { RelaunchGateContext } from '../../machines/relaunch-gate.machine.js';
import { relaunchGateMachine } from '../../machines/relaunch-gate.machine.js';
import { checkModel, generatePaths, relaunchGateModel, settingsFromConfig } from '../../src/testing/index.js';

const VARIANTS = {
  default: settingsFromConfig(undefined),
  dryRun: settingsFromConfig(undefined, { env: { NEXY_DISABLE_AUTO_RESTART: '1' } }),
  killSwitch: settingsFromConfig(undefined, { env: { NEXY_KS_FIRST_RUN_RESTART: '1' } }),
  disabled: settingsFromConfig({ integrations: { permissions_v2: { enabled: false } } }),
};

describe('relaunch gate — model-based (MBT-1, SPEC §3, RS-10)', () => {
  for (const [name, settings] of Object.entries(VARIANTS)) {
    for (const ledger of ['latest', 'committed'] as const) {
      it(`${name}, restored from the ${ledger} snapshot: every path, a crash at every step — ≤ 1 restart, commit before relaunch, quit wins`, () => {
        const report = checkModel(relaunchGateModel({ settings, ledger }), { extend: true });
        console.log(`relaunch gate [${name}, ${ledger}]: ${report.paths} paths (${report.maximal} maximal), ${report.replays} replays`);
        expect(report.failures).toEqual([]);
        expect(report.unmodelled).toEqual([]);
        expect(report.paths).toBeGreaterThan(10);
      });
    }
  }

  it('should reach an executed restart, and a restore right after the commit (the dangerous window)', () => {
    const { paths } = generatePaths(relaunchGateModel({ settings: VARIANTS.default }));
    expect(paths.some((p) => (p.state.context as RelaunchGateContext).last.kind === 'executed')).toBe(true);
    expect(paths.some((p) => p.steps.some((s, i) => s.event.type === 'runtime.booted' && p.steps[i - 1]?.state.value === 'committing'))).toBe(true);
  });

  it('should catch a gate that forgets its budget (the tests can fail)', () => {
    const sabotaged = relaunchGateMachine.provide({ guards: { hasBudget: () => true } });
    const report = checkModel(relaunchGateModel({ settings: VARIANTS.default, machine: sabotaged }), { maxFailures: 5 });
    expect(report.failures.length).toBeGreaterThan(0);
    // Caught as the count passes 1 (before the second execution), or at the second execution.
    expect(report.failures.map((f) => f.invariant)).toEqual(expect.arrayContaining([expect.stringMatching(/^(at_most_one_restart|restart_count_at_most_1)$/)]));
  });

  it('should catch a gate that does not wait while the host is busy (RS-10)', () => {
    const sabotaged = relaunchGateMachine.provide({ guards: { isArmedHereAndBusy: () => false } });
    const report = checkModel(relaunchGateModel({ settings: VARIANTS.default, machine: sabotaged }), { maxFailures: 3 });
    expect(report.failures.map((f) => f.invariant)).toContain('no_restart_due_while_busy');
  });
});
