/**
 * The single-instance lock (LK-1..3): acquire (at once or waiting up to a timeout), a handle that can
 * tell whether the lock is still ours, and a release that never removes someone else's lock.
 * The protocol and its race-freedom argument are in `lock-protocol.ts`.
 */
import { writerHoldsLock } from '../protocol/decisions.js';
import { LockAcquisitionError, LockCompromisedError, LockFileError, UsageError, describeValue } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';
import { pauseAfterRefusal } from '../retry-deadline.js';
import { resolveLockPaths, type LockLocationOptions, type LockPaths } from './lock-paths.js';
import { inspectLockDir, ownerForThisProcess, readOwner, type LockInspection, type LockOwner, type LockStateReason } from './lock-owner.js';
import { placeLock, removeOwnedLock, takeOver, type TakeoverEnv } from './lock-protocol.js';
import { MACHINE_HOST_PREFIX, newToken, type WritableOwner } from './lock-record.js';

/** Options shared by every lock function that judges staleness. */
export interface LockJudgeOptions extends LockLocationOptions {
  /**
   * How long a lock without a readable owner record counts as held ("being created") after its last
   * change — and, for an mtime in the future, before it (a wall clock set back is not trusted). After
   * that it is stale. Such a lock only comes from an earlier version's directory format, a power loss or
   * something outside this protocol: the protocol itself never shows a lock without its owner.
   * @default 2000
   */
  graceMs?: number;
  /**
   * Clock for `acquiredAt`, the grace period and the acquire deadline (sleeps between tries use real timers).
   * @default systemClock
   */
  clock?: Pick<Clock, 'now'>;
}

/** Options of {@link acquireInstanceLock} and {@link tryAcquireInstanceLock}. */
export interface AcquireInstanceLockOptions extends LockJudgeOptions {
  /**
   * How long to wait for a live holder to let go. `0` fails at once (a dead holder's lock is still taken
   * over at once). A successor started by a relaunch passes a bound here, e.g. the hand-off timeout.
   * @default 0
   */
  timeoutMs?: number;
  /**
   * Pause between tries while a live holder holds the lock: the hand-off latency after it releases
   * (unless `sleep` wakes up earlier).
   * @default 25
   */
  retryIntervalMs?: number;
  /**
   * How to wait between tries while a live holder holds the lock; called with the pause in ms (never
   * more than the time left before `timeoutMs`). The relaunch hand-off passes one that resolves early
   * when the predecessor says it released. Waits for a takeover in progress elsewhere (a millisecond or
   * two) always use a timer.
   * @default a setTimeout sleep
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Period of the check behind {@link InstanceLockHandle.onCompromised} (an unref'd timer, started by the
   * first subscriber).
   * @default 1000
   */
  checkIntervalMs?: number;
  /**
   * Release the lock synchronously on the process's `exit` event. (A process that dies without `exit`
   * leaves its lock behind; the next launch sees the holder dead and takes it over at once.)
   * @default true
   */
  releaseOnExit?: boolean;
}

/** What {@link InstanceLockHandle.release} did. */
export interface LockReleaseResult {
  /** The lock was ours and is gone. */
  removed: boolean;
  /**
   * `released`; `already-released` (a second call); `not-ours` (the lock now belongs to someone else and
   * was left alone); `missing` (the lock was gone already).
   */
  reason: 'released' | 'already-released' | 'not-ours' | 'missing';
}

/** A held instance lock. Methods are bound: `assertWriter: lock.assertHeld` works. */
export interface InstanceLockHandle {
  /** The random one-time token of this acquisition, as in the owner record. */
  readonly token: string;
  /** The owner record written into the lock. */
  readonly owner: LockOwner;
  /** The lock's path (a symbolic link whose target is the owner record). */
  readonly lockPath: string;
  /**
   * Release the lock: idempotent; removes it only when its owner record still carries our token.
   * @throws {LockFileError} when the lock files cannot be read or removed.
   */
  release(): Promise<LockReleaseResult>;
  /** {@link release}, synchronously (for `exit` handlers and hand-off paths). */
  releaseSync(): LockReleaseResult;
  /** Re-read the owner record (one `readlink`): is the lock still ours? `false` after release. */
  isHeld(): boolean;
  /**
   * Throw unless the lock is still ours. Call it before every write of shared state.
   * @throws {LockCompromisedError}
   */
  assertHeld(): void;
  /**
   * Be told (once) when the lock is found gone or owned by someone else, by a cheap periodic check
   * (`checkIntervalMs`, unref'd). Returns an unsubscribe function. Nothing is called after release.
   */
  onCompromised(callback: (error: LockCompromisedError) => void): () => void;
}

/** Why {@link tryAcquireInstanceLock} did not get the lock. */
export type LockConflictReason =
  | Exclude<LockStateReason, 'free' | 'dead-pid' | 'zombie' | 'recycled-pid' | 'earlier-boot' | 'ownerless-expired' | 'not-a-directory'>
  /** The lock was left by a dead holder and another live process is taking it over right now. */
  | 'takeover-in-progress';

/** The result of {@link tryAcquireInstanceLock}. */
export type TryAcquireResult =
  | { acquired: true; handle: InstanceLockHandle }
  | {
      acquired: false;
      /** The lock's path. */
      lockPath: string;
      /** The holder, when its owner record is readable. */
      holder: LockOwner | null;
      /** Why the lock could not be had, as a stable code. */
      reason: LockConflictReason;
      /** What happened and what to do, naming the holder and the lock path. */
      message: string;
      /** How long this call waited. */
      waitedMs: number;
    };

// Transient states (a takeover in progress elsewhere) are waited out for at least this long, even with
// `timeoutMs: 0`: they resolve within a millisecond or two unless the taker was suspended mid-way.
const TRANSIENT_BUDGET_MS = 250;
const TRANSIENT_PAUSE_MS = 2;
const MAX_IMMEDIATE_RETRIES = 64;

const heldInThisProcess = new Map<string, HandleImpl>();

function checkFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new UsageError(`Expected \`${name}\` to be a function, got ${describeValue(value)}.`);
  }
  return value;
}

function checkNumber(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new UsageError(`Expected \`${name}\` to be a finite number from ${min} and up, got ${describeValue(value)}.`);
  }
  return value;
}

interface ResolvedOptions {
  paths: LockPaths;
  timeoutMs: number;
  retryIntervalMs: number;
  graceMs: number;
  checkIntervalMs: number;
  releaseOnExit: boolean;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

function resolveOptions(options: AcquireInstanceLockOptions): ResolvedOptions {
  const clock = options.clock ?? systemClock;
  return {
    paths: resolveLockPaths(options),
    timeoutMs: checkNumber('timeoutMs', options.timeoutMs, 0, 0),
    retryIntervalMs: checkNumber('retryIntervalMs', options.retryIntervalMs, 25, 1),
    graceMs: checkNumber('graceMs', options.graceMs, 2000, 0),
    checkIntervalMs: checkNumber('checkIntervalMs', options.checkIntervalMs, 1000, 1),
    releaseOnExit: options.releaseOnExit ?? true,
    sleep: checkFunction('sleep', options.sleep) ?? timerSleep,
    now: () => clock.now(),
  };
}

type Step =
  | { kind: 'acquired' }
  | { kind: 'again' }
  | { kind: 'held'; inspection: Extract<LockInspection, { kind: 'present' }> }
  | { kind: 'busy'; inspection: Extract<LockInspection, { kind: 'present' }> };

function attemptOnce(opts: ResolvedOptions, owner: WritableOwner, attemptedAt: number): Step {
  const { paths } = opts;
  if (placeLock(paths.lockPath, owner)) return { kind: 'acquired' };
  const ctx = { now: attemptedAt, graceMs: opts.graceMs };
  const inspection = inspectLockDir(paths.lockPath, ctx);
  if (inspection.kind === 'absent') return { kind: 'again' };
  if (inspection.kind === 'invalid') {
    throw new LockFileError(
      paths.lockPath,
      `The instance lock path ${paths.lockPath} exists but is not a directory nor a symbolic link (a lock), so no process can hold the lock: remove it (or point \`lockPath\` elsewhere) and start again.`,
    );
  }
  if (!inspection.stale) return { kind: 'held', inspection };
  const env: TakeoverEnv = { paths, ctx, makeOwner: (token) => ownerForThisProcess(token, ctx.now) };
  const outcome = takeOver(paths.lockPath, inspection.key, env);
  return outcome === 'busy' ? { kind: 'busy', inspection } : { kind: 'again' };
}

function describeHolder(owner: LockOwner): string {
  // A foreign version-3 holder is named by its machine tag (`machine Xq0aZ1b2`), anything else by its host name.
  const where = owner.host.startsWith(MACHINE_HOST_PREFIX) ? owner.host : `host ${owner.host}`;
  return `pid ${owner.pid} on ${where}, process started ${owner.startedAt ?? 'at an unknown time'}, lock taken ${owner.acquiredAt}`;
}

/** How a library caller waits for a live holder, as conflict messages name it (the CLI names its `--lock-timeout` instead). */
export const LOCK_WAIT_HINT = 'or pass `timeoutMs` to wait for it';

function conflictMessage(lockPath: string, reason: LockConflictReason, holder: LockOwner | null, waitedMs: number, graceMs: number): string {
  const waited = waitedMs > 0 ? ` (waited ${waitedMs} ms)` : '';
  const waitHint = LOCK_WAIT_HINT;
  switch (reason) {
    case 'held-by-this-process':
      return `This process (pid ${process.pid}) already holds the instance lock ${lockPath}${holder ? ` (token ${holder.token})` : ''}${waited}: use the handle it already has, or release() it before acquiring again.`;
    case 'foreign-host':
      return `The instance lock ${lockPath} is held by ${holder ? describeHolder(holder) : 'a process'}${waited}. That is another machine, which cannot be checked from here, so its lock is never treated as stale: quit the app there, or, if that machine no longer runs it, remove ${lockPath} by hand.`;
    case 'ownerless-fresh':
      return `The instance lock ${lockPath} exists but has no readable owner yet${waited}; it counts as held for ${graceMs} ms after its last change, then as stale. Try again shortly, ${waitHint}.`;
    case 'takeover-in-progress':
      return `The instance lock ${lockPath} was left by a dead process (${holder ? describeHolder(holder) : 'owner unknown'}) and another process is taking it over right now${waited}. Try again, ${waitHint}.`;
    case 'held-stopped':
      return `Another instance holds the lock ${lockPath}: ${holder ? describeHolder(holder) : 'owner unknown'}${waited}. It is alive but suspended (stopped), and a suspended holder is never taken over: resume it (kill -CONT ${holder?.pid ?? '<pid>'}) or quit it, then start again.`;
    case 'held-unverified':
    case 'held':
      return `Another instance holds the lock ${lockPath}: ${holder ? describeHolder(holder) : 'owner unknown'}${waited}${reason === 'held-unverified' ? ' (its start time cannot be checked on this platform, so a live PID counts as the holder)' : ''}. Quit that instance and start again, ${waitHint}.`;
  }
}

/**
 * Try to acquire the instance lock; a conflict is reported, not thrown.
 * A dead holder's lock (PID gone, zombie, or a recycled PID with another start time, on this host) is taken
 * over at once; a live holder — even a suspended one — or a holder on another host is waited for up to
 * `timeoutMs`, then reported.
 * @throws {LockFileError} when the lock's files cannot be created or read, or something that is not a
 *   directory nor a symbolic link blocks the lock path.
 * @throws {UsageError} for invalid options, or when no state dir is given.
 * @example
 * const result = await tryAcquireInstanceLock({ stateDir });
 * if (!result.acquired) { console.error(result.message); process.exitCode = 3; return; }
 */
export async function tryAcquireInstanceLock(options: AcquireInstanceLockOptions): Promise<TryAcquireResult> {
  const opts = resolveOptions(options);
  const { paths } = opts;
  const start = opts.now();

  const mine = heldInThisProcess.get(paths.lockPath);
  if (mine) {
    if (mine.isHeld()) {
      return { acquired: false, lockPath: paths.lockPath, holder: mine.owner, reason: 'held-by-this-process', message: conflictMessage(paths.lockPath, 'held-by-this-process', mine.owner, 0, opts.graceMs), waitedMs: 0 };
    }
    heldInThisProcess.delete(paths.lockPath); // compromised: forget it, and compete like anyone else
  }

  const token = newToken();
  const deadline = start + opts.timeoutMs;
  const transientDeadline = start + Math.max(opts.timeoutMs, TRANSIENT_BUDGET_MS);
  let immediate = 0;
  let lastChanceTaken = false;
  for (;;) {
    // A fresh record each try: `acquiredAt` tells when the lock was really taken.
    const attemptedAt = opts.now();
    const owner = ownerForThisProcess(token, attemptedAt);
    const step = attemptOnce(opts, owner, attemptedAt);
    if (step.kind === 'acquired') {
      const handle = new HandleImpl(opts, owner);
      heldInThisProcess.set(paths.lockPath, handle);
      return { acquired: true, handle };
    }
    if (step.kind === 'again') {
      if (++immediate <= MAX_IMMEDIATE_RETRIES) continue;
      // Pathological churn: back off a little, within the bound (the same rule as below).
      const pause = pauseAfterRefusal(attemptedAt, opts.now(), transientDeadline, TRANSIENT_PAUSE_MS);
      if (pause === 'give-up' || (pause === 0 && lastChanceTaken)) {
        const last = inspectLockDir(paths.lockPath, { now: opts.now(), graceMs: opts.graceMs });
        return conflict(opts, start, 'takeover-in-progress', last.kind === 'present' ? last.owner : null);
      }
      if (pause === 0) lastChanceTaken = true;
      else await timerSleep(pause);
      continue;
    }
    immediate = 0;
    const held = step.kind === 'held';
    const limit = held ? deadline : transientDeadline;
    const pause = pauseAfterRefusal(attemptedAt, opts.now(), limit, held ? opts.retryIntervalMs : TRANSIENT_PAUSE_MS);
    // One immediate retry at most: a wall clock set back cannot turn it into a spin.
    if (pause === 'give-up' || (pause === 0 && lastChanceTaken)) {
      return conflict(opts, start, held ? (step.inspection.reason as LockConflictReason) : 'takeover-in-progress', step.inspection.owner);
    }
    if (pause === 0) {
      lastChanceTaken = true;
      continue;
    }
    if (held) await opts.sleep(pause);
    else await timerSleep(pause);
  }
}

function conflict(opts: ResolvedOptions, start: number, reason: LockConflictReason, holder: LockOwner | null): TryAcquireResult {
  const waitedMs = opts.now() - start;
  return { acquired: false, lockPath: opts.paths.lockPath, holder, reason, message: conflictMessage(opts.paths.lockPath, reason, holder, waitedMs, opts.graceMs), waitedMs };
}

/**
 * Acquire the instance lock, waiting up to `timeoutMs` for a live holder; throw on conflict.
 * @throws {LockAcquisitionError} naming the holder (pid, host, start time) and the lock path, and what to do.
 * @throws {LockFileError} when the lock's files cannot be created or read.
 * @throws {UsageError} for invalid options, or when no state dir is given.
 * @example
 * const lock = await acquireInstanceLock({ stateDir, timeoutMs: 5000 }); // a relaunched successor waits
 * try { ... } finally { await lock.release(); }
 */
export async function acquireInstanceLock(options: AcquireInstanceLockOptions): Promise<InstanceLockHandle> {
  const result = await tryAcquireInstanceLock(options);
  if (result.acquired) return result.handle;
  const holder = result.holder ? { pid: result.holder.pid, host: result.holder.host, startedAt: result.holder.startedAt ?? 'unknown' } : null;
  throw new LockAcquisitionError(result.lockPath, holder, result.message);
}

function timerSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class HandleImpl implements InstanceLockHandle {
  readonly token: string;
  readonly owner: LockOwner;
  readonly lockPath: string;
  private readonly opts: ResolvedOptions;
  private released = false;
  private compromised = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly listeners = new Set<(error: LockCompromisedError) => void>();
  private readonly exitListener: (() => void) | undefined;

  constructor(opts: ResolvedOptions, owner: LockOwner) {
    this.opts = opts;
    this.owner = owner;
    this.token = owner.token;
    this.lockPath = opts.paths.lockPath;
    // Bound, so they can be passed around as plain functions.
    this.release = this.release.bind(this);
    this.releaseSync = this.releaseSync.bind(this);
    this.isHeld = this.isHeld.bind(this);
    this.assertHeld = this.assertHeld.bind(this);
    this.onCompromised = this.onCompromised.bind(this);
    if (opts.releaseOnExit) {
      this.exitListener = () => {
        try {
          this.releaseSync();
        } catch {
          // exiting anyway; the next launch judges the holder dead
        }
      };
      process.on('exit', this.exitListener);
    }
  }

  release(): Promise<LockReleaseResult> {
    try {
      return Promise.resolve(this.releaseSync());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  releaseSync(): LockReleaseResult {
    if (this.released) return { removed: false, reason: 'already-released' };
    const outcome = removeOwnedLock(this.lockPath, this.token); // throws LockFileError: caller may retry
    this.released = true;
    this.stopTimer();
    this.listeners.clear();
    if (this.exitListener) process.removeListener('exit', this.exitListener);
    if (heldInThisProcess.get(this.lockPath) === this) heldInThisProcess.delete(this.lockPath);
    return outcome === 'removed' ? { removed: true, reason: 'released' } : { removed: false, reason: outcome };
  }

  isHeld(): boolean {
    if (this.released) return false;
    try {
      return writerHoldsLock(readOwner(this.lockPath).owner?.token ?? null, this.token);
    } catch {
      return false; // unreadable: cannot prove it is ours, so it is not
    }
  }

  assertHeld(): void {
    if (this.isHeld()) return;
    throw this.compromisedError();
  }

  onCompromised(callback: (error: LockCompromisedError) => void): () => void {
    if (this.released) return () => {};
    if (this.compromised) {
      // Already found out: tell a late subscriber too, but never synchronously inside this call.
      const error = this.compromisedError();
      queueMicrotask(() => callback(error));
      return () => {};
    }
    this.listeners.add(callback);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(callback);
      if (this.listeners.size === 0) this.stopTimer();
    };
  }

  private check(): void {
    if (this.released || this.compromised) return this.stopTimer();
    if (this.isHeld()) return;
    this.compromised = true;
    this.stopTimer();
    const error = this.compromisedError();
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(error);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private compromisedError(): LockCompromisedError {
    if (this.released) {
      return new LockCompromisedError(this.lockPath, `The instance lock ${this.lockPath} (token ${this.token}) was released by this process; acquire it again before writing shared state.`);
    }
    let now: string;
    try {
      const { owner } = readOwner(this.lockPath);
      now = owner ? `it is now held by ${describeHolder(owner)} (token ${owner.token})` : 'the lock is gone or has no owner';
    } catch (error) {
      now = `its owner record cannot be read (${String(error)})`;
    }
    return new LockCompromisedError(
      this.lockPath,
      `The instance lock ${this.lockPath} is no longer ours (our token ${this.token}): ${now}. Stop writing shared state (ledger, journal) — another process may own it; exit, and let the next launch sort it out.`,
    );
  }
}
