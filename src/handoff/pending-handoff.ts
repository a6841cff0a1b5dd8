/**
 * What launches, `reset` and `status` see of the hand-off: is a successor waiting for the lock right now,
 * and the lock holder's sweep of what no successor can still use (rules in `handoff-protocol.ts`).
 */
import * as fs from 'node:fs';
import {
  cancelMarkerAgeMs,
  clearHandoff,
  judgeTokenNow,
  listHandoffEntries,
  readAliveProof,
} from './handoff-files.js';
import { sweepDecision, type AliveProof, type ProofReason, type ProofVerdict } from './handoff-protocol.js';

/** A successor that proved itself alive and is waiting for the lock. */
export interface PendingHandoff {
  token: string;
  pid: number;
  role: AliveProof['role'];
  provedAt: string;
  /** Wall-clock time after which the successor has given up (ISO). */
  waitsUntil: string;
  reason: Extract<ProofReason, 'waiting' | 'waiting-unverified'>;
}

/** One token's state, for `status`. */
export interface HandoffEntry {
  token: string;
  pid: number | null;
  pending: boolean;
  reason: ProofReason | 'malformed' | 'no-proof';
  cancelled: boolean;
}

/** One token's proof as read, and its verdict now (`null` without a proof, `'malformed'` for a bad one). */
function judged(stateDir: string, token: string, now: number): { proof: AliveProof | null; verdict: ProofVerdict | 'malformed' | null } {
  const proof = readAliveProof(stateDir, token);
  if (proof === null || proof === 'malformed') return { proof: null, verdict: proof };
  return { proof, verdict: judgeTokenNow(stateDir, proof, now) };
}

/** Every token in `handoff/`, judged now. Never throws; never opens anything but regular files. */
export function inspectHandoffs(stateDir: string, now = Date.now()): HandoffEntry[] {
  return listHandoffEntries(stateDir).tokens.map((token) => {
    const { proof, verdict } = judged(stateDir, token, now);
    const cancelled = cancelMarkerAgeMs(stateDir, token, now) !== null;
    if (verdict === null || verdict === 'malformed') return { token, pid: null, pending: false, reason: verdict ?? 'no-proof', cancelled };
    return { token, pid: proof!.pid, pending: verdict.pending, reason: verdict.reason, cancelled };
  });
}

/** The pending hand-off a judged token is, or `null`. */
function pendingOf(token: string, { proof, verdict }: ReturnType<typeof judged>): PendingHandoff | null {
  if (proof === null || verdict === null || verdict === 'malformed' || !verdict.pending) return null;
  const waitsUntil = new Date(Date.parse(proof.provedAt) + proof.waitMs).toISOString();
  return { token, pid: proof.pid, role: proof.role, provedAt: proof.provedAt, waitsUntil, reason: verdict.reason as PendingHandoff['reason'] };
}

/** The successor waiting for the lock right now, if any (see `judgeProof`). */
export function findPendingHandoff(stateDir: string, now = Date.now()): PendingHandoff | null {
  for (const token of listHandoffEntries(stateDir).tokens) {
    const pending = pendingOf(token, judged(stateDir, token, now));
    if (pending) return pending;
  }
  return null;
}

/**
 * {@link sweepHandoffs} and then {@link findPendingHandoff}, from one listing of `handoff/` and one
 * judgement per token (a launch does both at every start). Never throws.
 */
export function sweepAndFindPending(stateDir: string, now = Date.now()): { swept: string[]; pending: PendingHandoff | null } {
  const { tokens, temps } = listHandoffEntries(stateDir);
  const swept: string[] = [];
  let pending: PendingHandoff | null = null;
  for (const token of tokens) {
    const judgement = judged(stateDir, token, now);
    if (sweepDecision(judgement.verdict, cancelMarkerAgeMs(stateDir, token, now)) === 'remove') {
      clearHandoff(stateDir, token);
      swept.push(token);
    } else pending ??= pendingOf(token, judgement);
  }
  sweepTemps(temps, now);
  return { swept, pending };
}

/**
 * The lock holder's sweep: remove the files of successors that are provably gone, expired markers and
 * stray temp files older than a minute. Returns the tokens removed. Never throws.
 */
export function sweepHandoffs(stateDir: string, options: { now?: number } = {}): string[] {
  return sweepAndFindPending(stateDir, options.now ?? Date.now()).swept;
}

/** Stray temp files older than a minute go. */
function sweepTemps(temps: readonly string[], now: number): void {
  for (const temp of temps) {
    try {
      if (now - fs.lstatSync(temp).mtimeMs > 60_000) fs.rmSync(temp, { force: true, recursive: true });
    } catch {
      // gone meanwhile
    }
  }
}
