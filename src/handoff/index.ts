/** The relaunch hand-off (RS-7): protocol, files, channel, and each side's half. */
export * from './handoff-protocol.js';
export {
  handoffDir,
  ensureHandoffDir,
  writeAliveProof,
  readAliveProof,
  cancelHandoff,
  isHandoffCancelled,
  clearHandoff,
  proofForThisProcess,
} from './handoff-files.js';
export { findPendingHandoff, inspectHandoffs, sweepAndFindPending, sweepHandoffs, type PendingHandoff, type HandoffEntry } from './pending-handoff.js';
export { awaitSuccessorProof, type AwaitSuccessorOptions, type SuccessorOutcome } from './predecessor.js';
export { beginSuccession, type Succession, type SuccessionOptions } from './successor.js';
export { CHANNEL_ENV } from './handoff-channel.js';
