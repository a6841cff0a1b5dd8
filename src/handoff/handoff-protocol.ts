/**
 * The relaunch hand-off protocol (RS-7): how the running app (the *predecessor*, holding the instance
 * lock) gives the app to the process it started (the *successor*) so that the two never run at once,
 * the successor never runs after the predecessor gave up on it, and nobody else — a plain launch, a
 * `reset`, a `status` — mistakes a dead, recycled, hung or forged successor for a live one.
 * The instance lock's own protocol is in `src/lock/lock-protocol.ts`; this one sits on top of it.
 *
 * ## The parties and the files
 * `<stateDir>/handoff/` (0700, ours; anything else there is moved to `quarantine/` first) holds, per
 * one-time token T (a UUID the predecessor draws for one relaunch):
 * - `T.alive` — the successor's proof: `{version: 2, role, token, pid, startId, host, provedAt, waitMs}`,
 *   written atomically (temp + rename) by the successor before it waits for the lock;
 * - `T.cancelled` — the predecessor gave up on T (written atomically); a successor of T never runs.
 *
 * ## The steps
 * 1. Predecessor (lock held, `restart_count: 1` already committed — RS-3): draws T, starts the successor
 *    with `--successor-of <pid> --handoff-token T` (arguments composed for the successor, never copied:
 *    `composeSuccessorArgs`). For the `node` strategy the child also inherits a private channel (a
 *    socket pair on fd 3, announced by `FIRST_RUN_HANDOFF_CHANNEL=3:T` in its environment).
 *    *Held start* (`node` strategy, an entry that holds — the CLI's `launch`): the child may be started
 *    earlier, once this process's own request is armed (`Relauncher.prepare`), with
 *    `FIRST_RUN_HANDOFF_HOLD=1`; it boots, reads its config, checks the state dir and opens its journal,
 *    then blocks on the channel right before its first journal line (`holdForGo`, the runtime's
 *    `holdForGo` option), until the predecessor says `go` — exactly where step 1 would start it, after
 *    the RS-3 commit. Until `go` it writes nothing, proves nothing, takes nothing, so for this
 *    protocol it does not exist yet (the model's `spawn` is the `go`); a channel that closes first (the
 *    predecessor died) or says anything else makes it exit, and a restart that does not go ahead kills
 *    it (`abandon`). It saves the successor's Node start-up from the hand-off (docs/performance.md).
 * 2. Successor: if `T.cancelled` exists, exits. Else writes `T.alive` with its identity — PID **and**
 *    process start identity (`probeProcess`, as the lock records its holder) — and the bound of its own
 *    wait (`waitMs`, derived from `handoff_timeout_s` by {@link successorWaitMs}, never from a CLI flag);
 *    says `alive` on the channel when it has one (a synchronous write, after the file: the file is the
 *    truth, the message only wakes the predecessor); then waits for the lock, at most `waitMs` by its own
 *    monotonic clock, waking at once when the channel says `released` or closes.
 * 3. Predecessor: accepts the proof only when {@link judgeProof} says the PID is alive *with the recorded
 *    start identity* and is not its own (channel message and file must agree for the `node` strategy;
 *    the file alone, seen by `fs.watch` plus a slow poll, for `bundle`, whose successor is not our
 *    child). Then `restart.executed` is committed, the lock released, `released` sent, and it exits.
 * 4. No acceptable proof within `handoff_timeout_s` (or a failed start, or the user quit): the predecessor
 *    gives up in the order of `giveUpPlan` (src/protocol/decisions.ts) — first the ledger drops the
 *    gate's request (committed), then its child is SIGKILLed (`node`), then `T.cancelled` is written —
 *    and verifies in place (`restart_unverified`). It never relaunches again (the gate's budget).
 * 5. Successor, once it holds the lock: if `T.cancelled` exists, or its own wait is over (it was paused
 *    or starved past it: others have judged its proof expired and may have acted), releases and exits
 *    (`cancelled_successor`); else removes T's files and reads the ledger. It runs POST_RESTART_VERIFY
 *    only when the restart in the ledger is its own — `restart_count: 1` with the gate's request whose id
 *    gives T (`tokenForRequest`), or `restart.executed` naming its PID; otherwise (a `reset`, another
 *    launch's restart) it exits without running. So **a successor never restarts**, and never runs on a
 *    ledger that is not the one it was started for.
 *
 * ## What everyone else concludes from `T.alive` ({@link judgeProof})
 * A proof is *pending* — a plain launch that took the lock in the gap yields it (exit 3) and `reset`
 * refuses (exit 3) — only while all hold: it parses; its machine is ours (`handoffHost`: the machine's
 * identity, HE-9, never its changeable name); a process with its PID exists, is
 * not a zombie, and has the recorded start identity (a reused PID has another: **not pending**); it is
 * not cancelled; and the wall clock is inside `[provedAt − CLOCK_SKEW_MS, provedAt + waitMs]`. Outside
 * that window the successor has given up by its own clock (or is hung, SIGSTOPped): launches go ahead.
 * A clock that jumped backwards before `provedAt` makes the proof not pending either — the safe side,
 * because a wrong "not pending" can cost nothing worse than a successor that finds the lock taken and
 * gives up (the lock is still exclusive, and a successor never restarts), while a wrong "pending" would
 * lock the user out of the app.
 *
 * ## Why `reset` cannot cause a second restart through the hand-off
 * `reset` takes the instance lock, *then* looks for a pending proof, and refuses while there is one.
 * The predecessor releases the lock only after it saw the proof, so a successor that could still take
 * the lock after a *release* has its proof on disk before `reset` holds the lock — `reset` sees it. A
 * predecessor that dies instead has its lock taken over, and `reset` may then run before its successor
 * proved (found by the protocol model, test/protocol/); so may a `reset` that judged a proof expired
 * while its successor was paused. In both cases the successor finds the ledger is not its restart's and
 * exits without running (step 5): the reset stands, and no restart is repeated.
 *
 * ## Cleanup
 * The lock holder sweeps `handoff/` ({@link sweepDecision}): files of a successor that is provably gone
 * (dead, zombie, recycled PID, unparsable, another format) go at once; a `cancelled` marker stays while
 * its successor could still be waiting (`MAX_SUCCESSOR_WAIT_MS` + skew); a hung successor's proof stays
 * (it is not pending, and `status` names it). Nothing there is ever trusted because of its age alone.
 *
 * Not covered: two machines with one machine identity sharing a state dir (cloned images without a
 * fresh machine-id), and a process that can write the state dir as this user (it can do anything we can).
 * (PID namespaces are told apart: the machine identity includes the PID namespace on Linux.)
 */
import type { ProcessProbe } from '../lock/process-identity.js';
import { isPid, parseJsonObject } from '../safe-json.js';

/** The proof format this module writes and accepts. */
export const HANDOFF_VERSION = 2;

/** What a hand-off token looks like (a UUID; the CLI refuses anything else). */
export const HANDOFF_TOKEN_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

/**
 * The hand-off token of a relaunch: derived from the relaunch gate's request id (`<bootId>:<n>`, in the
 * ledger since the RS-3 commit), so a successor can tell that the restart in the ledger is its own
 * (step 5). `null` when the id cannot make a token.
 */
export function tokenForRequest(requestId: string): string | null {
  const token = requestId.replace(/[^A-Za-z0-9-]/g, '-');
  return HANDOFF_TOKEN_PATTERN.test(token) ? token : null;
}

/** Proofs and markers are tiny; anything larger is not ours and is never read past this. */
export const MAX_HANDOFF_FILE_BYTES = 4096;

/** How far a proof's time may lie ahead of our clock before we call the clock moved. */
export const CLOCK_SKEW_MS = 2000;

/** The largest `handoff_timeout_s` the config accepts, in ms (see src/config/defaults.ts). */
export const MAX_HANDOFF_TIMEOUT_MS = 600_000;

/** Who wrote a proof: a first-run relaunch or a dev restart (journaled under its own names). */
export type HandoffRole = 'restart' | 'dev';

/** The successor's proof of life, `handoff/<token>.alive`. */
export interface AliveProof {
  version: typeof HANDOFF_VERSION;
  role: HandoffRole;
  token: string;
  /** The successor's PID. */
  pid: number;
  /** Its exact start identity (`probeProcess().startId`); `null` where the platform cannot tell. */
  startId: string | null;
  /** The successor's machine (`handoffHost()`: its identity tag; an earlier version wrote `os.hostname()`). */
  host: string;
  /** When the proof was written (ISO, wall clock). */
  provedAt: string;
  /** How long, from `provedAt`, the successor waits for the lock before it gives up. */
  waitMs: number;
}

/**
 * How long a successor waits for the lock after its proof: the predecessor's whole hand-off window plus
 * the time it needs to commit and release once it saw the proof (a fraction of a second, with room for a
 * slow disk: between 1 s and 5 s, scaled with the window).
 */
export function successorWaitMs(handoffTimeoutMs: number): number {
  return handoffTimeoutMs + Math.min(5000, Math.max(1000, handoffTimeoutMs));
}

/** No successor ever waits longer than this (the bound for `waitMs` read back from a file). */
export const MAX_SUCCESSOR_WAIT_MS = successorWaitMs(MAX_HANDOFF_TIMEOUT_MS);

/** Why a proof is, or is not, a successor that is waiting now. */
export type ProofReason =
  /** Alive with the recorded start identity, inside its window. */
  | 'waiting'
  /** Alive inside its window, but its start identity cannot be checked on this platform. */
  | 'waiting-unverified'
  | 'cancelled'
  /** No process with that PID. */
  | 'dead-pid'
  | 'zombie'
  /** A process with that PID exists but started at another time: the PID was reused. */
  | 'recycled-pid'
  /** Its window is over: the successor gave up, or hangs (SIGSTOP, a blocked thread). */
  | 'expired'
  /** It claims a time ahead of our clock: the clock moved back; not trusted. */
  | 'clock-moved'
  /** It names this very process. */
  | 'this-process'
  /** Written on another host: cannot be checked from here. */
  | 'foreign-host';

/** The verdict of {@link judgeProof}. */
export interface ProofVerdict {
  pending: boolean;
  reason: ProofReason;
}

/** What {@link judgeProof} observes besides the proof. */
export interface ProofObservation {
  /** Wall-clock now, epoch ms. */
  now: number;
  /** A fresh probe of `proof.pid` (`probeProcess`). */
  probe: ProcessProbe;
  /** `handoff/<token>.cancelled` exists. */
  cancelled: boolean;
  /** Our PID. */
  selfPid: number;
  /** Our `os.hostname()`. */
  host: string;
}

/** The proof's identity check alone: is the process that wrote it still that process? */
export function judgeIdentity(proof: AliveProof, probe: ProcessProbe): ProofReason {
  if (!probe.exists) return 'dead-pid';
  if (probe.zombie) return 'zombie';
  if (proof.startId !== null && probe.startId !== null) return proof.startId === probe.startId ? 'waiting' : 'recycled-pid';
  return 'waiting-unverified';
}

/**
 * Is this proof a successor that is waiting for the lock right now? See the module comment: identity
 * (PID + start identity), not cancelled, and inside its clamped time window.
 */
export function judgeProof(proof: AliveProof, seen: ProofObservation): ProofVerdict {
  if (proof.host !== seen.host) return { pending: false, reason: 'foreign-host' };
  if (proof.pid === seen.selfPid) return { pending: false, reason: 'this-process' };
  const identity = judgeIdentity(proof, seen.probe);
  if (identity !== 'waiting' && identity !== 'waiting-unverified') return { pending: false, reason: identity };
  if (seen.cancelled) return { pending: false, reason: 'cancelled' };
  const provedAt = Date.parse(proof.provedAt);
  if (seen.now < provedAt - CLOCK_SKEW_MS) return { pending: false, reason: 'clock-moved' };
  if (seen.now > provedAt + Math.min(proof.waitMs, MAX_SUCCESSOR_WAIT_MS)) return { pending: false, reason: 'expired' };
  return { pending: true, reason: identity };
}

/** What the lock holder does with one token's files when it sweeps `handoff/`. */
export type SweepAction = 'keep' | 'remove';

/**
 * Sweep rule (see the module comment): remove what no live successor can still read; keep a marker
 * while its successor may still be waiting, and a live (even hung) successor's files.
 * @param verdict the proof's verdict, or `'malformed'` when `T.alive` exists but is not a valid proof, or
 *   `null` when there is no `T.alive`.
 * @param markerAgeMs how old `T.cancelled` is (by its mtime, clamped at 0), or `null` when absent.
 */
export function sweepDecision(verdict: ProofVerdict | 'malformed' | null, markerAgeMs: number | null): SweepAction {
  if (verdict === 'malformed') return 'remove';
  if (verdict !== null) {
    const gone = verdict.reason === 'dead-pid' || verdict.reason === 'zombie' || verdict.reason === 'recycled-pid';
    return gone ? 'remove' : 'keep';
  }
  if (markerAgeMs === null) return 'remove';
  return markerAgeMs > MAX_SUCCESSOR_WAIT_MS + CLOCK_SKEW_MS ? 'remove' : 'keep';
}

/** Parse a proof file's text; `null` for anything that is not a complete, well-formed v2 proof. */
export function parseProof(text: string, token: string): AliveProof | null {
  const v = parseJsonObject(text);
  if (v === null || v.version !== HANDOFF_VERSION || v.token !== token) return null;
  if ((v.role !== 'restart' && v.role !== 'dev') || !isPid(v.pid)) return null;
  if (v.startId !== null && typeof v.startId !== 'string') return null;
  if (typeof v.host !== 'string' || typeof v.provedAt !== 'string' || !Number.isFinite(Date.parse(v.provedAt))) return null;
  if (typeof v.waitMs !== 'number' || !Number.isFinite(v.waitMs) || v.waitMs < 0) return null;
  return { version: HANDOFF_VERSION, role: v.role, token, pid: v.pid, startId: v.startId, host: v.host, provedAt: v.provedAt, waitMs: v.waitMs };
}
