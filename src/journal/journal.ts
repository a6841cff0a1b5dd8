import * as fs from 'node:fs';
import * as path from 'node:path';
import { JournalError } from '../errors.js';
import { safeReplacer } from '../safe-json.js';

/** The journal's file name inside the state dir (EV-3). */
export const JOURNAL_FILE = 'events.ndjson';

/** Keys every journal line carries; a payload key with one of these names is renamed `payload_<key>`. */
export const RESERVED_EVENT_KEYS = ['ts', 'pid', 'type'] as const;

/** The part of a journal the ledger store (and anything else that only reports) needs. */
export interface JournalSink {
  /** Append one event. See {@link Journal.append}. */
  append(type: string, payload?: Record<string, unknown>): void;
}

/** An open journal: the append-only `events.ndjson` of one state dir. */
export interface Journal extends JournalSink {
  /**
   * Append one event as one JSON line `{"ts", "pid", "type", ...payload}`, synchronously, with a single
   * `write(2)` on an `O_APPEND` descriptor: when `append` returns, the line is in the kernel's page
   * cache, so a `kill -9` right after loses nothing (a power loss may: there is no fsync per event), and
   * lines from several processes appending at once never interleave.
   *
   * Payload keys named `ts`, `pid` or `type` never overwrite the envelope: they are written as
   * `payload_ts`, `payload_pid`, `payload_type`. Values that JSON cannot hold are made printable:
   * `bigint` → string, `Error` → `{ name, message, code? }`, a cycle → `"[Circular]"`.
   *
   * @throws JournalError when the journal was closed or the write fails (disk full, I/O error).
   */
  append(type: string, payload?: Record<string, unknown>): void;
  /**
   * Append several events with one `write(2)`: the lines land together or, on a failure, as a prefix
   * of whole lines at most torn in one place, like a single append. For events that happen at one
   * instant (a warm launch's, src/runtime/warm-start.ts); same rules and errors as {@link append}.
   */
  appendAll(events: readonly { type: string; payload?: Record<string, unknown> }[]): void;
  /** Absolute path of `events.ndjson`. */
  readonly path: string;
  /** Close the file descriptor. Safe to call twice; `append` after `close` throws. */
  close(): void;
}

/** Options of {@link openJournal}. */
export interface JournalOptions {
  /** The state dir; created with mode 0700 when missing. */
  stateDir: string;
  /**
   * The `pid` written on every line.
   * @default process.pid
   */
  pid?: number;
  /**
   * The clock for `ts`.
   * @default () => new Date()
   */
  now?: () => Date;
}

/**
 * Open (creating it 0600 in a 0700 dir when missing) the event journal `<stateDir>/events.ndjson`.
 *
 * @throws JournalError when the state dir or the file cannot be created or opened.
 * @example
 * const journal = openJournal({ stateDir });
 * journal.append('ledger.committed', { generation: 3, phase: 'PIPELINE', restart_count: 0 });
 * journal.close();
 */
export function openJournal(options: JournalOptions): Journal {
  const file = path.resolve(options.stateDir, JOURNAL_FILE);
  const pid = options.pid ?? process.pid;
  const now = options.now ?? (() => new Date());
  let fd: number | null;
  try {
    fd = openInDir(file);
  } catch (error) {
    throw new JournalError(
      file,
      `Cannot open the event journal ${file}: ${(error as Error).message}. Check that the state dir exists and is writable by this user.`,
      { cause: error },
    );
  }

  const writeLines = (what: string, text: string): void => {
    if (fd === null) {
      throw new JournalError(file, `Cannot append \`${what}\` to ${file}: the journal was closed. Open it again with openJournal().`);
    }
    const bytes = Buffer.from(text, 'utf8');
    try {
      let written = fs.writeSync(fd, bytes, 0, bytes.length);
      // A regular-file write is only short on ENOSPC or a signal; finish the line rather than leave it
      // torn (readJournal reports torn lines either way).
      while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    } catch (error) {
      throw new JournalError(file, `Cannot append \`${what}\` to ${file}: ${(error as Error).message}.`, { cause: error });
    }
  };

  return {
    path: file,
    append(type: string, payload?: Record<string, unknown>): void {
      writeLines(type, `${formatEvent(now().toISOString(), pid, type, payload)}\n`);
    },
    appendAll(events) {
      if (events.length === 0) return;
      const ts = now().toISOString();
      writeLines(events.map((e) => e.type).join(', '), events.map((e) => `${formatEvent(ts, pid, e.type, e.payload)}\n`).join(''));
    },
    close(): void {
      if (fd === null) return;
      const toClose = fd;
      fd = null;
      fs.closeSync(toClose);
    },
  };
}

const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/**
 * Open the journal for appending without ever blocking on what is there: `O_NONBLOCK` (a FIFO with no
 * reader fails at once with ENXIO instead of waiting for one), `O_NOFOLLOW` (no symlink), and `fstat` of
 * the descriptor. Anything that is not a regular file — a FIFO, a directory, a symlink, a device — is
 * moved into `quarantine/` (nothing is deleted) and a fresh journal is started.
 */
function openRegularForAppend(file: string): number {
  for (let attempt = 0; ; attempt++) {
    let fd: number | null = null;
    try {
      fd = fs.openSync(file, APPEND_FLAGS, 0o600);
      if (fs.fstatSync(fd).isFile()) return fd;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt > 0 || (code !== 'ELOOP' && code !== 'ENXIO' && code !== 'EISDIR' && code !== 'EMLINK')) throw error;
    }
    if (fd !== null) fs.closeSync(fd);
    if (attempt > 0) throw new Error(`${file} is not a regular file, even after moving the previous one aside`);
    const quarantine = path.join(path.dirname(file), 'quarantine');
    fs.mkdirSync(quarantine, { recursive: true, mode: 0o700 });
    fs.renameSync(file, path.join(quarantine, `${JOURNAL_FILE}.${Date.now()}.not-a-file`));
  }
}

/** {@link openRegularForAppend}, creating the state dir (0700) first only when it is missing. */
function openInDir(file: string): number {
  try {
    return openRegularForAppend(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return openRegularForAppend(file);
}

/** Serialize one event line (without the newline). Never throws. */
export function formatEvent(ts: string, pid: number, type: string, payload?: Record<string, unknown>): string {
  const event: Record<string, unknown> = { ts, pid, type };
  if (payload) {
    for (const [key, value] of Object.entries(payload)) {
      const target = (RESERVED_EVENT_KEYS as readonly string[]).includes(key) ? `payload_${key}` : key;
      event[target] = value;
    }
  }
  try {
    return JSON.stringify(event, safeReplacer());
  } catch (error) {
    // Only a throwing toJSON/getter gets here.
    return JSON.stringify({ ts, pid, type, payload_error: `unserializable payload: ${(error as Error).message}` });
  }
}
