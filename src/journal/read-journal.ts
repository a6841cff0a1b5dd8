import * as fs from 'node:fs';
import { JournalError } from '../errors.js';
import { describeFileType } from '../fs/regular-file.js';

/** One parsed journal line. */
export interface JournalEvent {
  /** ISO time the event was appended. */
  ts: string;
  /** Pid of the appending process. */
  pid: number;
  /** Event type, `source.verb` (`ledger.committed`). */
  type: string;
  /** The payload keys. */
  [key: string]: unknown;
}

/** A line {@link readJournal} could not use: torn by a crash, garbage, or not an event. */
export interface JournalLineProblem {
  /** 1-based line number. */
  line: number;
  /** Why the line was skipped. */
  message: string;
  /** The line's first 200 characters. */
  text: string;
}

/** What {@link readJournal} returns. */
export interface JournalReadResult {
  /** The events, in file order. */
  events: JournalEvent[];
  /** Lines that were skipped, with their line numbers. Empty lines are skipped silently. */
  problems: JournalLineProblem[];
}

/**
 * Read and parse an `events.ndjson` journal. Never throws on its content: a torn or garbage line is
 * skipped and reported in `problems` with its line number. A missing file reads as no events.
 *
 * @throws JournalError when the file exists but cannot be read (a directory, no permission).
 */
export function readJournal(file: string, options: { maxBytes?: number } = {}): JournalReadResult {
  let text: string;
  try {
    text = readTail(file, options.maxBytes ?? MAX_JOURNAL_READ_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], problems: [] };
    throw new JournalError(file, `Cannot read the event journal ${file}: ${(error as Error).message}.`, { cause: error });
  }
  return parseJournal(text);
}

/** The most of a journal {@link readJournal} reads: its last 16 MiB (the journal only grows). */
export const MAX_JOURNAL_READ_BYTES = 16 * 1024 * 1024;

/**
 * Read at most the last `maxBytes` of a regular file (from the first whole line), never following a
 * symlink and never blocking on a FIFO: the type is checked on the open descriptor first.
 */
function readTail(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error(`${file} is ${describeFileType(stat)}, expected a regular file`), { code: 'ENOTREG' });
    const start = Math.max(0, stat.size - maxBytes);
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes));
    let length = 0;
    while (length < buffer.length) {
      const read = fs.readSync(fd, buffer, length, buffer.length - length, start + length);
      if (read === 0) break;
      length += read;
    }
    const text = buffer.subarray(0, length).toString('utf8');
    return start === 0 ? text : text.slice(text.indexOf('\n') + 1);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parse journal text (see {@link readJournal}). Never throws. */
export function parseJournal(text: string): JournalReadResult {
  const events: JournalEvent[] = [];
  const problems: JournalLineProblem[] = [];
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  lines.forEach((raw, index) => {
    const isLast = index === lines.length - 1;
    if (raw.trim() === '') return;
    const report = (message: string): void => {
      problems.push({ line: index + 1, message, text: raw.slice(0, 200) });
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      report(
        isLast && !endsWithNewline
          ? `torn last line (no newline; the writer was probably killed mid-write): ${(error as Error).message}`
          : `not JSON: ${(error as Error).message}`,
      );
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      report('not a JSON object');
      return;
    }
    const event = value as Record<string, unknown>;
    if (typeof event.ts !== 'string' || typeof event.pid !== 'number' || typeof event.type !== 'string') {
      report('missing `ts` (string), `pid` (number) or `type` (string)');
      return;
    }
    events.push(event as JournalEvent);
  });
  return { events, problems };
}
