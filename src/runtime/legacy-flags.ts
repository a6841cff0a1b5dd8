/**
 * The cache flags for older consumers (LG-5, seed 004 "Flags & Persistence"), decided in one place:
 *
 * | flag | written | removed |
 * |---|---|---|
 * | `permissions_first_run_completed.flag` | after the commit of a COMPLETED generation | never (a cache) |
 * | `restart_completed.flag` | in the relaunched successor, after the commit of its first phase after the restart (POST_RESTART_VERIFY or later) | at the start of any later launch that is not that successor (seed 004 §6) |
 * | `permission_request_attempted.flag` | after the first commit that holds a request (a prompt or System Settings), even if the user then denied | never |
 *
 * Every decision is taken from a *committed* generation — the snapshot the ledger store has made durable —
 * never from an event, so a flag can never report a phase the ledger does not hold yet. Flags are a
 * cache: nothing reads them to decide anything, a failed write is reported and never fails the run.
 */
import * as fs from 'node:fs';
import type { Phase } from '../../machines/types.js';
import { isRegularFile, removeFlagFile, writeFlagFile, type FlagFs } from '../ledger/ledger-files.js';
import { ledgerPaths } from '../ledger/paths.js';

/** The flags, by the name older consumers know them. */
export type LegacyFlagName =
  | 'permissions_first_run_completed'
  | 'restart_completed'
  | 'permission_request_attempted';

/** One flag change, as journaled (`ledger.flags_written`). */
export interface LegacyFlagChange {
  flag: LegacyFlagName;
  /** true: written; false: removed. */
  present: boolean;
  /** The committed generation the flag follows (null: the removal at start). */
  generation: number | null;
  phase: Phase | null;
}

export interface LegacyFlagsOptions {
  stateDir: string;
  /** This process was started by our relaunch (the post-restart instance). */
  successor: boolean;
  /** Throws when this process may not write the state dir (the instance lock is not held). */
  assertWriter: () => void;
  /** A flag was written or removed. */
  onChange?: (change: LegacyFlagChange) => void;
  /** A flag could not be written or removed (reported; the run goes on). */
  onError?: (flag: LegacyFlagName, error: Error) => void;
  /** @default node:fs */
  fs?: FlagFs;
  /** @default process.pid */
  pid?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

export interface LegacyFlags {
  /** The launch holds the lock: clear `restart_completed.flag` unless this is the post-restart instance. */
  started(): void;
  /** A generation is durable: write the flags it reports. Never throws. */
  committed(snapshot: unknown, summary: { phase: Phase; restart_count: number }, generation: number): void;
}

/** Phases that show the relaunched successor came up and moved on from the restart. */
const AFTER_RESTART: readonly Phase[] = ['POST_RESTART_VERIFY', 'COMPLETED', 'FAILED'];

/**
 * Whether a persisted root snapshot holds a permission request: one remembered by the orchestrator, or
 * one the running step made (a prompt or a trip to System Settings) before its result was recorded.
 */
export function selectRequestAttempted(persisted: unknown): boolean {
  const root = persisted as {
    context?: { requested?: Record<string, unknown> };
    children?: { step?: { snapshot?: { context?: { requestedNow?: unknown } } } };
  } | null;
  if (Object.values(root?.context?.requested ?? {}).some((value) => value === true)) return true;
  return root?.children?.step?.snapshot?.context?.requestedNow === true;
}

/** Create the flag keeper of one launch. */
export function createLegacyFlags(options: LegacyFlagsOptions): LegacyFlags {
  const fsx = options.fs ?? fs;
  const paths = ledgerPaths(options.stateDir);
  const files: Record<LegacyFlagName, string> = {
    permissions_first_run_completed: paths.firstRunCompletedFlag,
    restart_completed: paths.restartCompletedFlag,
    permission_request_attempted: paths.requestAttemptedFlag,
  };
  const done = new Set<LegacyFlagName>();

  const change = (flag: LegacyFlagName, present: boolean, generation: number | null, phase: Phase | null): void => {
    try {
      options.assertWriter();
      if (present) {
        const content = `${JSON.stringify({ written_at: (options.now ?? (() => new Date()))().toISOString(), writer_pid: options.pid ?? process.pid, generation, phase })}\n`;
        writeFlagFile(fsx, files[flag], content);
      } else {
        removeFlagFile(fsx, files[flag]);
      }
      options.onChange?.({ flag, present, generation, phase });
    } catch (error) {
      options.onError?.(flag, error instanceof Error ? error : new Error(String(error)));
    }
  };
  /** Write a flag once per process; an existing regular file is left as it is (a cache). */
  const writeOnce = (flag: LegacyFlagName, generation: number, phase: Phase, rewrite: boolean): void => {
    if (done.has(flag)) return;
    done.add(flag);
    if (!rewrite && isRegularFile(fsx, files[flag])) return;
    change(flag, true, generation, phase);
  };

  return {
    started() {
      if (options.successor) return;
      let present = true;
      try {
        present = fsx.lstatSync(files.restart_completed, { throwIfNoEntry: false }) !== undefined;
      } catch {
        // Unknown: try to remove it; a failure is reported by change().
      }
      if (present) change('restart_completed', false, null, null);
    },
    committed(snapshot, summary, generation) {
      if (summary.phase === 'COMPLETED') writeOnce('permissions_first_run_completed', generation, summary.phase, false);
      if (options.successor && AFTER_RESTART.includes(summary.phase)) writeOnce('restart_completed', generation, summary.phase, true);
      if (!done.has('permission_request_attempted') && selectRequestAttempted(snapshot)) {
        writeOnce('permission_request_attempted', generation, summary.phase, false);
      }
    },
  };
}
