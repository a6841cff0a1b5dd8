/**
 * The hand-off's files in `<stateDir>/handoff/` (the protocol: `handoff-protocol.ts`). Every read checks
 * the file type on the open descriptor (a FIFO planted at `T.alive` can never block us), every write is
 * temp + rename, and the directory itself is checked before the restart budget can be spent on it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { HandoffError } from '../errors.js';
import { readRegularFileSync } from '../fs/regular-file.js';
import { machineIdentity } from '../lock/machine-identity.js';
import { probeProcess, selfIdentity } from '../lock/process-identity.js';
import {
  HANDOFF_TOKEN_PATTERN,
  HANDOFF_VERSION,
  MAX_HANDOFF_FILE_BYTES,
  judgeProof,
  parseProof,
  type AliveProof,
  type HandoffRole,
  type ProofVerdict,
} from './handoff-protocol.js';

/** `<stateDir>/handoff`. */
export function handoffDir(stateDir: string): string {
  return path.join(stateDir, 'handoff');
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The path of one of a token's files. @throws {HandoffError} for a malformed token. */
export function tokenFile(stateDir: string, token: string, kind: 'alive' | 'cancelled'): string {
  if (!HANDOFF_TOKEN_PATTERN.test(token)) {
    throw new HandoffError(handoffDir(stateDir), `Expected the hand-off token to be 8–64 letters, digits or dashes, got ${JSON.stringify(token)}.`);
  }
  return path.join(handoffDir(stateDir), `${token}.${kind}`);
}

/**
 * Make sure `handoff/` is a directory of ours, 0700. Anything else at that path (a file, a FIFO, a
 * symlink, someone else's directory) is moved into `quarantine/` — nothing is deleted — and a fresh
 * directory is made. Called under the instance lock, before the restart budget can be spent.
 * @returns the quarantine path when something was moved aside.
 * @throws {HandoffError} when the directory cannot be made usable.
 */
export function ensureHandoffDir(stateDir: string): { quarantined: string | null } {
  const dir = handoffDir(stateDir);
  let quarantined: string | null = null;
  try {
    const stat = fs.lstatSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : stat.uid;
    if (stat.isDirectory() && stat.uid === uid) {
      if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
      return { quarantined };
    }
    const target = path.join(stateDir, 'quarantine', `handoff.${Date.now()}.${randomUUID().slice(0, 8)}`);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.renameSync(dir, target);
    quarantined = target;
  } catch (error) {
    if (code(error) !== 'ENOENT') {
      throw new HandoffError(dir, `Cannot make ${dir} a hand-off directory of ours (${code(error) ?? String(error)}); remove it by hand.`, { cause: error });
    }
  }
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (code(error) !== 'EEXIST') throw new HandoffError(dir, `Cannot create ${dir} (${code(error) ?? String(error)}).`, { cause: error });
  }
  return { quarantined };
}

let tempCounter = 0;

/**
 * Write `file` atomically (a private temp file, then rename). @throws the errno error.
 * The temp name is unique without `node:crypto` (whose load sat on the successor's way to its proof):
 * our PID, a per-process counter and the monotonic clock; `wx` refuses anything already there.
 */
function writeAtomic(file: string, content: string): void {
  const temp = `${file}.${process.pid}.${(tempCounter += 1)}${process.hrtime.bigint().toString(36)}.tmp`;
  fs.writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * What a proof names as its machine (`AliveProof.host`): this machine's identity tag (HE-9,
 * `machineIdentity`), not `os.hostname()` — a host renamed during a hand-off (a Bonjour conflict, DHCP)
 * must not make a live successor's proof "foreign". A proof written by an earlier version (a host name)
 * is judged foreign: not pending, the safe side.
 */
export function handoffHost(): string {
  return `machine:${machineIdentity().machine}`;
}

/** A new proof for this process. */
export function proofForThisProcess(token: string, role: HandoffRole, waitMs: number, now = Date.now()): AliveProof {
  return {
    version: HANDOFF_VERSION,
    role,
    token,
    pid: process.pid,
    startId: selfIdentity().startId,
    host: handoffHost(),
    provedAt: new Date(now).toISOString(),
    waitMs,
  };
}

/** Successor: write `T.alive`. @throws {HandoffError} */
export function writeAliveProof(stateDir: string, proof: AliveProof): void {
  const file = tokenFile(stateDir, proof.token, 'alive');
  try {
    // Made when missing (a successor started on an empty state dir); never moved aside without the lock.
    fs.mkdirSync(handoffDir(stateDir), { recursive: true, mode: 0o700 });
    writeAtomic(file, `${JSON.stringify(proof)}\n`);
  } catch (error) {
    throw new HandoffError(file, `Cannot write the hand-off proof ${file} (${code(error) ?? String(error)}): is ${handoffDir(stateDir)} a writable directory of ours?`, { cause: error });
  }
}

/**
 * Read `T.alive`: the proof, `null` when there is none, `'malformed'` when something is there that is not
 * a valid proof of this token (garbage, a FIFO, a directory, a symlink, too large).
 */
export function readAliveProof(stateDir: string, token: string): AliveProof | null | 'malformed' {
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(tokenFile(stateDir, token, 'alive'), { maxBytes: MAX_HANDOFF_FILE_BYTES, noFollow: true });
  } catch (error) {
    if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return null;
    return 'malformed';
  }
  return parseProof(bytes.toString('utf8'), token) ?? 'malformed';
}

/**
 * Predecessor: give up on T — a successor of T that comes late exits without running. Never throws: a
 * failure is returned (the caller journals it), because giving up must go on to verifying in place.
 */
export function cancelHandoff(stateDir: string, token: string): Error | null {
  try {
    writeAtomic(tokenFile(stateDir, token, 'cancelled'), `${JSON.stringify({ token, by: process.pid, at: new Date().toISOString() })}\n`);
    return null;
  } catch (error) {
    return error as Error;
  }
}

/** `T.cancelled` exists (whatever it is: anything at that path means "do not run"). */
export function isHandoffCancelled(stateDir: string, token: string): boolean {
  try {
    fs.lstatSync(tokenFile(stateDir, token, 'cancelled'));
    return true;
  } catch (error) {
    return code(error) !== 'ENOENT' && code(error) !== 'ENOTDIR';
  }
}

/** How old `T.cancelled` is (ms, clamped at 0), `null` when absent. */
export function cancelMarkerAgeMs(stateDir: string, token: string, now = Date.now()): number | null {
  try {
    return Math.max(0, now - fs.lstatSync(tokenFile(stateDir, token, 'cancelled')).mtimeMs);
  } catch {
    return null;
  }
}

/** Remove T's files (a successor that holds the lock, or the sweep). Never throws. */
export function clearHandoff(stateDir: string, token: string): void {
  for (const kind of ['alive', 'cancelled'] as const) {
    try {
      fs.rmSync(tokenFile(stateDir, token, kind), { force: true, recursive: true });
    } catch {
      // the next sweep tries again
    }
  }
}

/** The tokens that have files in `handoff/` (and stray temp files, for the sweep). */
export function listHandoffEntries(stateDir: string): { tokens: string[]; temps: string[] } {
  let names: string[];
  try {
    names = fs.readdirSync(handoffDir(stateDir));
  } catch {
    return { tokens: [], temps: [] };
  }
  const tokens = new Set<string>();
  const temps: string[] = [];
  for (const name of names) {
    if (name.endsWith('.tmp')) temps.push(path.join(handoffDir(stateDir), name));
    const match = /^(.+)\.(alive|cancelled)$/.exec(name);
    if (match?.[1] && HANDOFF_TOKEN_PATTERN.test(match[1])) tokens.add(match[1]);
  }
  return { tokens: [...tokens], temps };
}

/** Judge T's proof as it is now (a fresh probe of its PID). */
export function judgeTokenNow(stateDir: string, proof: AliveProof, now = Date.now()): ProofVerdict {
  return judgeProof(proof, {
    now,
    probe: probeProcess(proof.pid),
    cancelled: isHandoffCancelled(stateDir, proof.token),
    selfPid: process.pid,
    host: handoffHost(),
  });
}
