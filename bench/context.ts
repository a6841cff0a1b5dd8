/** What every figure gets: where things are, how many runs, and the prepared scenarios. */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { childEnv } from './proc.js';

export interface BenchContext {
  /** The package root. */
  root: string;
  /** Where the compiled benchmark children are (`dist/bench/`). */
  childDir: string;
  /** A scratch dir for this run (on the disk under test: fsync must mean something). */
  workDir: string;
  /** `--quick`: fewer runs (for a smoke test; the ratios are noisier). */
  quick: boolean;
  /** The environment for measured child processes (see `childEnv`). */
  env: NodeJS.ProcessEnv;
  /** `bin/first-run.js`. */
  bin: string;
  /** A fresh directory under `workDir`. */
  dir(name: string): string;
  /** `quick ? q : full`. */
  runs(full: number, q: number): number;
}

export function createContext(options: { root: string; childDir: string; workDir: string; quick: boolean; keepEnv: boolean }): BenchContext {
  let counter = 0;
  return {
    root: options.root,
    childDir: options.childDir,
    workDir: options.workDir,
    quick: options.quick,
    // The CLI's V8 code cache goes to this run's scratch dir (built by the first launch of each figure).
    env: childEnv(options.keepEnv, { FIRST_RUN_CODE_CACHE_DIR: path.join(options.workDir, 'code-cache') }),
    bin: path.join(options.root, 'bin', 'first-run.js'),
    dir(name) {
      const dir = path.join(options.workDir, `${name}-${++counter}`);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    runs(full, q) {
      return options.quick ? q : full;
    },
  };
}

/** Every permission already granted: a launch goes PRECHECK → COMPLETED. */
export const ALL_GRANTED = {
  description: 'bench: everything granted',
  permissions: {
    microphone: { status: 'granted' },
    accessibility: { status: 'granted' },
    input_monitoring: { status: 'granted' },
    screen_capture: { status: 'granted' },
  },
};

/** Screen capture answered "granted, after a restart": the pipeline decides to relaunch once. */
export const NEEDS_RESTART = {
  description: 'bench: screen capture is granted but only seen after a restart',
  permissions: {
    microphone: { status: 'granted' },
    accessibility: { status: 'granted' },
    input_monitoring: { status: 'granted' },
    screen_capture: { status: 'not_determined', on_request: { result: 'granted', after_ms: 0, effective: 'after_restart' } },
  },
};

/** Short timeouts (the values of the brief) with a restart delay of `delaySec`. */
export function fastConfig(delaySec: number, stepTimeoutS = 2): object {
  return {
    integrations: {
      permissions_v2: {
        default_step_timeout_s: stepTimeoutS,
        poll_interval_s: 0.1,
        confirm_interval_s: 0.2,
        restart: { delay_sec: delaySec, handoff_timeout_s: 5 },
      },
    },
  };
}

export function writeJson(file: string, value: unknown): string {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

/** The argv of `first-run launch` for a state dir, a sim db and a config. */
export function launchArgs(ctx: BenchContext, stateDir: string, simDb: string, config: string): string[] {
  return [ctx.bin, 'launch', '--state-dir', stateDir, '--sim-db', simDb, '--config', config];
}
