/**
 * What the runtime checks before it resumes a ledger snapshot (LG-3), and the safe-mode snapshot it
 * starts from when no ledger can be trusted.
 */
import { createActor } from 'xstate';
import { orchestratorMachine } from '../../machines/orchestrator.machine.js';
import type { OrchestratorSettings } from '../../machines/types.js';
import { SNAPSHOT_CHILDREN, validateSnapshotShape } from './snapshot-shape.js';

/**
 * Throw, with the reason, when `snapshot` cannot be restored into today's machines: an actor in error,
 * a state the machine no longer has (XState does not throw for that: it hands back `status: 'error'`),
 * a missing child, or a restart count that is not 0 or 1.
 */
export function validateOrchestratorSnapshot(snapshot: unknown): void {
  validateSnapshotShape(snapshot);
  const persisted = snapshot as { value?: unknown; context?: unknown };
  try {
    orchestratorMachine.resolveState({ value: persisted.value as never, context: persisted.context as never });
  } catch (error) {
    throw new Error(`unknown state ${JSON.stringify(persisted.value)}: ${(error as Error).message}`);
  }
  const actor = createActor(orchestratorMachine, { snapshot: snapshot as never, input: undefined as never });
  const restored = actor.getSnapshot();
  if (restored.status === 'error') throw new Error(`XState cannot restore it: ${String(restored.error)}`);
  for (const child of SNAPSHOT_CHILDREN) {
    const ref = restored.children[child as keyof typeof restored.children] as { getSnapshot(): { status: string; error?: unknown } } | undefined;
    const childSnapshot = ref?.getSnapshot();
    if (!childSnapshot || childSnapshot.status === 'error') {
      throw new Error(`the "${child}" child cannot be restored: ${String(childSnapshot?.error ?? 'missing')}`);
    }
  }
}

/**
 * The safe mode (LG-3): a fresh run whose restart budget is already spent, so the pipeline still runs
 * but nothing can restart. Built from a fresh snapshot of the real machine, not by hand. Also what a
 * relaunched successor starts from when its ledger does not show the restart as spent (a successor
 * never restarts: `src/handoff/handoff-protocol.ts`).
 */
export function safeModeSnapshot(
  settings: OrchestratorSettings,
  bootId: string,
  why = 'safe mode: no usable ledger, the restart budget is treated as spent',
): unknown {
  const actor = createActor(orchestratorMachine, { input: { settings, bootId } });
  const snapshot = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as {
    children: { relaunchGate: { snapshot: { context: Record<string, unknown> } } };
  };
  const gate = snapshot.children.relaunchGate.snapshot.context;
  gate.restartCount = 1;
  gate.last = { kind: 'spent_unexecuted', why };
  return snapshot;
}

/**
 * `snapshot` (a restored ledger's) with the relaunch gate's budget spent: `restart_count` 1, and why, as
 * the gate's last result. A deep copy; the restored snapshot is never written to.
 */
export function withBudgetSpent(snapshot: unknown, why: string): unknown {
  const copy = JSON.parse(JSON.stringify(snapshot)) as { children: { relaunchGate: { snapshot: { context: Record<string, unknown> } } } };
  const gate = copy.children.relaunchGate.snapshot.context;
  gate.restartCount = 1;
  gate.last = { kind: 'spent_unexecuted', why };
  return copy;
}
