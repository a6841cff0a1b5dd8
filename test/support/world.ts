import { ManualClock } from '../../src/clock.js';
import {
  createFirstRunService,
  type FirstRunService,
  type FirstRunServiceOptions,
} from '../../src/service/create-first-run-service.js';
import type { FirstRunEvent } from '../../src/service/events.js';
import type { OrchestratorSettings, Phase } from '../../machines/types.js';
import { FakeTcc, type FakePermission } from './fake-tcc.js';
import { testSettings } from './settings.js';
import type { PermissionName } from '../../machines/types.js';

/** Let promise actors and coalesced persists run. */
export async function flush(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

export interface WorldOptions {
  permissions: Partial<Record<PermissionName, FakePermission>>;
  settings?: OrchestratorSettings;
  /** How the relauncher's successor behaves. @default 'alive' */
  successor?: 'alive' | 'never';
  /** Persist every change (the ledger) or only forced commits. @default true */
  persistEveryChange?: boolean;
}

/**
 * A whole simulated machine for in-process tests: one shared TCC, one ledger (the list of committed
 * snapshots), a relauncher that records executions, and "processes" (services) that can be launched,
 * exited, or crashed (kill -9: stopped without a final persist).
 */
export class World {
  readonly clock = new ManualClock();
  readonly tcc: FakeTcc;
  readonly ledger: { snapshot: unknown; phase: Phase; restart_count: number }[] = [];
  readonly executions: { bootId: string; requestId: string; committedCount: number }[] = [];
  readonly events: (FirstRunEvent & { boot: number })[] = [];
  settings: OrchestratorSettings;
  current: FirstRunService | null = null;
  boots = 0;
  private readonly options: WorldOptions;

  constructor(options: WorldOptions) {
    this.options = options;
    this.settings = options.settings ?? testSettings();
    this.tcc = new FakeTcc(this.clock, options.permissions);
  }

  get lastCommitted() {
    return this.ledger.at(-1) ?? null;
  }

  launch(extra: Partial<FirstRunServiceOptions> = {}): FirstRunService {
    if (this.current) throw new Error('a process is still running in this world');
    const boot = ++this.boots;
    const bootId = `boot-${boot}`;
    const service = createFirstRunService({
      settings: this.settings,
      backend: this.tcc.view(),
      clock: this.clock,
      bootId,
      pid: 1000 + boot,
      snapshot: this.lastCommitted ? JSON.parse(JSON.stringify(this.lastCommitted.snapshot)) : undefined,
      persist: async (snapshot, summary) => {
        this.ledger.push({ snapshot: JSON.parse(JSON.stringify(snapshot)), ...summary });
        return { generation: this.ledger.length };
      },
      relauncher: {
        relaunch: async (request) => {
          this.executions.push({
            bootId,
            requestId: request.requestId,
            committedCount: this.lastCommitted?.restart_count ?? 0,
          });
          if ((this.options.successor ?? 'alive') === 'never') throw new Error('no successor within the hand-off timeout');
          return { newPid: 1000 + boot + 1 };
        },
      },
      ...extra,
    });
    service.on('*', (event) => this.events.push({ ...event, boot }));
    this.current = service;
    service.start();
    return service;
  }

  /** A graceful exit: the last state is persisted. */
  async exit(): Promise<void> {
    await this.current?.stop();
    this.current = null;
  }

  /** kill -9: nothing more is written. */
  crash(): void {
    this.current?.actor.stop();
    this.current = null;
  }

  /** Advance the clock by `ms` in `step` slices, letting promises settle in between. */
  async run(ms: number, step = 250): Promise<void> {
    await flush();
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      await flush();
    }
  }

  eventsOf(type: string) {
    return this.events.filter((event) => event.type === type);
  }

  /** Run launches until settled: a hand-off launches the successor; returns the final phase. */
  async settle(maxLaunches = 4, msPerLaunch = 120_000): Promise<Phase> {
    for (let i = 0; i < maxLaunches; i++) {
      const service = this.current ?? this.launch();
      let settled: string | null = null;
      void service.whenSettled().then((result) => {
        settled = result.outcome;
      });
      for (let t = 0; t < msPerLaunch && settled === null; t += 500) await this.run(500);
      if (settled === null) throw new Error(`launch ${this.boots} did not settle in ${msPerLaunch} ms (phase ${service.phase})`);
      const phase = service.phase;
      await this.exit();
      if (settled !== 'handed_off') return phase;
    }
    throw new Error('too many launches');
  }
}
