/**
 * The floor of `embedded_warm_start` (SPEC §5, decided 2026-12-07): a bare replay, with plain `node:fs`
 * calls and no JavaScript of ours, of the file operations SPEC §5 and §2 require of a warm start, in the
 * order a warm `runFirstRun` makes them (seen with `strace -f -e trace=file,desc`; `syscalls_warm_start`
 * traces both again at every bench run). {@link WARM_START_FLOOR} lists them; the bench prints the list
 * with the figure and docs/performance.md shows it.
 *
 * What the replay leaves out is what a warm start does beyond one of each required operation: repeated
 * checks of the same file (the ledger is `lstat`ed three times and `fstat`ed twice, the state dir `lstat`ed
 * again after its ancestry check, the lock read back before the flags, `getuid` twice), the backup's
 * `lstat`, a `read` to end of file of the TCC database, and all of our JavaScript (the lock
 * record, the journal's lines, JSON parsing, the checksum, the warm view, the events).
 *
 * The replay runs on a mirror of the real state dir (`mirrorStateDir`: same depth, same files), so the
 * product's own files are never touched by it.
 */
import { closeSync, constants, copyFileSync, cpSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, statSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';

/** The state dir's files the replay needs (names as in src/ledger/paths.ts, src/lock/lock-paths.ts, src/handoff/). */
export const STATE_FILES = {
  ledger: 'permission_ledger.json',
  journal: 'events.ndjson',
  lock: 'instance.lock',
  handoff: 'handoff',
  restartFlag: 'restart_completed.flag',
  completedFlag: 'permissions_first_run_completed.flag',
} as const;

/** One required operation of a warm start: what, by which requirement, and the system calls it makes. */
export interface FloorOperation {
  what: string;
  requirement: string;
  syscalls: string;
}

/** The operations the floor replays, in order (printed with the figure; docs/performance.md). */
export const WARM_START_FLOOR: readonly FloorOperation[] = [
  { what: 'the backend reads the TCC database', requirement: 'FR-1 (the real status of every permission at every launch)', syscalls: 'open, fstat, read, close' },
  { what: 'state-dir check: its real path, then it and every directory above it', requirement: 'SPEC §5 "state-dir check" (nobody else may swap it: LK-3, RS-3)', syscalls: 'getuid; realpath(3) = a readlink per component; a stat per directory up to /' },
  { what: 'the journal opened for appending', requirement: 'EV-3 (every event appended to events.ndjson)', syscalls: 'open(O_APPEND|O_CREAT|O_NOFOLLOW), fstat' },
  { what: 'lock create', requirement: 'LK-1', syscalls: 'symlink' },
  { what: 'hand-off check: handoff/ is ours, and who waits in it', requirement: 'RS-7 (a successor waiting for the lock gets it)', syscalls: 'lstat, open, fstat, getdents ×2, close' },
  { what: 'journal line: the lock acquired', requirement: 'EV-3', syscalls: 'write' },
  { what: 'ledger read with its identity check (never a link or a FIFO; the file read is the one checked)', requirement: 'LG-1, LG-3', syscalls: 'lstat, open(O_NOFOLLOW), fstat, read, close' },
  { what: 'journal line: the ledger loaded', requirement: 'EV-3', syscalls: 'write' },
  { what: "the backend's status read at the precheck (unchanged since its read: one stat)", requirement: 'FR-1', syscalls: 'stat' },
  { what: 'flags: restart_completed.flag cleared, the completed flag present', requirement: 'LG-5', syscalls: 'lstat ×2' },
  { what: 'journal lines: the precheck and completion events, then the lock releasing', requirement: 'EV-2, EV-3', syscalls: 'write ×2' },
  { what: 'lock remove, only our own', requirement: 'LK-1, LK-3', syscalls: 'readlink, unlink' },
  { what: 'journal line: the lock released; the journal closed', requirement: 'EV-3', syscalls: 'write, close' },
];

/** The floor's replay over a mirror state dir, its inputs read once beforehand. */
export interface WarmStartFloor {
  /** The mirror state dir the replay works in. */
  stateDir: string;
  /** One replay of {@link WARM_START_FLOOR}. */
  run(): void;
}

const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW;
const READ_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;

/**
 * A copy of `stateDir` next to it (`<parent>/<name>` with a name of the same length, so `realpath` and
 * the ancestry check walk the same depth): its ledger, flags, `handoff/` and journal.
 */
export function mirrorStateDir(stateDir: string, name: string): string {
  const mirror = path.join(path.dirname(stateDir), name);
  mkdirSync(mirror, { recursive: true, mode: 0o700 });
  for (const file of [STATE_FILES.ledger, STATE_FILES.journal, STATE_FILES.completedFlag]) copyFileSync(path.join(stateDir, file), path.join(mirror, file));
  cpSync(path.join(stateDir, STATE_FILES.handoff), path.join(mirror, STATE_FILES.handoff), { recursive: true });
  return mirror;
}

/**
 * The journal lines of the last warm start in `journal`, in the five writes the product makes them (as
 * traced): the lock acquired; the ledger loaded; the precheck and completion events; the lock
 * releasing; the lock released.
 */
export function lastWarmStartWrites(journal: string): Buffer[] {
  const lines = readFileSync(journal, 'utf8').split('\n').filter((line) => line !== '');
  let first = lines.length - 1;
  while (first >= 0 && (JSON.parse(lines[first]!) as { type?: unknown }).type !== 'instance.lock_acquired') first--;
  const start = first < 0 ? [] : lines.slice(first);
  if (first < 0 || start.length < 5) throw new Error(`${journal}: expected the lines of a warm start (instance.lock_acquired … instance.lock_released), found ${start.length} lines from the last lock acquired.`);
  const text = (group: string[]) => Buffer.from(group.map((line) => `${line}\n`).join(''));
  return [text(start.slice(0, 1)), text(start.slice(1, 2)), text(start.slice(2, -2)), text(start.slice(-2, -1)), text(start.slice(-1))];
}

/** The replay of {@link WARM_START_FLOOR} in `mirror` (see {@link mirrorStateDir}), reading the database `simDb`. */
export function createWarmStartFloor(mirror: string, simDb: string): WarmStartFloor {
  const ledger = path.join(mirror, STATE_FILES.ledger);
  const lock = path.join(mirror, STATE_FILES.lock);
  const handoff = path.join(mirror, STATE_FILES.handoff);
  const restartFlag = path.join(mirror, STATE_FILES.restartFlag);
  const completedFlag = path.join(mirror, STATE_FILES.completedFlag);
  const journal = path.join(mirror, STATE_FILES.journal);
  const writes = lastWarmStartWrites(journal);
  // A lock record as long as the product's (pid, token, machine and boot identity: one fast symlink).
  const record = '3 1 AAAAAAAAAAAA BBBBBBBB CCCCCCCC DDDDDDDD EEEEEEEE';
  const buffer = Buffer.alloc(statSync(ledger).size + 1);
  const run = (): void => {
    readFileSync(simDb);
    process.getuid?.();
    const real = realpathSync.native(mirror);
    for (let dir = real; ; dir = path.dirname(dir)) {
      statSync(dir);
      if (dir === path.dirname(dir)) break;
    }
    const log = openSync(journal, APPEND, 0o600);
    fstatSync(log);
    symlinkSync(record, lock);
    lstatSync(handoff);
    readdirSync(handoff);
    writeSync(log, writes[0]!);
    const seen = lstatSync(ledger);
    const fd = openSync(ledger, READ_NOFOLLOW);
    const opened = fstatSync(fd);
    if (opened.ino !== seen.ino || opened.dev !== seen.dev) throw new Error(`${ledger} changed between its lstat and its open`);
    readSync(fd, buffer, 0, buffer.length, null); // one read of the whole file, as sized by the fstat
    closeSync(fd);
    writeSync(log, writes[1]!);
    statSync(simDb);
    lstatSync(restartFlag, { throwIfNoEntry: false });
    lstatSync(completedFlag, { throwIfNoEntry: false });
    writeSync(log, writes[2]!);
    writeSync(log, writes[3]!);
    readlinkSync(lock);
    unlinkSync(lock);
    writeSync(log, writes[4]!);
    closeSync(log);
  };
  return { stateDir: mirror, run };
}
