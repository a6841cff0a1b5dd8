import type { BigIntStats } from 'node:fs';
import { describeValue, LedgerConflictError, LedgerError } from '../errors.js';
import type { JournalSink } from '../journal/journal.js';
import { canonicalJson, sha256Checksum } from './canonical-json.js';
import { serializeEnvelope, type LedgerProblemReason, type LedgerSummary } from './envelope.js';
import { resolveLedgerFs, type LedgerFs } from './ledger-fs.js';
import { identityOf, moveToQuarantine, readLedgerFile, sameIdentity, type FileIdentity, type ReadLedgerFile } from './ledger-files.js';
import { ledgerPaths, type LedgerPaths } from './paths.js';
import { writeFileAtomicSync, type AtomicWriteOptions } from './write-atomic.js';

/** Options of {@link openLedgerStore}. */
export interface LedgerStoreOptions {
  /** The state dir holding `permission_ledger.json`; created with mode 0700 when missing. */
  stateDir: string;
  /**
   * Throws (with a message saying why) when a snapshot cannot be restored by the current machine — e.g.
   * `machine.resolveState(...)` fails or gives `status: 'error'` for a state the machine no longer has.
   * The store stays machine-agnostic; a rejected snapshot is quarantined as `unknown_state`.
   * @default no check beyond the envelope and checksum
   */
  validateSnapshot?: (snapshot: unknown) => void;
  /**
   * Where `ledger.*` events go (`ledger.committed`, `ledger.corrupt`, `ledger.missing`,
   * `ledger.recovered`, `ledger.safe_mode`, `ledger.conflict`, `ledger.write_failed`,
   * `ledger.flags_written`). A throwing journal never fails a ledger operation.
   * @default no journal
   */
  journal?: JournalSink;
  /**
   * Called before every write (commit, flags); throws when this process may not write. Pass the instance
   * lock's `assertHeld` so that only the lock holder writes the ledger (LG-2). Its error rejects the
   * write as is.
   * @default () => {} (no check)
   */
  assertWriter?: () => void;
  /**
   * fsync the file and the directory on every commit. Turn off only in tests that do not care about
   * power loss. (The cache flags of {@link LedgerStore.writeFlags} are never fsynced.)
   * @default true
   */
  fsync?: boolean;
  /**
   * The part of a snapshot that must be durable: a function from a persisted snapshot to the plain-JSON
   * value a later launch depends on, or `undefined` for "nothing new": a snapshot that a later launch
   * would reach anyway from the last durable one. A commit is skipped — no write, no fsync — when its
   * `restart_count` equals the last durable one's and its projection is `undefined` or equals the last
   * durable projection (of the last commit, of the snapshot `load()` restored, or — after a fresh load —
   * of "no ledger yet"). Leave out what belongs to one process and is re-derived at every start (boot
   * ids, boot counters); never anything a later launch decides by. `restart_count` is compared apart
   * from the projection, so a change of the restart budget is never skipped, whatever the projection
   * says. A projection that throws means "write". See docs/architecture.md, "Durable only when it matters".
   * @default the snapshot and the summary's phase: only a commit of the same snapshot is skipped
   */
  durableProjection?: (snapshot: unknown) => unknown;
  /**
   * The `writer_pid` written into the envelope.
   * @default process.pid
   */
  pid?: number;
  /**
   * Clock for `written_at` and quarantine file names.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Replace some of the `node:fs` calls the store makes itself (fault injection in tests).
   * @default the real `node:fs`
   */
  fs?: Partial<LedgerFs>;
}

/** One unusable file found by {@link LedgerStore.load} (or {@link readLedgerSummary}). */
export interface LedgerProblem {
  /** Which file: the ledger or its backup. */
  which: 'ledger' | 'backup';
  /** Its path. */
  file: string;
  /** Stable code (see {@link LedgerProblemReason}). */
  reason: LedgerProblemReason;
  /** A sentence naming the file, what is wrong and what happened to it. */
  message: string;
  /** Where the file was moved; `null` when it was not moved (read-only check, nothing to move, move failed). */
  quarantinedTo: string | null;
  /** The file's `generation` when it could still be read. */
  generation: number | null;
}

/**
 * What {@link LedgerStore.load} found.
 * - `fresh`: no ledger and no backup — a first launch;
 * - `restored`: the ledger is valid; `snapshot` is its snapshot;
 * - `recovered`: the ledger was bad (quarantined) or missing, the backup is valid; `snapshot` is the
 *   backup's (one generation older);
 * - `safe_mode`: there was a ledger, and neither it nor its backup is usable; `snapshot` is `null`. The
 *   caller must treat the restart budget as spent (**no automatic restart**, LG-3) and still run the
 *   pipeline. Both files are in `quarantine/`; nothing was deleted.
 */
export type LedgerLoadKind = 'fresh' | 'restored' | 'recovered' | 'safe_mode';

/** Result of {@link LedgerStore.load}. */
export interface LedgerLoadResult {
  kind: LedgerLoadKind;
  /** The persisted snapshot to restore with `createActor(machine, { snapshot })`, or `null`. */
  snapshot: unknown | null;
  /**
   * The generation the store now stands on: the next commit writes `generation + 1`. After `recovered` and
   * `safe_mode` it is the highest generation seen in any file, bad ones included (read from a torn
   * fragment when possible); after `recovered` at least the backup's + 1, since the lost ledger was newer
   * than its backup. So no generation number is written twice, even across quarantine. `0` when fresh.
   */
  generation: number;
  /** The generation `snapshot` was written as; `null` without a snapshot. */
  snapshotGeneration: number | null;
  /** The envelope summary of `snapshot`; `null` without a snapshot. */
  summary: LedgerSummary | null;
  /** Every unusable file found, in the order found. Empty for `fresh` and `restored`. */
  problems: LedgerProblem[];
}

/** Which cache flags to write (LG-5). `true` writes the flag, `false` removes it, absent leaves it. */
export interface LedgerFlags {
  /** `permissions_first_run_completed.flag` */
  firstRunCompleted?: boolean;
  /** `restart_completed.flag` */
  restartCompleted?: boolean;
}

/** The durable ledger of one state dir (LG-1..5). Create with {@link openLedgerStore}. */
export interface LedgerStore {
  /** The files this store reads and writes. */
  readonly paths: LedgerPaths;
  /** The generation last loaded or committed by this store (`0` before any). */
  readonly generation: number;
  /**
   * Read the ledger (falling back to the backup) and set the generation the next commit builds on.
   * Call once, before the first {@link commit}. Bad files are journaled (`ledger.corrupt`) and moved to
   * `quarantine/`, never deleted; see {@link LedgerLoadKind} for the outcomes, including safe mode.
   * Never throws on file content.
   * @param options.main a read of the ledger file made just before ({@link peekLedger}): used as this
   *   load's read of it when the file is still the one read (same identity), so a launch that looks at the
   *   ledger before it decides how to check it does not read it twice. Checked with `validateSnapshot`
   *   like any read.
   */
  load(options?: { main?: ReadLedgerFile }): LedgerLoadResult;
  /**
   * Queue a durable write of `snapshot` (a persisted snapshot, plain JSON) as the next generation.
   * Writes run one at a time in call order. Each one: `assertWriter()`; compare-and-set against the
   * generation this store last loaded/wrote (a newer one on disk is never overwritten); then, when the
   * snapshot's durable projection and the summary equal the last durable ones, nothing more (`skipped`,
   * the generation stays); otherwise the current file becomes `permission_ledger.json.bak`, the new
   * envelope is written atomically (temp file, fsync, rename — `write-atomic.ts`), the directory is
   * fsynced and `ledger.committed` is journaled.
   *
   * The snapshot is serialized at call time, so later mutation of the object does not matter.
   * A failed write rejects only its own promise (and journals `ledger.write_failed`); later writes
   * proceed.
   *
   * @returns the generation written (or, when skipped, the generation on disk that already holds it).
   * @throws (rejects) LedgerConflictError when the file on disk is not the generation this store expects;
   * LedgerError when the snapshot is not JSON-serializable, load() was not called, or the write fails;
   * whatever `assertWriter` throws.
   */
  commit(snapshot: unknown, summary: LedgerSummary): Promise<{ generation: number; skipped?: boolean }>;
  /**
   * Queue writing (or removing) the cache flags `permissions_first_run_completed.flag` and
   * `restart_completed.flag` for older consumers, after every commit queued before it (LG-5). The flags
   * are a cache: nothing in this library ever reads them to decide anything — the ledger decides. They
   * are written atomically (temp + rename) but never fsynced: a power loss may lose a flag, never a commit.
   */
  writeFlags(flags: LedgerFlags): Promise<void>;
  /**
   * Nothing new to commit, and no snapshot to pass (a warm launch that settled without the machines,
   * src/runtime/warm-start.ts): what a skipped {@link commit} does — `assertWriter()`, the
   * compare-and-set against the generation loaded, and the one-time backup copy of a ledger written only
   * once. Queued like a commit. Rejects as a commit would (`LedgerConflictError`, what `assertWriter` throws).
   */
  keepAsIs(): Promise<void>;
  /** Resolves when every queued write has finished (successfully or not). Never rejects. */
  flush(): Promise<void>;
  /** Flush; later commits reject. Safe to call twice. Not calling it leaks nothing. */
  close(): Promise<void>;
}

type Expected =
  /** Nothing should be at the ledger path. */
  | { kind: 'absent' }
  /** This file should be there; `valid` is false for a bad file we could not quarantine. */
  | { kind: 'file'; identity: FileIdentity; valid: boolean };

/**
 * Open the ledger store of a state dir (creating the dir with mode 0700). Reads nothing until
 * {@link LedgerStore.load}.
 *
 * @throws TypeError on invalid options; LedgerError when the state dir cannot be created.
 * @example
 * const store = openLedgerStore({ stateDir, validateSnapshot, journal, assertWriter: lock.assertHeld });
 * const loaded = store.load();
 * if (loaded.kind === 'safe_mode') budgetSpent = true;
 * await store.commit(actor.getPersistedSnapshot(), { phase: 'PIPELINE', restart_count: 0 });
 */
export function openLedgerStore(options: LedgerStoreOptions): LedgerStore {
  checkOptions(options);
  return new FileLedgerStore(options);
}

/** A load's outcome before it is journaled and returned (see {@link FileLedgerStore.load}). */
type LoadStep = { done: LedgerLoadResult } | { done: null; main: ReadLedgerFile; problems: LedgerProblem[]; maxGeneration: number };

/**
 * The ledger store of one state dir: {@link LedgerStore} over the files of `ledgerPaths`. Every write is
 * queued (one at a time, in order); the state below is what the queue's tasks build on.
 */
class FileLedgerStore implements LedgerStore {
  readonly paths: LedgerPaths;
  private readonly fsx: LedgerFs;
  private readonly journal: JournalSink | undefined;
  private readonly assertWriter: () => void;
  private readonly doFsync: boolean;
  private readonly pid: number;
  private readonly now: () => Date;
  private readonly validateSnapshot: ((snapshot: unknown) => void) | undefined;
  private readonly backupTmp: string;
  private readonly writeOptions: AtomicWriteOptions;
  // The flags are a cache that nothing reads to decide anything (LG-5), rewritten at every launch that
  // reaches them, and written only after the commit before them is durable: they are written atomically
  // (temp + rename) but not fsynced — a power loss can only lose a flag, which the next launch rewrites.
  // That spares two fsyncs (file and directory) per flag write (docs/performance.md).
  private readonly flagWriteOptions: AtomicWriteOptions;
  private readonly durableKey: ReturnType<typeof durableKeyOf>;

  private loaded = false;
  private currentGeneration = 0;
  private expected: Expected = { kind: 'absent' };
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** What the ledger file holds now, durably (see `durableKeyOf`); `null` when unknown, so the next commit writes. */
  private lastDurable: DurableKey | null = null;
  /**
   * The restored generation's key, computed at the first commit, not at load: a launch that commits
   * nothing (a warm one) never pays for the projection and its canonical JSON. (The snapshot object is
   * handed to the caller meanwhile; XState restores from it without writing to it — every ledger of a
   * first run, deep-frozen, restores and runs: test/ledger/restored-snapshot-untouched.test.ts — and the
   * runtime never writes to it.)
   */
  private restoredDurable: { snapshot: unknown; summary: LedgerSummary } | null = null;
  private backupChecked = false;

  constructor(options: LedgerStoreOptions) {
    this.paths = ledgerPaths(options.stateDir);
    this.fsx = resolveLedgerFs(options.fs);
    this.journal = options.journal;
    this.assertWriter = options.assertWriter ?? (() => {});
    this.doFsync = options.fsync ?? true;
    this.pid = options.pid ?? process.pid;
    this.now = options.now ?? (() => new Date());
    this.validateSnapshot = options.validateSnapshot;
    this.backupTmp = `${this.paths.backup}.tmp`;
    this.writeOptions = { mode: 0o600, fsync: this.doFsync };
    this.flagWriteOptions = { ...this.writeOptions, fsync: false };
    this.durableKey = durableKeyOf(options.durableProjection);
    this.makeStateDir();
  }

  get generation(): number {
    return this.currentGeneration;
  }

  /** One lstat when it is there already (every launch), the recursive mkdir only when it is not. */
  private makeStateDir(): void {
    const { fsx, paths } = this;
    try {
      if (!fsx.lstatSync(paths.stateDir, { throwIfNoEntry: false })?.isDirectory()) fsx.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new LedgerError(
        paths.ledger,
        `Cannot create the state dir ${paths.stateDir}: ${(error as Error).message}. Choose a writable --state-dir.`,
        { cause: error },
      );
    }
  }

  private emit(type: string, payload: Record<string, unknown>): void {
    try {
      this.journal?.append(type, payload);
    } catch {
      // The journal reports; it must never turn a durable write into a failure.
    }
  }

  private enqueue<T>(task: () => T): Promise<T> {
    if (this.closed) {
      return Promise.reject(new LedgerError(this.paths.ledger, `The ledger store of ${this.paths.stateDir} is closed; open a new one with openLedgerStore().`));
    }
    const result = this.tail.then(task);
    this.tail = result.catch(() => {});
    return result;
  }

  async flush(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private fsyncDir(): void {
    const fd = this.fsx.openSync(this.paths.stateDir, 'r');
    try {
      this.fsx.fsyncSync(fd);
    } finally {
      this.fsx.closeSync(fd);
    }
  }

  private quarantine(which: 'ledger' | 'backup', file: string, reason: LedgerProblemReason, message: string, fileGeneration: number | null): LedgerProblem {
    const name = which === 'ledger' ? 'permission_ledger.json' : 'permission_ledger.json.bak';
    let quarantinedTo: string | null = null;
    let fullMessage: string;
    try {
      quarantinedTo = moveToQuarantine(
        this.fsx,
        file,
        this.paths.quarantine,
        { stem: which === 'ledger' ? 'permission_ledger' : 'permission_ledger.bak', ext: '.json' },
        reason,
        this.now(),
      );
      fullMessage = `The ${which} ${file} ${message}; it was moved to ${quarantinedTo}.`;
    } catch (error) {
      fullMessage = `The ${which} ${file} ${message}; moving it to ${this.paths.quarantine} failed (${(error as Error).message}), so it was left in place.`;
    }
    const problem: LedgerProblem = { which, file, reason, message: fullMessage, quarantinedTo, generation: fileGeneration };
    this.emit('ledger.corrupt', { file, which, name, reason, message: fullMessage, quarantined_to: quarantinedTo, generation: fileGeneration });
    return problem;
  }

  /** After load: what is at the ledger path now (a bad file we failed to quarantine, or nothing). */
  private expectationFromDisk(): Expected {
    try {
      const stats = this.fsx.lstatSync(this.paths.ledger, { bigint: true, throwIfNoEntry: false });
      return stats === undefined ? { kind: 'absent' } : { kind: 'file', identity: identityOf(stats), valid: false };
    } catch {
      return { kind: 'absent' };
    }
  }

  /** The peeked read when the file is still that one, checked like a read; otherwise a read. */
  private readMain(peeked: ReadLedgerFile | undefined): ReadLedgerFile {
    const { fsx, paths, validateSnapshot } = this;
    if (peeked?.kind !== 'ok') return readLedgerFile(fsx, paths.ledger, validateSnapshot);
    let stats: BigIntStats | undefined;
    try {
      stats = fsx.lstatSync(paths.ledger, { bigint: true, throwIfNoEntry: false });
    } catch {
      stats = undefined;
    }
    if (stats === undefined || !sameIdentity(identityOf(stats), peeked.identity)) return readLedgerFile(fsx, paths.ledger, validateSnapshot);
    try {
      validateSnapshot?.(peeked.envelope.snapshot);
      return peeked;
    } catch (error) {
      const message = `holds a snapshot the machine cannot restore: ${error instanceof Error ? error.message : String(error)}`;
      return { kind: 'bad', reason: 'unknown_state', message, generation: peeked.envelope.generation };
    }
  }

  load(options: { main?: ReadLedgerFile } = {}): LedgerLoadResult {
    const step = this.loadMain(this.readMain(options.main));
    if (step.done) return step.done;
    const { main, problems, maxGeneration } = step;
    const backup = readLedgerFile(this.fsx, this.paths.backup, this.validateSnapshot);
    if (backup.kind === 'missing' && main.kind === 'missing') return this.loadFresh(problems);
    if (main.kind === 'missing') {
      const message = `The ledger ${this.paths.ledger} is missing but its backup exists; the backup is used.`;
      problems.push({ which: 'ledger', file: this.paths.ledger, reason: 'missing', message, quarantinedTo: null, generation: null });
      this.emit('ledger.missing', { file: this.paths.ledger, message });
    }
    if (backup.kind === 'ok') return this.loadRecovered(backup, problems, maxGeneration);
    if (backup.kind === 'bad') {
      problems.push(this.quarantine('backup', this.paths.backup, backup.reason, backup.message, backup.generation));
      return this.loadSafeMode(problems, Math.max(maxGeneration, backup.generation ?? 0));
    }
    return this.loadSafeMode(problems, maxGeneration);
  }

  /** The ledger itself: restored when valid; a bad one quarantined (its generation counted as seen). */
  private loadMain(main: ReadLedgerFile): LoadStep {
    const problems: LedgerProblem[] = [];
    if (main.kind === 'ok') {
      this.currentGeneration = Math.max(this.currentGeneration, main.envelope.generation);
      this.expected = { kind: 'file', identity: main.identity, valid: true };
      this.restoredDurable = { snapshot: main.envelope.snapshot, summary: main.envelope.summary };
      this.loaded = true;
      const done: LedgerLoadResult = {
        kind: 'restored',
        snapshot: main.envelope.snapshot,
        generation: this.currentGeneration,
        snapshotGeneration: main.envelope.generation,
        summary: main.envelope.summary,
        problems,
      };
      return { done };
    }
    let maxGeneration = this.currentGeneration;
    if (main.kind === 'bad') {
      problems.push(this.quarantine('ledger', this.paths.ledger, main.reason, main.message, main.generation));
      maxGeneration = Math.max(maxGeneration, main.generation ?? 0);
    }
    return { done: null, main, problems, maxGeneration };
  }

  private loadFresh(problems: LedgerProblem[]): LedgerLoadResult {
    this.expected = { kind: 'absent' };
    this.lastDurable = NO_LEDGER_YET;
    this.loaded = true;
    return { kind: 'fresh', snapshot: null, generation: this.currentGeneration, snapshotGeneration: null, summary: null, problems };
  }

  private loadRecovered(backup: Extract<ReadLedgerFile, { kind: 'ok' }>, problems: LedgerProblem[], maxGeneration: number): LedgerLoadResult {
    // The backup is the generation before the ledger's, so the unusable or missing ledger was at least
    // backup + 1: count it as seen, and no generation number is ever written twice.
    this.currentGeneration = Math.max(maxGeneration, backup.envelope.generation + 1);
    this.expected = this.expectationFromDisk();
    this.loaded = true;
    this.emit('ledger.recovered', {
      from: this.paths.backup,
      generation: backup.envelope.generation,
      next_generation: this.currentGeneration + 1,
      reasons: problems.map((p) => p.reason),
    });
    return {
      kind: 'recovered',
      snapshot: backup.envelope.snapshot,
      generation: this.currentGeneration,
      snapshotGeneration: backup.envelope.generation,
      summary: backup.envelope.summary,
      problems,
    };
  }

  private loadSafeMode(problems: LedgerProblem[], maxGeneration: number): LedgerLoadResult {
    this.currentGeneration = maxGeneration;
    this.expected = this.expectationFromDisk();
    this.loaded = true;
    this.emit('ledger.safe_mode', {
      reasons: problems.map((p) => `${p.which}:${p.reason}`),
      next_generation: this.currentGeneration + 1,
      message:
        'Neither the ledger nor its backup is usable: no automatic restart (the restart budget is treated as spent); the pipeline still runs.',
    });
    return { kind: 'safe_mode', snapshot: null, generation: this.currentGeneration, snapshotGeneration: null, summary: null, problems };
  }

  /**
   * Compare-and-set without a read in the common case: the identity (inode, size, mtime, ctime, ns) of
   * the file we last loaded or wrote is kept in memory, and one lstat tells whether anything replaced or
   * rewrote it. Only when it differs is the file read, to tell a harmless touch (same generation) from a
   * conflict. The inode cannot be recycled behind our back: our backup hard link keeps it allocated.
   * (This narrows, not closes, the window between check and rename; the instance lock is what excludes
   * a second writer — the CAS catches one that got past it.)
   */
  private compareAndSet(): void {
    const { paths, expected } = this;
    const stats = this.fsx.lstatSync(paths.ledger, { bigint: true, throwIfNoEntry: false });
    if (stats !== undefined && !stats.isFile()) {
      throw new LedgerError(
        paths.ledger,
        `Refusing to write ${paths.ledger}: it is ${stats.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} and could not be quarantined. Move it away, then run again.`,
      );
    }
    if (expected.kind === 'file' && !expected.valid && stats !== undefined && sameIdentity(identityOf(stats), expected.identity)) {
      // load() could not move this bad file to quarantine/; overwriting it would delete it.
      throw new LedgerError(
        paths.ledger,
        `Refusing to overwrite ${paths.ledger}: it is unusable and could not be moved to ${paths.quarantine} (see the ledger.corrupt event). Move it away by hand, then run again.`,
      );
    }
    if (expected.kind === 'file' && stats !== undefined && sameIdentity(identityOf(stats), expected.identity)) return;
    if (expected.kind === 'absent' && stats === undefined) return;
    this.conflictOrTouch(stats === undefined);
  }

  /** The file is not the one we expect: a harmless touch of our own generation, or a conflict (throws). */
  private conflictOrTouch(disappeared: boolean): void {
    const { paths, expected } = this;
    let found: number | null = null;
    let detail: string;
    if (disappeared) {
      detail = 'the ledger file has disappeared (reset or removed by another process?)';
    } else {
      const onDisk = readLedgerFile(this.fsx, paths.ledger);
      if (onDisk.kind === 'ok') {
        found = onDisk.envelope.generation;
        if (expected.kind === 'file' && expected.valid && found === this.currentGeneration) {
          this.expected = { kind: 'file', identity: onDisk.identity, valid: true };
          return;
        }
        detail = `it holds generation ${found} written by pid ${onDisk.envelope.writer_pid}`;
      } else {
        found = onDisk.kind === 'bad' ? onDisk.generation : null;
        detail = `it was replaced by an unusable file (${onDisk.kind === 'bad' ? onDisk.reason : 'missing'})`;
      }
    }
    this.emit('ledger.conflict', { file: paths.ledger, expected_generation: this.currentGeneration, found_generation: found, message: detail });
    throw new LedgerConflictError(
      paths.ledger,
      `Ledger conflict on ${paths.ledger}: expected generation ${this.currentGeneration} from this process, but ${detail}. Another process wrote the ledger; stop writing and reload (only the instance-lock holder may write).`,
    );
  }

  private keepBackup(): void {
    const { fsx, paths, backupTmp } = this;
    if (this.expected.kind !== 'file' || !this.expected.valid) return;
    // Hard link + rename: the backup appears atomically, and the ledger path is never without a complete
    // generation. The directory fsync after the main write covers both renames (same directory).
    try {
      fsx.linkSync(paths.ledger, backupTmp);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      fsx.unlinkSync(backupTmp); // left by a crash between link and rename
      fsx.linkSync(paths.ledger, backupTmp);
    }
    fsx.renameSync(backupTmp, paths.backup);
  }

  /**
   * A ledger that was written only once (everything granted at the first launch) has no previous
   * generation to keep as its backup, and later launches skip their commits: give it a backup once — a
   * copy of the current generation, never a hard link (an in-place corruption of the ledger must not
   * reach it), not fsynced (it is a fallback: a power loss can only cost the backup, not the ledger).
   */
  private ensureBackup(): void {
    if (this.backupChecked || this.expected.kind !== 'file' || !this.expected.valid) return;
    this.backupChecked = true;
    const { fsx, paths } = this;
    try {
      if (fsx.lstatSync(paths.backup, { throwIfNoEntry: false }) !== undefined) return;
      writeFileAtomicSync(fsx, paths.backup, fsx.readFileSync(paths.ledger, 'utf8'), { ...this.writeOptions, fsync: false });
    } catch {
      // without a backup, a later corruption means safe mode (no restart), as before any backup existed
    }
  }

  /** Checks every write makes first: the writer may write, `load()` came first, nobody else wrote. */
  private beforeWrite(what: 'keep' | 'commit to'): void {
    this.assertWriter();
    if (!this.loaded) throw new LedgerError(this.paths.ledger, `Cannot ${what} ${this.paths.ledger} before load(): call store.load() first, once.`);
    this.compareAndSet();
  }

  private keepAsIsNow(): void {
    this.beforeWrite('keep');
    this.ensureBackup();
  }

  /** Whether the file holds what a later launch needs already: writing again would only cost fsyncs. */
  private alreadyDurable(key: DurableKey | null): boolean {
    if (this.restoredDurable) {
      this.lastDurable = this.durableKey(this.restoredDurable.snapshot, this.restoredDurable.summary);
      this.restoredDurable = null;
    }
    return durablyHeld(key, this.lastDurable);
  }

  private writeCommit(snapshotJson: string, checksum: string, summary: LedgerSummary, key: DurableKey | null): { generation: number; skipped?: boolean } {
    const next = this.currentGeneration + 1;
    try {
      this.beforeWrite('commit to');
      if (this.alreadyDurable(key)) {
        this.ensureBackup();
        return { generation: this.currentGeneration, skipped: true };
      }
      this.keepBackup();
      this.writeGeneration(next, snapshotJson, checksum, summary);
      // A "nothing new" snapshot that had to be written (no durable state known) becomes the baseline as is.
      this.lastDurable = key && key.projection === NOTHING_NEW ? { restartCount: key.restartCount, projection: snapshotJson } : key;
    } catch (error) {
      this.emit('ledger.write_failed', {
        file: this.paths.ledger,
        generation: next,
        code: (error as { code?: unknown }).code ?? null,
        error: (error as Error).message,
      });
      throw error;
    }
    this.emit('ledger.committed', { generation: next, phase: summary.phase, restart_count: summary.restart_count });
    return { generation: next };
  }

  /** LG-2: temp file, fsync, rename, then the directory's fsync. */
  private writeGeneration(next: number, snapshotJson: string, checksum: string, summary: LedgerSummary): void {
    const { fsx, paths } = this;
    const bytes = serializeEnvelope({ generation: next, writerPid: this.pid, writtenAt: this.now().toISOString(), summary, snapshotJson, checksum });
    try {
      writeFileAtomicSync(fsx, paths.ledger, bytes, this.writeOptions);
    } catch (error) {
      throw new LedgerError(paths.ledger, `Cannot write ${paths.ledger}: ${(error as Error).message}. The previous generation ${this.currentGeneration} is intact.`, { cause: error });
    }
    // The rename happened: the store stands on the new generation whether or not the dir fsync works.
    this.currentGeneration = next;
    this.lastDurable = null; // not durable until the directory fsync below has worked
    this.expected = { kind: 'file', identity: identityOf(fsx.lstatSync(paths.ledger, { bigint: true })), valid: true };
    if (!this.doFsync) return;
    try {
      this.fsyncDir();
    } catch (error) {
      throw new LedgerError(
        paths.ledger,
        `Wrote generation ${next} to ${paths.ledger} but could not fsync ${paths.stateDir}: ${(error as Error).message}. It may not survive a power loss; the next commit fsyncs again.`,
        { cause: error },
      );
    }
  }

  private writeFlagsNow(flags: LedgerFlags): void {
    this.assertWriter();
    const { fsx, paths } = this;
    const content = `${JSON.stringify({ written_at: this.now().toISOString(), writer_pid: this.pid, generation: this.currentGeneration })}\n`;
    const apply = (value: boolean | undefined, file: string): void => {
      if (value === true) writeFileAtomicSync(fsx, file, content, this.flagWriteOptions);
      if (value === false) {
        try {
          fsx.unlinkSync(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    };
    try {
      apply(flags.firstRunCompleted, paths.firstRunCompletedFlag);
      apply(flags.restartCompleted, paths.restartCompletedFlag);
    } catch (error) {
      throw new LedgerError(paths.stateDir, `Cannot write the cache flags in ${paths.stateDir}: ${(error as Error).message}.`, { cause: error });
    }
    this.emit('ledger.flags_written', {
      first_run_completed: flags.firstRunCompleted ?? null,
      restart_completed: flags.restartCompleted ?? null,
      generation: this.currentGeneration,
    });
  }

  commit(snapshot: unknown, summary: LedgerSummary): Promise<{ generation: number; skipped?: boolean }> {
    const ledger = this.paths.ledger;
    let snapshotJson: string;
    let checksum: string;
    try {
      checkCommitArguments(ledger, snapshot, summary);
      try {
        snapshotJson = canonicalJson(snapshot);
      } catch (error) {
        throw new LedgerError(ledger, `Cannot commit to ${ledger}: the snapshot is not plain JSON (${(error as Error).message}).`, { cause: error });
      }
      checksum = sha256Checksum(snapshotJson);
    } catch (error) {
      this.emit('ledger.write_failed', { file: ledger, generation: null, code: (error as { code?: unknown }).code ?? null, error: (error as Error).message });
      return Promise.reject(error);
    }
    const frozen: LedgerSummary = { phase: summary.phase, restart_count: summary.restart_count };
    const key = this.durableKey(snapshot, frozen, snapshotJson);
    return this.enqueue(() => this.writeCommit(snapshotJson, checksum, frozen, key));
  }

  writeFlags(flags: LedgerFlags): Promise<void> {
    const frozen: LedgerFlags = { ...flags };
    return this.enqueue(() => this.writeFlagsNow(frozen));
  }

  keepAsIs(): Promise<void> {
    return this.enqueue(() => this.keepAsIsNow());
  }
}

/** A projection that says "nothing new": skippable whenever a durable state with the same count is known. */
const NOTHING_NEW = Symbol('nothing new');

/** What the ledger durably holds (or a commit would write), as far as skipping is concerned. */
interface DurableKey {
  restartCount: number;
  /** The canonical JSON of the projection (with the phase, without a projection), or {@link NOTHING_NEW}. */
  projection: string | typeof NOTHING_NEW;
}

/** After a fresh load: no ledger yet — which a first launch's precheck adds nothing to. */
const NO_LEDGER_YET: DurableKey = { restartCount: 0, projection: '\u0000no ledger yet' };

/** Whether the ledger already durably holds what a commit of `key` would write. */
function durablyHeld(key: DurableKey | null, durable: DurableKey | null): boolean {
  if (key === null || durable === null || key.restartCount !== durable.restartCount) return false;
  return key.projection === NOTHING_NEW || key.projection === durable.projection;
}

/**
 * The key of a commit: its restart count and the canonical JSON of its durable projection. `null`
 * (never skip) when the projection throws or is not JSON.
 */
function durableKeyOf(projection: ((snapshot: unknown) => unknown) | undefined) {
  return (snapshot: unknown, summary: LedgerSummary, snapshotJson?: string): DurableKey | null => {
    const restartCount = summary.restart_count;
    if (!projection) return { restartCount, projection: `${summary.phase}\u0000${snapshotJson ?? canonicalJson(snapshot)}` };
    try {
      const projected = projection(snapshot);
      return { restartCount, projection: projected === undefined ? NOTHING_NEW : canonicalJson(projected) };
    } catch {
      return null;
    }
  };
}

function checkOptions(options: LedgerStoreOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected the ledger store options to be an object, got ${describeValue(options)}`);
  }
  if (typeof options.stateDir !== 'string' || options.stateDir === '') {
    throw new TypeError(`Expected \`stateDir\` to be a non-empty path string, got ${describeValue(options.stateDir)}`);
  }
  for (const key of ['validateSnapshot', 'assertWriter', 'now', 'durableProjection'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`Expected \`${key}\` to be a function, got ${describeValue(options[key])}`);
    }
  }
  if (options.journal !== undefined && typeof options.journal?.append !== 'function') {
    throw new TypeError(`Expected \`journal\` to have an append(type, payload) method, got ${describeValue(options.journal)}`);
  }
  if (options.pid !== undefined && !Number.isSafeInteger(options.pid)) {
    throw new TypeError(`Expected \`pid\` to be an integer, got ${describeValue(options.pid)}`);
  }
}

function checkCommitArguments(file: string, snapshot: unknown, summary: LedgerSummary): void {
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
    throw new LedgerError(file, `Cannot commit to ${file}: expected \`snapshot\` to be a persisted snapshot object, got ${describeValue(snapshot)}`);
  }
  if (typeof summary !== 'object' || summary === null) {
    throw new LedgerError(file, `Cannot commit to ${file}: expected \`summary\` to be { phase, restart_count }, got ${describeValue(summary)}`);
  }
  if (typeof summary.phase !== 'string' || summary.phase === '') {
    throw new LedgerError(file, `Cannot commit to ${file}: expected \`summary.phase\` to be a non-empty string, got ${describeValue(summary.phase)}`);
  }
  if (!Number.isSafeInteger(summary.restart_count) || summary.restart_count < 0) {
    throw new LedgerError(
      file,
      `Cannot commit to ${file}: expected \`summary.restart_count\` to be an integer from 0 and up, got ${describeValue(summary.restart_count)}`,
    );
  }
}

/**
 * Read and check the ledger file of `stateDir` (envelope and checksum; no snapshot check), changing
 * nothing — no quarantine, no journal. For a launch that decides from what it holds how to check it, then
 * hands the read to {@link LedgerStore.load} (`{ main }`). Never throws.
 */
export function peekLedger(stateDir: string, fsOverrides?: Partial<LedgerFs>): ReadLedgerFile {
  return readLedgerFile(resolveLedgerFs(fsOverrides), ledgerPaths(stateDir).ledger);
}
