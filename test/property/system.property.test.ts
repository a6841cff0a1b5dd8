/**
 * Property tests: random sequences of what the world can do to a first run — time passing, the user
 * quitting, switching the app mode, the host saying busy or idle (RS-10), legacy restart requests, kill -9, graceful exits and relaunches,
 * permissions revoked or granted behind our back — fed to the whole system (service + real machines,
 * in-process, on a manual clock). Never an uncaught exception; the invariants of SPEC §3 after every
 * sequence; and the run always settles once the world stops interfering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TRAY_STATUSES, PHASES, type PermissionName } from '../../machines/types.js';
import { testSettings } from '../support/settings.js';
import { World } from '../support/world.js';

type Action =
  | { kind: 'time'; ms: number }
  | { kind: 'quit' }
  | { kind: 'mode'; mode: 'SLEEPING' | 'LISTENING' | 'PROCESSING' }
  | { kind: 'legacy' }
  | { kind: 'busy'; busy: boolean }
  | { kind: 'crash' }
  | { kind: 'exit' }
  | { kind: 'revoke'; permission: PermissionName }
  | { kind: 'grant'; permission: PermissionName };

const permission = fc.constantFrom<PermissionName>('microphone', 'accessibility', 'input_monitoring', 'screen_capture');
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((ms) => ({ kind: 'time' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'quit' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('SLEEPING', 'LISTENING', 'PROCESSING').map((mode) => ({ kind: 'mode' as const, mode: mode as 'SLEEPING' })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'legacy' as const }) },
  { weight: 1, arbitrary: fc.boolean().map((busy) => ({ kind: 'busy' as const, busy })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'exit' as const }) },
  { weight: 1, arbitrary: permission.map((p) => ({ kind: 'revoke' as const, permission: p })) },
  { weight: 1, arbitrary: permission.map((p) => ({ kind: 'grant' as const, permission: p })) },
);

const scenario = fc.record({
  microphone: fc.constantFrom('not_determined', 'denied', 'granted', 'restricted'),
  accessibility: fc.constantFrom('denied', 'granted'),
  input_monitoring: fc.constantFrom('not_determined', 'granted'),
  screen_capture: fc.constantFrom('not_determined', 'granted'),
  answer: fc.constantFrom('granted', 'denied', 'none'),
  afterMs: fc.integer({ min: 0, max: 4_000 }),
  dryRun: fc.boolean(),
  killSwitch: fc.boolean(),
  advanceOnTimeout: fc.boolean(),
});

describe('the whole system under random worlds (property)', () => {
  it('never throws, never restarts twice, quit wins, the tray stays in its three statuses, and it settles', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.array(action, { maxLength: 30 }), async (s, actions) => {
        // Short timings so that random time steps reach every phase, restarts and later launches included.
        const settings = testSettings(
          {
            dryRun: s.dryRun,
            killSwitch: s.killSwitch,
            advanceOnTimeout: s.advanceOnTimeout,
            confirmIntervalMs: 300,
            restart: { ...testSettings().restart, delayMs: 1_000, handoffTimeoutMs: 2_000, maxDeferMs: 5_000 },
          },
          { timeoutMs: 3_000, pollIntervalMs: 250 },
        );
        const answer = { result: s.answer, afterMs: s.afterMs } as const;
        const world = new World({
          settings,
          permissions: {
            microphone: { status: s.microphone as never, onRequest: answer, onSettings: answer },
            accessibility: { status: s.accessibility as never, onSettings: answer },
            input_monitoring: { status: s.input_monitoring as never, onRequest: answer, onSettings: answer },
            screen_capture: { status: s.screen_capture as never, onRequest: { ...answer, afterRestart: true }, onSettings: answer },
          },
        });
        const quitBoots = new Set<number>();
        const uncaught: unknown[] = [];
        const onUncaught = (error: unknown) => uncaught.push(error);
        process.on('uncaughtException', onUncaught);
        try {
          world.launch();
          for (const a of actions) {
            const service = world.current ?? world.launch();
            switch (a.kind) {
              case 'time':
                await world.run(a.ms, 500);
                break;
              case 'quit':
                service.quit();
                quitBoots.add(world.boots);
                // Give a (wrongly) surviving restart every chance to execute in this process.
                await world.run(10_000, 500);
                await world.exit();
                break;
              case 'mode':
                service.setAppMode(a.mode);
                break;
              case 'legacy':
                service.requestLegacyRestart();
                break;
              case 'busy':
                service.setBusy(a.busy);
                break;
              case 'crash':
                world.crash();
                break;
              case 'exit':
                await world.exit();
                break;
              case 'revoke':
                world.tcc['state'].set(a.permission, { status: 'denied' });
                break;
              case 'grant':
                world.tcc['state'].set(a.permission, { status: 'granted' });
                break;
            }
            // A hand-off ends the old process; the successor is the next launch.
            if (world.current && world.executions.length > 0 && world.current.context && world.current.phase === 'RESTART_REQUESTED') {
              const settled = await Promise.race([world.current.whenSettled(), Promise.resolve(null)]);
              if (settled?.outcome === 'handed_off') await world.exit();
            }
          }
          // Stop interfering: the run must settle within a bounded number of launches (invariant 4).
          if (!settings.advanceOnTimeout) {
            for (const name of ['microphone', 'accessibility', 'input_monitoring', 'screen_capture'] as const) {
              world.tcc['state'].set(name, { status: 'granted' });
            }
          }
          await world.exit();
          const phase = await world.settle(4, 60_000);
          expect(['COMPLETED', 'FAILED']).toContain(phase);
          // Later launches after a permission is revoked behind our back: never a second restart.
          world.tcc['state'].set('input_monitoring', { status: 'not_determined', onRequest: { result: 'granted', afterMs: 100 } });
          expect(['COMPLETED', 'FAILED']).toContain(await world.settle(4, 60_000));
        } finally {
          process.off('uncaughtException', onUncaught);
          world.crash();
        }
        expect(uncaught).toEqual([]);
        // SPEC §3.2: at most one restart executed, restart_count rises 0 → 1 at most once.
        expect(world.executions.length).toBeLessThanOrEqual(1);
        expect(world.eventsOf('restart.count_changed').length).toBeLessThanOrEqual(1);
        for (const entry of world.ledger) expect([0, 1]).toContain(entry.restart_count);
        // RS-3: an execution only after restart_count 1 is durable.
        for (const execution of world.executions) expect(execution.committedCount).toBe(1);
        // RS-4/§3.3: no execution in a process after its user quit.
        for (const execution of world.executions) expect(quitBoots.has(Number(execution.bootId.slice(5)))).toBe(false);
        // RS-6 and the kill switch: nothing executes.
        if (s.dryRun || s.killSwitch) expect(world.executions).toEqual([]);
        // TR-1: the tray never outside its three statuses.
        for (const event of world.eventsOf('tray.status_updated')) expect(TRAY_STATUSES).toContain((event as never as { status: string }).status);
        for (const event of world.eventsOf('permissions.v2.phase')) expect(PHASES).toContain((event as never as { phase: string }).phase);
      }),
      { numRuns: 80 },
    );
  }, 120_000);
});
