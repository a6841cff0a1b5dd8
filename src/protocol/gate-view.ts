/**
 * What the protocol's decisions read of the relaunch gate in a persisted root snapshot (the ledger's):
 * plain JSON reads, no `xstate` — a relaunched successor decides before it loads the machines.
 */
import { tokenForRequest } from '../handoff/handoff-protocol.js';
import type { CommittedGate, GateLedgerView } from './decisions.js';

type GateContext = { restartCount?: unknown; request?: { id?: unknown } | null; last?: { kind?: unknown; newPid?: unknown } };

function gateContext(snapshot: unknown): GateContext | undefined {
  return (snapshot as { children?: { relaunchGate?: { snapshot?: { context?: GateContext } } } } | null)?.children?.relaunchGate?.snapshot?.context;
}

const countOf = (gate: GateContext | undefined) => (typeof gate?.restartCount === 'number' ? gate.restartCount : null);
const requestIdOf = (gate: GateContext | undefined) => (typeof gate?.request?.id === 'string' ? gate.request.id : null);

/** The gate's view a successor's decision needs (`successorOwnsLedger`). */
export function gateLedgerView(snapshot: unknown): GateLedgerView {
  const gate = gateContext(snapshot);
  const id = requestIdOf(gate);
  const executed = gate?.last?.kind === 'executed' && typeof gate.last.newPid === 'number';
  return { restartCount: countOf(gate), requestToken: id === null ? null : tokenForRequest(id), executedPid: executed ? (gate!.last!.newPid as number) : null };
}

/** The gate of a committed snapshot, as RS-3 compares it (`mayExecuteRelaunch`); `null` without a snapshot. */
export function committedGate(snapshot: unknown): CommittedGate | null {
  if (snapshot === undefined || snapshot === null) return null;
  const gate = gateContext(snapshot);
  return { restartCount: countOf(gate), requestId: requestIdOf(gate) };
}

/** How the gate's last request ended (`executed`, `failed`, …), for the journal; `null` when unknown. */
export function gateLastKind(snapshot: unknown): string | null {
  const kind = gateContext(snapshot)?.last?.kind;
  return typeof kind === 'string' ? kind : null;
}
