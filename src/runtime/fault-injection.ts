/**
 * Fault-injection hooks for the process tests, in the spirit of proper-lockfile's swappable `fs`. They
 * exist so that "a crash right after event n" or "the disk is full at event n" is exact instead of a race
 * against a watcher.
 *
 * **Off in the shipped runtime (SPEC HE-7).** The variables below are read only in a process where a
 * test-only entry has turned the hooks on: `test/support/enable-fault-injection.mjs` (preloaded with
 * `--import`, which a relaunched successor inherits through `process.execArgv`) or
 * `enableFaultInjection()` (test/support/fault-injection.ts) in a test's own process. Both set
 * {@link FAULT_INJECTION_SWITCH} on `globalThis`; nothing under src/ or bin/ sets it, and test/ is not in
 * the package. Without it the variables do nothing — in an app's environment they used to make the
 * embedded runtime SIGKILL the app.
 *
 * - `FIRST_RUN_FAULT_KILL_AFTER=<role>:<n>` — the process of that role (`first`, a plain launch, or
 *   `successor`) SIGKILLs itself right after its n-th journal line is written;
 *   `<role>:<type>` (e.g. `first:restart.executed`) right after its first line of that event type — a
 *   point that does not move with timing (test/protocol/replay.test.ts replays the model's crashes so).
 * - `FIRST_RUN_FAULT_JOURNAL_ENOSPC=<role>:<n>` — its n-th journal append fails as a full disk does
 *   (`ENOSPC`), and every later one too (a full disk stays full).
 */
export type ProcessRole = 'first' | 'successor';

/** The hooks around each journal line. */
export interface FaultHooks {
  /** Before a line is written: throws an `ENOSPC` error when the disk is "full". */
  beforeJournalLine(): void;
  /** After a line of event `type` was written: may SIGKILL this process. */
  afterJournalLine(type: string): void;
  /** Whether any fault is set for this process: then every line is written on its own, to be exact. */
  readonly armed: boolean;
}

/**
 * The process-wide switch (a registered symbol, so the CLI bundle and dist/ — two copies of this module —
 * see the same one). Set to `true` by test-only code only.
 */
export const FAULT_INJECTION_SWITCH = Symbol.for('first-run-orchestrator.fault-injection');

/** Whether a test-only entry turned the hooks on in this process. */
export function faultInjectionEnabled(): boolean {
  return (globalThis as Record<symbol, unknown>)[FAULT_INJECTION_SWITCH] === true;
}

/** The hooks of the shipped runtime: none. */
const NO_FAULTS: FaultHooks = {
  armed: false,
  beforeJournalLine() {},
  afterJournalLine() {},
};

function parseSpec(name: string, spec: string | undefined, role: ProcessRole, byType = false): number | string | null {
  if (!spec) return null;
  const match = (byType ? /^(first|successor):(\d+|[a-z][a-z0-9_.]*)$/ : /^(first|successor):(\d+)$/).exec(spec);
  if (!match) throw new Error(`${name} must be first:N or successor:N${byType ? ' (or first:<event type>, successor:<event type>)' : ''}, got ${JSON.stringify(spec)}`);
  if (match[1] !== role) return null;
  return /^\d+$/.test(match[2]!) ? Number(match[2]) : match[2]!;
}

/**
 * The hooks for a process of `role`: inert unless {@link faultInjectionEnabled} (then read from `env`).
 * @throws Error when enabled and a variable is malformed.
 */
export function createFaultHooks(role: ProcessRole, env: NodeJS.ProcessEnv = process.env, enabled: boolean = faultInjectionEnabled()): FaultHooks {
  if (!enabled) return NO_FAULTS;
  const killAt = parseSpec('FIRST_RUN_FAULT_KILL_AFTER', env.FIRST_RUN_FAULT_KILL_AFTER, role, true);
  const fullAt = parseSpec('FIRST_RUN_FAULT_JOURNAL_ENOSPC', env.FIRST_RUN_FAULT_JOURNAL_ENOSPC, role) as number | null;
  let attempted = 0;
  let written = 0;
  return {
    armed: killAt !== null || fullAt !== null,
    beforeJournalLine() {
      attempted += 1;
      if (fullAt !== null && attempted >= fullAt) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write (injected by FIRST_RUN_FAULT_JOURNAL_ENOSPC)'), { code: 'ENOSPC' });
      }
    },
    afterJournalLine(type) {
      written += 1;
      if (written === killAt || type === killAt) process.kill(process.pid, 'SIGKILL');
    },
  };
}
