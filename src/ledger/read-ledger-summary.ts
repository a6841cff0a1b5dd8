import { resolveLedgerFs, type LedgerFs } from './ledger-fs.js';
import { readLedgerFile } from './ledger-files.js';
import type { LedgerProblem } from './ledger-store.js';
import { ledgerPaths } from './paths.js';

/** What {@link readLedgerSummary} found. */
export type LedgerStatus =
  | {
      /** No ledger and no backup: nothing has run (`status` shows phase `NONE`). */
      kind: 'none';
      problems: LedgerProblem[];
    }
  | {
      /** A usable envelope: from the ledger, or from the backup when the ledger is bad or missing. */
      kind: 'ok';
      source: 'ledger' | 'backup';
      phase: string;
      restart_count: number;
      generation: number;
      writer_pid: number;
      written_at: string;
      /** Problems of the ledger when `source` is `backup`. */
      problems: LedgerProblem[];
    }
  | {
      /** Neither file is usable: the next launch runs in safe mode (no automatic restart). */
      kind: 'unusable';
      problems: LedgerProblem[];
    };

/**
 * Read the ledger's summary for `first-run status` — read-only: it takes no lock, quarantines nothing,
 * writes nothing and does not restore the machine (pass `validateSnapshot` to check that too).
 * Never throws on file content.
 */
export function readLedgerSummary(
  stateDir: string,
  options: {
    /** @default no snapshot check */
    validateSnapshot?: (snapshot: unknown) => void;
    /** @default the real `node:fs` */
    fs?: Partial<LedgerFs>;
  } = {},
): LedgerStatus {
  const paths = ledgerPaths(stateDir);
  const fsx = resolveLedgerFs(options.fs);
  const problems: LedgerProblem[] = [];
  for (const which of ['ledger', 'backup'] as const) {
    const file = which === 'ledger' ? paths.ledger : paths.backup;
    const read = readLedgerFile(fsx, file, options.validateSnapshot);
    if (read.kind === 'ok') {
      const e = read.envelope;
      return {
        kind: 'ok',
        source: which,
        phase: e.summary.phase,
        restart_count: e.summary.restart_count,
        generation: e.generation,
        writer_pid: e.writer_pid,
        written_at: e.written_at,
        problems,
      };
    }
    if (read.kind === 'bad') {
      problems.push({
        which,
        file,
        reason: read.reason,
        message: `The ${which} ${file} ${read.message}.`,
        quarantinedTo: null,
        generation: read.generation,
      });
    } else if (which === 'ledger') {
      problems.push({ which, file, reason: 'missing', message: `The ledger ${file} does not exist.`, quarantinedTo: null, generation: null });
    }
  }
  const onlyMissing = problems.length === 1 && problems[0]?.reason === 'missing';
  return onlyMissing ? { kind: 'none', problems: [] } : { kind: 'unusable', problems };
}
