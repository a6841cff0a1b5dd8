/**
 * The predecessor's half of the hand-off (steps 3–4 of `handoff-protocol.ts`): wait, bounded by the
 * hand-off timeout, for a proof that passes `judgeProof`; woken by the child's channel, by `fs.watch` on
 * `handoff/`, or by a slow fallback poll — and by the child's exit, which ends the wait at once.
 */
import { predecessorAcceptsProof } from '../protocol/decisions.js';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { handoffDir, judgeTokenNow, readAliveProof } from './handoff-files.js';
import type { PredecessorChannel } from './handoff-channel.js';

/** Options of {@link awaitSuccessorProof}. */
export interface AwaitSuccessorOptions {
  stateDir: string;
  token: string;
  /** How long the successor has to prove itself alive. */
  timeoutMs: number;
  /** Our child, when the successor is our child: its PID must be the proof's, and its exit ends the wait. */
  child?: ChildProcess | null;
  /** Whether the child is the successor itself (`node`), or a launcher that exits at once (`bundle`'s `open`). */
  childIsSuccessor?: boolean;
  channel?: PredecessorChannel | null;
  /** Fallback poll period (`fs.watch` and the channel are the fast paths). @default 50 */
  pollMs?: number;
}

/** What {@link awaitSuccessorProof} found. */
export type SuccessorOutcome =
  | { ok: true; pid: number }
  | { ok: false; reason: string; exitCode: number | null; signal: string | null };

/** The successor's PID when its proof is acceptable now, else `null`. */
export function acceptableProof(stateDir: string, token: string, childPid: number | null): number | null {
  const proof = readAliveProof(stateDir, token);
  if (proof === null || proof === 'malformed') return null;
  return predecessorAcceptsProof(proof.pid, childPid, judgeTokenNow(stateDir, proof).pending) ? proof.pid : null;
}

/** Wait for the successor of `token` to prove itself alive. Never rejects. */
export function awaitSuccessorProof(options: AwaitSuccessorOptions): Promise<SuccessorOutcome> {
  const { stateDir, token, child } = options;
  const childPid = options.childIsSuccessor && child?.pid ? child.pid : null;
  return new Promise<SuccessorOutcome>((resolve) => {
    let done = false;
    let watcher: fs.FSWatcher | null = null;
    const finish = (outcome: SuccessorOutcome) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      watcher?.close();
      resolve(outcome);
    };
    const look = () => {
      if (done) return;
      const pid = acceptableProof(stateDir, token, childPid);
      if (pid !== null) finish({ ok: true, pid });
    };
    const poll = setInterval(look, options.pollMs ?? 50);
    const timer = setTimeout(() => {
      // One last look: after a pause (SIGSTOP, a sleeping machine, a blocked loop) Node runs this expired
      // timer before the I/O that would have told us of a proof written meanwhile.
      look();
      finish({ ok: false, reason: `no successor proved itself alive within ${options.timeoutMs} ms (restart.handoff_timeout_s)`, exitCode: null, signal: null });
    }, options.timeoutMs);
    try {
      watcher = fs.watch(handoffDir(stateDir), { persistent: false }, look);
      watcher.on('error', () => watcher?.close());
    } catch {
      // no fs.watch here: the poll covers it
    }
    options.channel?.onAlive(look);
    child?.once('error', (error) => finish({ ok: false, reason: `the successor could not be started: ${error.message}`, exitCode: null, signal: null }));
    if (options.childIsSuccessor) {
      child?.once('exit', (exitCode, signal) => {
        look(); // a proof written just before a crash is judged by the PID's liveness: dead
        finish({ ok: false, reason: `the successor exited before the hand-off (code ${exitCode}, signal ${signal})`, exitCode, signal });
      });
    }
    look();
  });
}
