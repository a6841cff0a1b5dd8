/** The event journal (EV-3): `events.ndjson`, one JSON object a line. */
export { openJournal, formatEvent, JOURNAL_FILE, RESERVED_EVENT_KEYS } from './journal.js';
export type { Journal, JournalOptions, JournalSink } from './journal.js';
export { readJournal, parseJournal } from './read-journal.js';
export type { JournalEvent, JournalLineProblem, JournalReadResult } from './read-journal.js';
