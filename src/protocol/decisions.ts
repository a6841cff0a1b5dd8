/**
 * The decisions of the multi-process protocol, written once (issue 19): every choice a launch, a
 * relaunched successor, a predecessor giving up, `reset` or a ledger writer makes about the others is a
 * pure function of what it observed here. The runtime calls them with what it read from the real file
 * system and processes (`src/runtime/`, `src/handoff/`, `src/lock/`, `src/service/`); the protocol model
 * (`test/protocol/model.ts`) calls the *same* functions with what it reads from its simulated world. So a
 * wrong decision here is a wrong decision in both, and the model's invariants — judged from the simulated
 * world's record, not from the model's own steps — can refute it. `npm run sabotage` breaks each one in
 * turn and checks that a test notices (docs/architecture.md, "The sabotage catalogue").
 *
 * Nothing here reads a file, a clock or a process: observations come in as arguments.
 */
import type { ProcessProbe } from '../lock/process-identity.js';

// ---------------------------------------------------------------------------------------------------
// The instance lock.

/** What a lock's owner record says about its holder (both record versions reduce to this). */
export interface HolderRecord {
  pid: number;
  /** The recorded start identity, already compared by the caller's rule (`sameStart`): see {@link judgeHolder}. */
  startId: string | null;
}

/** What the judge of a lock holder observes besides the record. */
export interface HolderObservation {
  /** The record names a holder on this machine (else it can never be judged from here). */
  onThisMachine: boolean;
  /** The record is from another boot of this machine than ours (both boots known). */
  fromAnotherBoot?: boolean;
  /** Our own PID and start identity. */
  selfPid: number;
  selfStartId: string | null;
  /** A fresh probe of the recorded PID (ignored when it is our own). */
  probe: ProcessProbe;
  /** Does a live start identity match the record's? (v1 compares exactly, v2 by hash.) */
  sameStart: (startId: string) => boolean;
}

/** Why a holder is, or is not, still holding the lock. */
export type HolderReason = 'foreign-host' | 'earlier-boot' | 'held-by-this-process' | 'recycled-pid' | 'dead-pid' | 'zombie' | 'held' | 'held-stopped' | 'held-unverified';

/**
 * Is the lock's holder gone (`stale`: the lock may be taken over)? Another machine → never stale; our
 * PID with our start → held by us; PID gone, zombie, or alive with another start → stale; start unknown →
 * held (never guess "dead"). A stopped (SIGSTOPped, hung) holder still holds.
 */
export function judgeHolder(record: HolderRecord, seen: HolderObservation): { stale: boolean; reason: HolderReason } {
  if (!seen.onThisMachine) return { stale: false, reason: 'foreign-host' };
  if (seen.fromAnotherBoot === true) return judgeOtherBoot(record, seen);
  if (record.pid === seen.selfPid) {
    if (record.startId !== null && seen.selfStartId !== null && !seen.sameStart(seen.selfStartId)) return { stale: true, reason: 'recycled-pid' };
    return { stale: false, reason: 'held-by-this-process' };
  }
  const probe = seen.probe;
  if (!probe.exists) return { stale: true, reason: 'dead-pid' };
  if (probe.zombie) return { stale: true, reason: 'zombie' };
  if (record.startId !== null && probe.startId !== null) {
    if (!seen.sameStart(probe.startId)) return { stale: true, reason: 'recycled-pid' };
    return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held' };
  }
  return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held-unverified' };
}

/**
 * A holder from another boot is dead — unless its PID is alive with its recorded start identity (a boot
 * identity that moved with the wall clock, as macOS's `kern.boottime` does when the time is set); a live PID
 * whose start cannot be checked is held, as on this boot. For our own PID, `probe` is our own identity.
 */
function judgeOtherBoot(record: HolderRecord, seen: HolderObservation): { stale: boolean; reason: HolderReason } {
  const probe = seen.probe;
  if (!probe.exists || probe.zombie) return { stale: true, reason: 'earlier-boot' };
  // A live PID whose start cannot be checked (no start identity on record, or `ps` failed): never guess dead.
  if (record.startId === null || probe.startId === null) return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held-unverified' };
  if (!seen.sameStart(probe.startId)) return { stale: true, reason: 'earlier-boot' };
  if (record.pid === seen.selfPid) return { stale: false, reason: 'held-by-this-process' };
  return { stale: false, reason: probe.stopped ? 'held-stopped' : 'held' };
}

/**
 * May this process write what the lock guards (the ledger, its flags, a reset)? Only while the lock on
 * disk is still its own: the token read back from the lock's record now equals the one it placed. A
 * record that cannot be read (`null`) is not ours.
 */
export function writerHoldsLock(tokenOnDisk: string | null, ownToken: string): boolean {
  return tokenOnDisk !== null && tokenOnDisk === ownToken;
}

// ---------------------------------------------------------------------------------------------------
// Under the lock: a plain launch, `reset`.

/** What a plain launch does once it holds the lock and swept `handoff/`. */
export type LaunchUnderLock<P> = { kind: 'run' } | { kind: 'yield'; to: P };

/** A launch that slipped into the hand-off gap yields the lock to the successor waiting for it. */
export function launchUnderLock<P>(pending: P | null): LaunchUnderLock<P> {
  return pending === null ? { kind: 'run' } : { kind: 'yield', to: pending };
}

/** What `reset` does once it holds the lock and swept `handoff/`. */
export type ResetUnderLock<P> = { kind: 'reset' } | { kind: 'refuse'; for: P };

/** `reset` refuses while a relaunched successor is waiting for the lock (it would restart on an empty ledger). */
export function resetUnderLock<P>(pending: P | null): ResetUnderLock<P> {
  return pending === null ? { kind: 'reset' } : { kind: 'refuse', for: pending };
}

// ---------------------------------------------------------------------------------------------------
// The successor.

/** What a successor observes of its own hand-off at one moment. */
export interface SuccessionView {
  /** `T.cancelled` exists, or the predecessor said `cancelled` on the channel. */
  cancelled: boolean;
  /** What is left of its own wait (monotonic ms; 0 when it is over). */
  remainingMs: number;
}

/** Before it proves alive: a successor given up on, or whose wait is already over, leaves without a trace. */
export function successorMayProve(view: SuccessionView): boolean {
  return !view.cancelled && view.remainingMs > 0;
}

/** What a successor does right after the lock became its own. */
export type SuccessorUnderLock = { kind: 'go-on' } | { kind: 'leave'; reason: 'cancelled' | 'wait_over' };

/**
 * Given up on, or past its own wait (paused, starved: others have judged its proof expired and may have
 * acted on it — a launch ran, `reset` cleared the ledger): it must not run.
 */
export function successorUnderLock(view: SuccessionView): SuccessorUnderLock {
  if (view.cancelled) return { kind: 'leave', reason: 'cancelled' };
  if (view.remainingMs <= 0) return { kind: 'leave', reason: 'wait_over' };
  return { kind: 'go-on' };
}

/** What a successor reads of the relaunch gate in the ledger it loaded. */
export interface GateLedgerView {
  /** `restart_count`, or `null` when there is no ledger (or no gate in it). */
  restartCount: number | null;
  /** The hand-off token of the gate's pending request (`tokenForRequest(request.id)`), or `null`. */
  requestToken: string | null;
  /** The PID `restart.executed` named, when the gate's last result is `executed`. */
  executedPid: number | null;
}

/**
 * Is the restart in this ledger the one this successor was started for? `restart_count` 1 with the
 * gate's request whose id gives our token, or `restart.executed` naming our PID. Anything else — no
 * ledger, a reset one, another launch's restart, a request dropped when the predecessor gave up — and it
 * does not run: so a successor never restarts, and never runs on a ledger that is not its restart's.
 */
export function successorOwnsLedger(view: GateLedgerView, self: { token: string; pid: number }): boolean {
  if (view.restartCount !== 1) return false;
  return view.requestToken === self.token || view.executedPid === self.pid;
}

// ---------------------------------------------------------------------------------------------------
// The predecessor.

/**
 * Does the predecessor accept this proof? Its verdict is pending (alive with the recorded start
 * identity, not cancelled, inside its window), and for a successor that is our own child (`node`) the
 * proof names that child.
 */
export function predecessorAcceptsProof(proofPid: number, childPid: number | null, pending: boolean): boolean {
  if (childPid !== null && proofPid !== childPid) return false;
  return pending;
}

/** What the ledger on disk says of the relaunch gate, read back after a commit. */
export interface CommittedGate {
  restartCount: number | null;
  /** The id of the gate's pending request in that ledger, or `null`. */
  requestId: string | null;
}

/**
 * RS-3: the successor may start only once the ledger *on disk* holds this request with its
 * `restart_count`: `committed` is what was read back from the file after the commit, never the snapshot
 * in memory (`null`: nothing could be read).
 */
export function mayExecuteRelaunch(committed: CommittedGate | null, request: { restartCount: number; requestId: string }): boolean {
  if (committed === null || committed.restartCount === null) return false;
  return committed.restartCount >= request.restartCount && committed.requestId === request.requestId;
}

/** One step of giving a relaunch up. */
export type GiveUpAction = 'record' | 'kill-child' | 'mark-cancelled';

/**
 * The order of giving up on a successor (no acceptable proof in time, a failed start, the user quit):
 * 1. `record` — the ledger drops the gate's request first, so a successor that outlives everything (a
 *    `bundle` successor is not our child; we may be SIGKILLed right after) finds a ledger whose restart
 *    is not its own, and never runs — whatever happens to the marker (a sweep, a clock that jumped);
 * 2. `kill-child` — our own child (`node`): SIGKILLed, it can never come late;
 * 3. `mark-cancelled` — `T.cancelled`, for a successor that is not our child, and the channel's message.
 */
export function giveUpPlan(): GiveUpAction[] {
  return ['record', 'kill-child', 'mark-cancelled'];
}

// ---------------------------------------------------------------------------------------------------
// Restoring the ledger.

/**
 * LG-3 "nothing restarts twice" when the ledger had to be recovered from its backup: the backup is the
 * generation before the lost one, so one that still says `restart_count` 0 may be the generation right
 * before the RS-3 commit — the lost ledger may have spent the restart. Such a run starts with the budget
 * spent ("can cost the restart, never double it"). A backup that already says 1 gives nothing back.
 */
export function recoveryKeepsBudget(loadedKind: string, restoredCount: number | null): boolean {
  return !(loadedKind === 'recovered' && (restoredCount ?? 0) === 0);
}
