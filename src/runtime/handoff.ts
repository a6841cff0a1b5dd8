/**
 * The relaunch handshake (RS-7) between the old process and its successor, through files in
 * `<stateDir>/handoff/` — files, not pipes, because a packaged app relaunched with `open -n -a` is
 * not our child and shares nothing with us but the state dir.
 *
 * 1. The old process (lock holder) starts the successor with a one-time token.
 * 2. The successor writes `<token>.alive` = {token, pid, started_at} (atomically), then waits for the lock.
 * 3. The old process sees the token with a live PID that is not its own, releases the lock, exits.
 * 4. If no proof comes within `handoff_timeout_s`, the old process writes `<token>.cancelled` (and kills
 *    its child when it has one); a late successor sees it and exits without doing anything.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RelaunchError } from '../errors.js';
import { isPidAlive } from './process-alive.js';

/** What a hand-off token looks like (a UUID; the CLI refuses anything else). */
export const HANDOFF_TOKEN_PATTERN = /^[A-Za-z0-9-]{8,64}$/;

export function handoffDir(stateDir: string): string {
  return join(stateDir, 'handoff');
}

function tokenFile(stateDir: string, token: string, kind: 'alive' | 'cancelled'): string {
  if (!HANDOFF_TOKEN_PATTERN.test(token)) {
    throw new RelaunchError(`Expected the hand-off token to be 8–64 letters, digits or dashes, got ${JSON.stringify(token)}.`);
  }
  return join(handoffDir(stateDir), `${token}.${kind}`);
}

function writeAtomic(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, file);
}

/** Successor: prove it is alive. */
export function writeAliveProof(stateDir: string, token: string, pid = process.pid): void {
  mkdirSync(handoffDir(stateDir), { recursive: true, mode: 0o700 });
  writeAtomic(tokenFile(stateDir, token, 'alive'), JSON.stringify({ token, pid, started_at: new Date().toISOString() }));
}

/** Old process: the successor's PID when its proof is there, valid, and that PID is alive and not ours. */
export function readAliveProof(stateDir: string, token: string): number | null {
  let raw: string;
  try {
    raw = readFileSync(tokenFile(stateDir, token, 'alive'), 'utf8');
  } catch {
    return null;
  }
  try {
    const proof = JSON.parse(raw) as { token?: unknown; pid?: unknown };
    if (proof.token !== token || typeof proof.pid !== 'number' || !Number.isInteger(proof.pid)) return null;
    if (proof.pid === process.pid || !isPidAlive(proof.pid)) return null;
    return proof.pid;
  } catch {
    return null;
  }
}

/** Old process: give up on this token; a late successor will exit. */
export function cancelHandoff(stateDir: string, token: string): void {
  mkdirSync(handoffDir(stateDir), { recursive: true, mode: 0o700 });
  writeAtomic(tokenFile(stateDir, token, 'cancelled'), JSON.stringify({ token, by: process.pid, at: new Date().toISOString() }));
}

export function isHandoffCancelled(stateDir: string, token: string): boolean {
  try {
    readFileSync(tokenFile(stateDir, token, 'cancelled'));
    return true;
  } catch {
    return false;
  }
}

/** Successor, once it holds the lock: the handshake files of its token are done with. */
export function clearHandoff(stateDir: string, token: string): void {
  for (const kind of ['alive', 'cancelled'] as const) rmSync(tokenFile(stateDir, token, kind), { force: true });
}

/**
 * A relaunched (or dev-restarted) successor that proved itself alive and is waiting for the lock: its
 * proof is there, not cancelled, and its PID is alive. A plain launch that happens to take the lock in
 * the instant between the predecessor's release and the successor's next try yields it to the successor.
 */
export function findPendingSuccessor(stateDir: string): { pid: number; token: string } | null {
  let names: string[];
  try {
    names = readdirSync(handoffDir(stateDir));
  } catch {
    return null;
  }
  for (const name of names) {
    if (!name.endsWith('.alive')) continue;
    const token = name.slice(0, -'.alive'.length);
    if (!HANDOFF_TOKEN_PATTERN.test(token) || isHandoffCancelled(stateDir, token)) continue;
    const pid = readAliveProof(stateDir, token);
    if (pid !== null) return { pid, token };
  }
  return null;
}
