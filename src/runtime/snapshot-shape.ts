/**
 * The check of a ledger snapshot that needs no machine: what `validateOrchestratorSnapshot`
 * (`snapshot.ts`) checks before it asks XState. A launch that may end warm loads the ledger with this
 * check alone, so it reads the ledger before loading xstate; the machines' own check follows before
 * anything restores the snapshot (`run-first-run.ts`, `checkedByMachines`).
 */
/** The child actors every persisted orchestrator snapshot has. */
export const SNAPSHOT_CHILDREN = ['relaunchGate', 'quitIntent', 'tray'] as const;

/**
 * Throw, with the reason, when `snapshot` is not shaped like a persisted orchestrator snapshot: an
 * object, `status: 'active'`, a context, the three child actors, a restart count of 0 or 1.
 */
export function validateSnapshotShape(snapshot: unknown): void {
  if (typeof snapshot !== 'object' || snapshot === null) throw new Error('the snapshot is not an object');
  const persisted = snapshot as { status?: unknown; context?: unknown; children?: Record<string, unknown> };
  if (persisted.status !== 'active') throw new Error(`the snapshot's status is ${JSON.stringify(persisted.status)}, expected "active"`);
  if (typeof persisted.context !== 'object' || persisted.context === null) throw new Error('the snapshot has no context');
  for (const child of SNAPSHOT_CHILDREN) {
    if (!persisted.children || typeof persisted.children[child] !== 'object') {
      throw new Error(`the snapshot has no "${child}" child actor`);
    }
  }
  const gate = persisted.children?.relaunchGate as { snapshot?: { context?: { restartCount?: unknown } } } | null;
  const count = gate?.snapshot?.context?.restartCount;
  if (count !== 0 && count !== 1) throw new Error(`restart_count is ${JSON.stringify(count ?? null)}, expected 0 or 1`);
}
