/**
 * The successor's half of the hand-off (steps 2 and 5 of `handoff-protocol.ts`): prove alive, then wait
 * for the lock — bounded by its own monotonic clock, woken by the channel or by `fs.watch` on the state
 * dir (the lock's path changes there) — and, once it holds the lock, check it was not given up on.
 */
import * as fs from 'node:fs';
import { monotonicMs } from '../clock-monotonic.js';
import { successorChannel, type SuccessorChannel } from './handoff-channel.js';
import { clearHandoff, isHandoffCancelled, proofForThisProcess, writeAliveProof } from './handoff-files.js';
import { successorWaitMs, type HandoffRole } from './handoff-protocol.js';
import { successorMayProve } from '../protocol/decisions.js';

/** Options of {@link beginSuccession}. */
export interface SuccessionOptions {
  stateDir: string;
  token: string;
  role: HandoffRole;
  /** `restart.handoff_timeout_s` in ms: the successor's wait is derived from it (`successorWaitMs`). */
  handoffTimeoutMs: number;
  /** Where the channel is announced. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A successor between its proof and the lock. */
export interface Succession {
  /** The predecessor gave up on us before we even proved (or our own wait was over by then): do not run. */
  readonly cancelledEarly: boolean;
  /** How long, from now, we may still wait for the lock (monotonic). */
  remainingMs(): number;
  /** A sleep for the lock's retry loop that wakes at once when the predecessor released or left. */
  sleep(ms: number): Promise<void>;
  /** After the lock is ours: were we given up on (marker, or a `cancelled` message)? */
  wasCancelled(): boolean;
  /** Done with the hand-off (we hold the lock, or we give up): remove our files, close the channel. */
  finish(options: { clearFiles: boolean }): void;
}

/**
 * Prove alive (unless already cancelled) and return what the lock wait needs.
 * @throws {HandoffError} when the proof cannot be written.
 */
export function beginSuccession(options: SuccessionOptions): Succession {
  const { stateDir, token } = options;
  const waitMs = successorWaitMs(options.handoffTimeoutMs);
  const started = monotonicMs();
  const channel = successorChannel(token, options.env ?? process.env);
  const remainingMs = () => Math.max(0, waitMs - (monotonicMs() - started));
  // The proof promises what is left of our own wait, read at the instant its time is taken: a successor
  // paused before writing it publishes an old (or already expired) proof, never a fresh full window.
  const left = remainingMs();
  const proves = successorMayProve({ cancelled: isHandoffCancelled(stateDir, token), remainingMs: left });
  if (proves) {
    writeAliveProof(stateDir, proofForThisProcess(token, options.role, Math.round(left), Date.now()));
    channel?.sayAlive(process.pid);
  }
  // Only now is the channel read (its socket costs `node:net`): the predecessor is already judging the
  // proof, and what it said meanwhile (`cancelled`) waits in the socket pair.
  let toldCancelled = false;
  let woken = false;
  void channel?.signal.then((signal) => {
    woken = true;
    if (signal === 'cancelled') toldCancelled = true;
  });
  return {
    cancelledEarly: !proves,
    remainingMs,
    sleep: (ms) => wakeableSleep(ms, stateDir, channel, () => woken),
    wasCancelled: () => toldCancelled || isHandoffCancelled(stateDir, token),
    finish: ({ clearFiles }) => {
      channel?.close();
      if (clearFiles) clearHandoff(stateDir, token);
    },
  };
}

/** Sleep up to `ms`, waking early on the channel's signal or a change in the state dir. */
function wakeableSleep(ms: number, stateDir: string, channel: SuccessorChannel | null, alreadyWoken: () => boolean): Promise<void> {
  if (alreadyWoken()) return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)));
  return new Promise((resolve) => {
    let watcher: fs.FSWatcher | null = null;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    void channel?.signal.then(done);
    try {
      watcher = fs.watch(stateDir, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      // no fs.watch: the timer bounds the sleep
    }
  });
}
