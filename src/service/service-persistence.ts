/**
 * The service's side of the ledger: coalesced commits of the root snapshot (one per burst of changes,
 * none for a snapshot that restores like the last one committed — `commitKey`), the relaunch gate's
 * RS-3 commit with its read-back, and giving a relaunch up in the order of `giveUpPlan`.
 */
import { selectRestartCount } from '../../machines/relaunch-gate.machine.js';
import type { Phase } from '../../machines/types.js';
import { ServiceError } from '../errors.js';
import { canonicalJson } from '../ledger/canonical-json.js';
import { giveUpPlan, mayExecuteRelaunch, type CommittedGate } from '../protocol/decisions.js';
import { committedGate } from '../protocol/gate-view.js';
import { orchestratorDurableProjection } from '../runtime/durable-projection.js';
import type { PersistSnapshot, Relauncher } from './create-first-run-service.js';

/**
 * What decides whether a snapshot needs a new commit — the ledger's own rule, not a second one: its
 * restart count and its durable projection (`orchestratorDurableProjection`, src/runtime/durable-projection.ts,
 * which the runtime's ledger store skips commits by). Two snapshots with the same key restore alike, so
 * the service does not even hand the second to `persist`; a snapshot the ledger would write always has
 * a new key. (A running step's polling loop, per-process fields, a precheck: see that module's rules.)
 */
export function commitKey(persisted: unknown): string {
  const projected = orchestratorDurableProjection(persisted);
  const count = selectRestartCount(persisted) ?? 0;
  return `${count}\u0000${projected === undefined ? 'nothing new' : canonicalJson(projected)}`;
}

/** What the persistence needs of the service. */
export interface PersistenceDeps {
  persist: PersistSnapshot | undefined;
  readCommitted: (() => CommittedGate | null) | undefined;
  relauncher: Relauncher | undefined;
  /** The root actor's persisted snapshot and phase, now. */
  current: () => { snapshot: unknown; phase: Phase };
  /** The service was stopped: scheduled commits are dropped (`stop()` commits the last state itself). */
  stopped: () => boolean;
  /** A commit failed (published as `ledger.write_failed`). */
  onWriteFailed: (error: unknown) => void;
}

export interface ServicePersistence {
  /** Commit the current snapshot now (after the commits already queued); the last result when nothing changed. */
  persistNow(): Promise<{ generation: number }>;
  /** One coalesced commit at the next turn of the event loop. */
  schedule(): void;
  /** The gate's `commitLedger`: commit, then RS-3 on what was committed. */
  commitForRelaunch(request: { restartCount: number; requestId: string }): Promise<{ generation: number }>;
  /** Give the relaunch up (`giveUpPlan`): the gate's dropped request committed, then the relauncher's steps. */
  giveUpRelaunch(requestId: string): Promise<void>;
  /** Resolves once a give-up under way has ended (nothing when there is none). */
  giveUpDone(): Promise<void>;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export function createServicePersistence(deps: PersistenceDeps): ServicePersistence {
  let scheduled = false;
  let chain: Promise<unknown> = Promise.resolve();
  let lastCommit: { key: string; result: { generation: number }; snapshot: unknown } | null = null;
  let givingUp: Promise<void> | null = null;

  const persistNow = (): Promise<{ generation: number }> => {
    const persist = deps.persist;
    if (!persist) return Promise.resolve({ generation: 0 });
    const run = chain.then(async () => {
      const { snapshot, phase } = deps.current();
      const key = commitKey(snapshot);
      if (lastCommit?.key === key) return lastCommit.result;
      const result = await persist(snapshot, { phase, restart_count: selectRestartCount(snapshot) ?? 0 });
      lastCommit = { key, result, snapshot };
      return result;
    });
    chain = run.catch(() => {});
    return run;
  };

  const persistReporting = () => persistNow().catch(deps.onWriteFailed);

  return {
    persistNow,
    schedule() {
      if (!deps.persist || scheduled || deps.stopped()) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (!deps.stopped()) void persistReporting();
      });
    },
    async commitForRelaunch(request) {
      // Let the gate's macrostep finish so the persisted snapshot holds the new count, then commit it.
      await nextTurn();
      const committed = await persistNow();
      if (!deps.persist) return committed;
      // RS-3 on what was committed: read back from the ledger file when the host can (the runtime does),
      // else the snapshot the persist hook acknowledged as durable — never the live actor's.
      const onDisk = deps.readCommitted ? deps.readCommitted() : committedGate(lastCommit?.snapshot);
      if (!mayExecuteRelaunch(onDisk, request)) {
        throw new ServiceError(
          `restart_count ${request.restartCount} of request ${request.requestId} is not in the committed ledger (read back: ${JSON.stringify(onDisk)}); no successor is started (RS-3)`,
        );
      }
      return committed;
    },
    giveUpRelaunch(requestId) {
      // The gate has dropped its request (the transition that called this); once that is committed, the
      // relauncher kills its child and writes the marker.
      givingUp ??= (async () => {
        for (const action of giveUpPlan()) {
          if (action !== 'record') {
            deps.relauncher?.abort?.(requestId, action);
            continue;
          }
          await nextTurn(); // the gate's macrostep ends first
          await persistReporting();
        }
      })();
      return givingUp;
    },
    giveUpDone: () => givingUp ?? Promise.resolve(),
  };
}
