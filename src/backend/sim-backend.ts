/**
 * The simulated TCC backend (`sim`): a {@link PermissionBackend} over a JSON database file shared by
 * every process (SPEC §4). Writes are read–modify–write under a tiny cross-process mutex (an exclusive
 * `mkdir`), then temp file + fsync + rename + directory fsync, so readers never lock and never see a
 * torn file. Statuses are computed lazily from the file and the clock (`sim-scenario.ts`): no timers,
 * and several processes see the same truth. See docs/sim-backend.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { BackendError, ScenarioError } from '../errors.js';
import { probeProcess, selfIdentity } from '../lock/process-identity.js';
import { fileVersionSync, isSettledVersion, readRegularFileSync, readRegularFileWithIdentitySync, UnsafeFileError, type FileVersion } from '../fs/regular-file.js';
import { monotonicMs, processStartedAtMs } from '../clock-monotonic.js';
import { pauseAfterRefusal } from '../retry-deadline.js';
import { isPid } from '../safe-json.js';
import { PERMISSION_KINDS, isPermissionName } from '../../machines/permissions.js';
import type { PermissionName, PermissionStatus } from '../../machines/types.js';
import { parseJsonText, isRecord } from '../config/validate.js';
import type { PermissionBackend } from './permission-backend.js';
import {
  parseScenario,
  simActivate,
  simGrantedAt,
  simOpenSettings,
  simPendingAnswer,
  simStateToJson,
  simStatus,
  type ScenarioJson,
  type SimActivation,
  type SimRecordedAnswer,
  type SimScenario,
  type SimStatus,
  type SimView,
} from './sim-scenario.js';

/** A database file larger than this is refused: it is not a scenario. */
export const SIM_MAX_DB_BYTES = 1024 * 1024;

/** What the simulated native layer did, for logs and tests (see {@link SimBackendOptions.onNativeCall}). */
export interface SimNativeCallEvent {
  permission: PermissionName;
  /**
   * `prompted`: the system prompt was shown; `hung`: the native request will never settle;
   * `blocking`: the native call is blocking its (worker) thread; `returned`: the block ended;
   * `terminated`: `close()` ended a block early.
   */
  phase: 'prompted' | 'hung' | 'blocking' | 'returned' | 'terminated';
}

/** A macOS "Quit & Reopen" the user clicked (FR-6): the host must restart itself, outside our flow. */
export interface SimQuitAndReopenEvent {
  permission: PermissionName;
  /** Epoch ms when the answer carrying the button landed. */
  answerAt: number;
}

/** Options of {@link createSimBackend}. */
export interface SimBackendOptions {
  /** The simulated TCC database (JSON, SPEC §4). It must exist; create it with {@link writeScenario}. */
  file: string;
  /**
   * When this process started, epoch ms. Answers with `effective: after_restart` are seen only by
   * processes started after they landed.
   * @default the real start of this process (`processStartedAtMs()`)
   */
  processStartedAt?: number;
  /**
   * The clock for the simulated user (when answers land). The mutex always uses the real clock.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Called once, in exactly one process, when an answer with `quit_and_reopen: true` is first seen by a
   * process that was running when it landed. Without it, `quit_and_reopen` does nothing.
   * @default undefined
   */
  onQuitAndReopen?: (event: SimQuitAndReopenEvent) => void;
  /** Observe the simulated native layer (prompts, hangs, blocks). @default undefined */
  onNativeCall?: (event: SimNativeCallEvent) => void;
  /** How long to wait for the database mutex before failing with `BackendError`. @default 5000 */
  lockTimeoutMs?: number;
  /** A mutex older than this is taken as left by a dead process and broken. @default 2000 */
  lockStaleMs?: number;
}

/** The `sim` backend: the port plus a few hooks for tests and the demo. */
export interface SimBackend extends PermissionBackend {
  readonly name: 'sim';
  /** The absolute path of the database. */
  readonly file: string;
  /** This process's start time as the backend sees it (epoch ms). */
  readonly processStartedAt: number;
  /** How many simulated native calls are still blocking a worker thread. */
  inFlight(): number;
  /** Resolves when no simulated native call is blocking any more. Does not keep the process alive. */
  settled(): Promise<void>;
  /** Terminate blocking workers; later calls fail with `BackendError`. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Open the simulated TCC backend over `options.file`. The file is read and validated at once, so a bad
 * scenario is refused before anything runs.
 * @throws ScenarioError when the file is missing, unreadable, not JSON, or not a valid scenario.
 * @example
 * await writeScenario('/tmp/tcc.json', DEMO_SCENARIO);
 * const backend = createSimBackend({ file: '/tmp/tcc.json' });
 * await backend.getStatus('microphone'); // 'not_determined'
 */
export function createSimBackend(options: SimBackendOptions): SimBackend {
  const file = resolve(options.file);
  const now = options.now ?? Date.now;
  const processStartedAt = options.processStartedAt ?? processStartedAtMs();
  const lock = { timeoutMs: options.lockTimeoutMs ?? 5000, staleMs: options.lockStaleMs ?? 2000 };
  // Fail early and clearly; and keep what was decoded: a status read whose file holds the same text
  // again (the usual case: a launch reads it right after creating the backend) skips the JSON parse and
  // the scenario's validation. Only status reads use it; a read-modify-write always decodes afresh.
  let lastRead = readDbWithVersionSync(file);
  let lastDb = decodeDb(file, lastRead.text);
  const readForStatus = (): Db => {
    // Unchanged since the last read (same inode, size, mtime and ctime, and not changed within the last
    // moments, when a same-size rewrite could keep them): one stat instead of open, fstat, read, close,
    // parse and validate.
    if (isSettledVersion(lastRead.version, Date.now()) && safeVersion(file) === lastRead.version) return lastDb;
    const read = readDbWithVersionSync(file);
    if (read.text !== lastRead.text) lastDb = decodeDb(file, read.text);
    lastRead = read;
    return lastDb;
  };
  const workers = new Set<{ worker: Worker; done: Promise<void> }>();
  let closed = false;

  const emit = (event: SimNativeCallEvent): void => {
    try {
      options.onNativeCall?.(event);
    } catch {
      // an observer must not break the simulated native layer
    }
  };
  const guard = (permission: PermissionName, call: string): void => {
    if (closed) throw new BackendError(`sim backend ${call}(${permission}): the backend was closed; create a new one`);
    if (!isPermissionName(permission)) {
      throw new BackendError(`sim backend ${call}: unknown permission ${JSON.stringify(permission)}; expected one of ${PERMISSION_KINDS.join(', ')}`);
    }
  };

  const startNativeCall = (permission: PermissionName, activation: SimActivation): void => {
    emit({ permission, phase: 'prompted' });
    if (activation === 'normal') return;
    if (activation === 'hang') {
      // The native promise never settles; we hold nothing for it, exactly like an ignored prompt.
      emit({ permission, phase: 'hung' });
      return;
    }
    // A native call that blocks its thread runs in a worker: the caller's thread (and its timers) go on.
    const worker = new Worker(BLOCK_SOURCE, { eval: true, workerData: { ms: activation.blockMs } });
    worker.unref();
    const entry = {
      worker,
      done: new Promise<void>((resolveDone) => {
        worker.on('message', (message) => {
          if (message === 'blocking') emit({ permission, phase: 'blocking' });
        });
        worker.on('error', () => undefined);
        worker.on('exit', () => {
          workers.delete(entry);
          emit({ permission, phase: closed ? 'terminated' : 'returned' });
          resolveDone();
        });
      }),
    };
    workers.add(entry);
  };

  const maybeQuitAndReopen = async (permission: PermissionName, scenario: SimScenario, at: number): Promise<void> => {
    const callback = options.onQuitAndReopen;
    if (callback === undefined) return;
    const due = (s: SimScenario): SimRecordedAnswer | undefined =>
      s.state[permission].reopen_claimed_at === null
        ? s.state[permission].answers.find((a) => a.quit_and_reopen && a.answer_at <= at && processStartedAt <= a.answer_at)
        : undefined;
    if (due(scenario) === undefined) return;
    const claimed = await updateDb(file, lock, (s) => {
      const answer = due(s);
      if (answer !== undefined) s.state[permission].reopen_claimed_at = at;
      return answer;
    });
    if (claimed !== undefined) {
      try {
        callback({ permission, answerAt: claimed.answer_at });
      } catch {
        // the host's problem; the claim is recorded either way
      }
    }
  };

  /** Every status from one read of the database (a precheck reads one state of TCC, not four). */
  const readStatuses = async (permissions: readonly PermissionName[]) => {
    const { scenario } = readForStatus();
    const statuses: Partial<Record<PermissionName, PermissionStatus>> = {};
    for (const permission of permissions) {
      const at = now();
      statuses[permission] = simStatus(scenario, permission, { now: at, processStartedAt }).reported;
      await maybeQuitAndReopen(permission, scenario, at);
    }
    return statuses;
  };

  return {
    name: 'sim',
    file,
    processStartedAt,
    async getStatus(permission: PermissionName): Promise<PermissionStatus> {
      guard(permission, 'getStatus');
      return (await readStatuses([permission]))[permission]!;
    },
    async getStatuses(permissions: readonly PermissionName[]): Promise<Partial<Record<PermissionName, PermissionStatus>>> {
      for (const permission of permissions) guard(permission, 'getStatuses');
      return readStatuses(permissions);
    },
    async activate(permission: PermissionName): Promise<void> {
      guard(permission, 'activate');
      const effect = await updateDb(file, lock, (scenario) => simActivate(scenario, permission, now()));
      if (effect.prompted) startNativeCall(permission, effect.activation);
    },
    async openSettings(permission: PermissionName): Promise<void> {
      guard(permission, 'openSettings');
      await updateDb(file, lock, (scenario) => simOpenSettings(scenario, permission, now()));
    },
    inFlight: () => workers.size,
    async settled(): Promise<void> {
      while (workers.size > 0) await Promise.all([...workers].map((w) => w.done));
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const pending = [...workers];
      await Promise.all(pending.map(async (w) => {
        await w.worker.terminate();
        await w.done;
      }));
    },
  };
}

/** The blocking part of a simulated native call (CommonJS, evaluated in a worker thread). */
const BLOCK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.postMessage('blocking');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
`;

// ---------------------------------------------------------------------------------------------------
// The database file

interface Db {
  /** The document as found (its keys and layout are kept on rewrite). */
  raw: Record<string, unknown>;
  scenario: SimScenario;
}

// A FIFO or /dev/zero given as --sim-db must be refused before a byte is read (it would block or grow
// without bound): the type and size are checked on the open descriptor (src/fs/regular-file.ts).
function readDbWithVersionSync(file: string): { text: string; version: FileVersion } {
  try {
    const { bytes, version } = readRegularFileWithIdentitySync(file, { maxBytes: SIM_MAX_DB_BYTES });
    return { text: bytes.toString('utf8'), version };
  } catch (error) {
    throw unreadable(file, error);
  }
}

/** The database's version now, or `null` (not there, not a regular file, not readable): then read it. */
function safeVersion(file: string): FileVersion | null {
  try {
    return fileVersionSync(file);
  } catch {
    return null;
  }
}

function readDbSync(file: string): string {
  return readDbWithVersionSync(file).text;
}

async function readDb(file: string): Promise<Db> {
  // Synchronous on purpose: a small local file, read at every status check; the async API would load
  // fs/promises (and with it streams and readline) into every launch.
  return decodeDb(file, readDbSync(file));
}

function unreadable(file: string, error: unknown): ScenarioError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message =
    code === 'ENOENT'
      ? 'the file does not exist; create it with writeScenario() or `first-run demo`, or fix --sim-db'
      : error instanceof UnsafeFileError
        ? `${error.message}; point --sim-db at the JSON database file`
        : `cannot read the file (${code ?? String(error)}); fix its path or permissions`;
  return new ScenarioError(file, [{ path: '(root)', message }], { cause: error });
}

function decodeDb(file: string, text: string): Db {
  if (text.length > SIM_MAX_DB_BYTES) {
    throw new ScenarioError(file, [{ path: '(root)', message: `expected at most ${SIM_MAX_DB_BYTES} bytes, got ${text.length}` }]);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const { line, column } = parsed.location;
    throw new ScenarioError(file, [{ path: '(root)', message: `not valid JSON at line ${line}, column ${column}: ${parsed.message}` }]);
  }
  const scenario = parseScenario(parsed.value, file);
  return { raw: parsed.value as Record<string, unknown>, scenario };
}

/** One promise chain per file: the in-process half of the mutex. */
const queues = new Map<string, Promise<unknown>>();

function serial<T>(file: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const next = previous.then(task, task);
  const tail = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(file, tail);
  void tail.then(() => {
    if (queues.get(file) === tail) queues.delete(file);
  });
  return next;
}

interface LockOptions {
  timeoutMs: number;
  staleMs: number;
}

/**
 * The cross-process half: `mkdir <file>.lock` is atomic on every local file system; the holder writes
 * its pid and process start identity inside (`holderIsGone`). A lock directory whose holder is gone, or
 * older than `staleMs`, is taken as left by a dead process (the critical section is one read and one
 * write) and broken by renaming it away first, so two breakers cannot both delete a fresh lock by name.
 * Limit (documented): a holder stalled for longer than `staleMs` can have its lock broken.
 */
async function withFileLock<T>(file: string, options: LockOptions, task: () => Promise<T>): Promise<T> {
  const lockDir = `${file}.lock`;
  // Monotonic: a wall clock set back during the wait must not stretch it (nor one set forward cut it).
  const deadline = monotonicMs() + options.timeoutMs;
  let pause = 1;
  for (;;) {
    const attemptedAt = monotonicMs();
    try {
      await mkdir(lockDir);
      // Who holds it: a holder that died (kill -9 mid-update) is seen at once, not after `staleMs`
      // (only a holder killed between these two calls waits for `staleMs`).
      await writeFile(join(lockDir, 'pid'), `${process.pid} ${selfIdentity().startId ?? ''}`).catch(() => {});
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new BackendError(`sim backend: cannot create the database mutex ${lockDir}: ${(error as Error).message}`, { cause: error });
      }
    }
    try {
      const info = await stat(lockDir);
      if (holderIsGone(join(lockDir, 'pid')) || Date.now() - info.mtimeMs > options.staleMs) {
        const grave = `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
        await rename(lockDir, grave);
        await rm(grave, { recursive: true, force: true });
        continue;
      }
    } catch {
      continue; // it went away (or someone else broke it): try again at once
    }
    // Given up on only after an attempt made past the deadline (src/retry-deadline.ts); on the monotonic
    // clock the attempt right after a `0` is past it, so that one is the last.
    const next = pauseAfterRefusal(attemptedAt, monotonicMs(), deadline, pause);
    if (next === 'give-up') {
      throw new BackendError(
        `sim backend: the database mutex ${lockDir} has been held for over ${options.timeoutMs} ms; if no first-run process is running, remove that directory`,
      );
    }
    if (next === 0) continue;
    await sleep(next);
    pause = Math.min(pause * 2, 25);
  }
  try {
    return await task();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * Whether the mutex's recorded holder (`<pid> <start identity>`) is provably gone: no such process, a
 * zombie, or a process with that PID but another start (a reused PID). Read without blocking or
 * following a link (a FIFO planted there must not hang the backend); unreadable means "unknown", and
 * the `staleMs` bound decides.
 */
function holderIsGone(file: string): boolean {
  let text: string;
  try {
    text = readRegularFileSync(file, { maxBytes: 256, noFollow: true }).toString('utf8');
  } catch {
    return false;
  }
  const [pidText = '', startId = ''] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!isPid(pid)) return false;
  const probe = probeProcess(pid);
  return !probe.exists || probe.zombie || (startId !== '' && probe.startId !== null && probe.startId !== startId);
}

/** Write `text` to `file` atomically and durably: temp file, fsync, rename, fsync of the directory. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600); // like every file in a state dir (docs/embedding.md)
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new BackendError(`sim backend: cannot write the database ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const dir = await open(dirname(file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. Windows); the rename has happened.
  }
}

/** Read–modify–write the database under both mutexes; `change` mutates `scenario.state`. */
function updateDb<T>(file: string, lock: LockOptions, change: (scenario: SimScenario) => T): Promise<T> {
  return serial(file, () =>
    withFileLock(file, lock, async () => {
      const db = await readDb(file);
      const result = change(db.scenario);
      const document = { ...db.raw, state: simStateToJson(db.scenario) };
      await writeAtomic(file, `${JSON.stringify(document, null, 2)}\n`);
      return result;
    }),
  );
}

/**
 * Validate `scenario` and write it as the database `file` (creating its directory), atomically and
 * under the mutex. Any `state` it carries is kept (pre-seed one to reproduce "already asked").
 * @throws ScenarioError when the scenario is invalid; BackendError when the file cannot be written.
 */
export async function writeScenario(file: string, scenario: ScenarioJson | Record<string, unknown>): Promise<void> {
  const path = resolve(file);
  parseScenario(scenario, path);
  if (!isRecord(scenario)) return; // unreachable: parseScenario refused it
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await serial(path, () =>
    withFileLock(path, { timeoutMs: 5000, staleMs: 2000 }, () => writeAtomic(path, `${JSON.stringify(scenario, null, 2)}\n`)),
  );
}

/** One permission in {@link readSimState}: the three statuses and the record. */
export interface SimPermissionView extends SimStatus {
  requestedAt: number | null;
  requestCount: number;
  prompted: boolean;
  settingsOpenedAt: number | null;
  /** The next answer still to land, or `null`. */
  pendingAnswer: { source: 'request' | 'settings'; answerAt: number; result: 'granted' | 'denied'; effective: 'immediate' | 'after_restart' } | null;
  /** When the latest grant landed, or `null` when the permission is not granted by an answer. */
  grantedAt: number | null;
}

/** What {@link readSimState} returns. */
export interface SimStateSnapshot {
  file: string;
  scenario: SimScenario;
  permissions: Record<PermissionName, SimPermissionView>;
}

/**
 * Read the database and compute every permission's status as seen at `view.now` by a process started at
 * `view.processStartedAt` (for tests, `first-run status` and the demo). Lock-free.
 * @throws ScenarioError when the file is missing or invalid.
 */
export async function readSimState(file: string, view: Partial<SimView> = {}): Promise<SimStateSnapshot> {
  const path = resolve(file);
  const { scenario } = await readDb(path);
  const at: SimView = { now: view.now ?? Date.now(), processStartedAt: view.processStartedAt ?? processStartedAtMs() };
  const permissions = {} as Record<PermissionName, SimPermissionView>;
  for (const name of PERMISSION_KINDS) {
    const state = scenario.state[name];
    const pending = simPendingAnswer(scenario, name, at.now);
    permissions[name] = {
      ...simStatus(scenario, name, at),
      requestedAt: state.requested_at,
      requestCount: state.request_count,
      prompted: state.prompted,
      settingsOpenedAt: state.settings_opened_at,
      pendingAnswer:
        pending === null
          ? null
          : { source: pending.source, answerAt: pending.answer_at, result: pending.result, effective: pending.effective },
      grantedAt: simGrantedAt(scenario, name, at.now),
    };
  }
  return { file: path, scenario, permissions };
}

export { DEMO_SCENARIO, catalogueScenario, parseScenario, type ScenarioJson, type SimScenario } from './sim-scenario.js';
