import * as path from 'node:path';
import { LedgerError } from '../errors.js';
import type { JournalSink } from '../journal/journal.js';
import { resolveLedgerFs, type LedgerFs } from './ledger-fs.js';
import { moveToQuarantine } from './ledger-files.js';
import { ledgerPaths } from './paths.js';

/** Options of {@link resetLedger}. */
export interface ResetLedgerOptions {
  /**
   * Receives `ledger.reset` { moved: [{ from, to }] }.
   * @default no journal
   */
  journal?: JournalSink;
  /**
   * Called first; throws when this process may not write (pass the instance lock's `assertHeld`).
   * @default () => {} (no check)
   */
  assertWriter?: () => void;
  /**
   * Clock for the quarantine file names.
   * @default () => new Date()
   */
  now?: () => Date;
  /** @default the real `node:fs` */
  fs?: Partial<LedgerFs>;
}

/**
 * `first-run reset`: move the ledger, its backup and the flags into `<stateDir>/quarantine/` with the
 * reason `reset` (`permission_ledger.<ts>.reset.json`, …). Nothing is deleted; the next launch starts
 * fresh. Run it while holding the instance lock, never alongside a running store.
 *
 * @returns the files moved (none when there was nothing to reset).
 * @throws LedgerError when a file exists but cannot be moved (files moved before it stay moved).
 */
export function resetLedger(stateDir: string, options: ResetLedgerOptions = {}): { moved: { from: string; to: string }[] } {
  options.assertWriter?.();
  const paths = ledgerPaths(stateDir);
  const fsx = resolveLedgerFs(options.fs);
  const now = (options.now ?? (() => new Date()))();
  const moved: { from: string; to: string }[] = [];
  const emit = (payload: Record<string, unknown>): void => {
    try {
      options.journal?.append('ledger.reset', payload);
    } catch {
      // The journal reports; the files are moved either way.
    }
  };
  const files = [
    { from: paths.ledger, stem: 'permission_ledger', ext: '.json' },
    { from: paths.backup, stem: 'permission_ledger.bak', ext: '.json' },
    { from: paths.firstRunCompletedFlag, stem: 'permissions_first_run_completed', ext: '.flag' },
    { from: paths.restartCompletedFlag, stem: 'restart_completed', ext: '.flag' },
    { from: paths.requestAttemptedFlag, stem: 'permission_request_attempted', ext: '.flag' },
  ];
  for (const { from, stem, ext } of files) {
    try {
      if (fsx.lstatSync(from, { throwIfNoEntry: false }) === undefined) continue;
      moved.push({ from, to: moveToQuarantine(fsx, from, paths.quarantine, { stem, ext }, 'reset', now) });
    } catch (error) {
      emit({ moved, failed: from, error: (error as Error).message });
      throw new LedgerError(
        from,
        `Cannot move ${from} to ${paths.quarantine} (${(error as Error).message}); reset stopped. Check the permissions of ${path.dirname(from)}.`,
        { cause: error },
      );
    }
  }
  emit({ moved });
  return { moved };
}
