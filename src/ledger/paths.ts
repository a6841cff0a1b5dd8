import * as path from 'node:path';

/** The files the ledger store owns inside a state dir. */
export interface LedgerPaths {
  /** The state dir, resolved. */
  stateDir: string;
  /** `<stateDir>/permission_ledger.json` — the current generation (LG-1). */
  ledger: string;
  /** `<stateDir>/permission_ledger.json.bak` — the previous generation (LG-2). */
  backup: string;
  /** `<stateDir>/quarantine/` — where bad or reset files are moved; nothing is ever deleted (LG-3). */
  quarantine: string;
  /** `<stateDir>/permissions_first_run_completed.flag` — cache for older consumers (LG-5). */
  firstRunCompletedFlag: string;
  /** `<stateDir>/restart_completed.flag` — cache for older consumers (LG-5). */
  restartCompletedFlag: string;
  /** `<stateDir>/permission_request_attempted.flag` — cache for older consumers (LG-5, seed 004). */
  requestAttemptedFlag: string;
}

/** The ledger's file paths for a state dir. Pure; touches nothing. */
export function ledgerPaths(stateDir: string): LedgerPaths {
  const dir = path.resolve(stateDir);
  return {
    stateDir: dir,
    ledger: path.join(dir, 'permission_ledger.json'),
    backup: path.join(dir, 'permission_ledger.json.bak'),
    quarantine: path.join(dir, 'quarantine'),
    firstRunCompletedFlag: path.join(dir, 'permissions_first_run_completed.flag'),
    restartCompletedFlag: path.join(dir, 'restart_completed.flag'),
    requestAttemptedFlag: path.join(dir, 'permission_request_attempted.flag'),
  };
}
