/** The durable ledger (LG-1..5): the root actor's persisted snapshot in a checksummed, generational envelope. */
export { openLedgerStore, peekLedger } from './ledger-store.js';
export type {
  LedgerStore,
  LedgerStoreOptions,
  LedgerLoadKind,
  LedgerLoadResult,
  LedgerProblem,
  LedgerFlags,
} from './ledger-store.js';
export { readLedgerSummary } from './read-ledger-summary.js';
export type { LedgerStatus } from './read-ledger-summary.js';
export { resetLedger } from './reset-ledger.js';
export type { ResetLedgerOptions } from './reset-ledger.js';
export { ledgerPaths } from './paths.js';
export type { LedgerPaths } from './paths.js';
export { LEDGER_SCHEMA, checkEnvelopeBytes, serializeEnvelope } from './envelope.js';
export type { LedgerEnvelope, LedgerSummary, LedgerProblemReason, EnvelopeCheck } from './envelope.js';
export { canonicalJson, sha256Checksum } from './canonical-json.js';
export type { LedgerFs } from './ledger-fs.js';
