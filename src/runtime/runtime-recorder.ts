/**
 * The runtime's journal and listeners: every event goes to `events.ndjson` (EV-3) and to the host's
 * listeners. A journal that cannot be written (disk full, I/O error) is not swallowed and not left to
 * blow up inside an actor's emit (XState re-throws a listener's error in a microtask, which killed the
 * process with a raw stack): the first failure is handed to `onFatal` once — the runtime then stops
 * and ends with the `JournalError` — and later lines are dropped from the journal only.
 */
import { JournalError } from '../errors.js';
import { openJournal, type Journal } from '../journal/index.js';
import { createFaultHooks, type ProcessRole } from './fault-injection.js';

/** One runtime event as the host sees it. */
export type RecordedEvent = { type: string; ts: string; pid: number; [key: string]: unknown };

export interface RuntimeRecorder {
  /** Journal a line only (the event was already delivered to listeners by someone else). */
  append(type: string, payload: Record<string, unknown>): void;
  /** Journal a runtime event and deliver it to the listeners. */
  record(type: string, payload?: Record<string, unknown>): void;
  /** Deliver an already-built event to the listeners (no journal). */
  deliver(event: RecordedEvent): void;
  /** Add a listener; returns its removal. */
  listen(listener: (event: RecordedEvent) => void): () => void;
  /** Stop journaling and close the file. */
  close(): void;
}

export function createRuntimeRecorder(options: {
  stateDir: string;
  role: ProcessRole;
  onFatal: (error: JournalError) => void;
}): RuntimeRecorder {
  const journal: Journal = openJournal({ stateDir: options.stateDir });
  const faults = createFaultHooks(options.role);
  const listeners = new Set<(event: RecordedEvent) => void>();
  let open = true;
  let failed = false;

  const append = (type: string, payload: Record<string, unknown>) => {
    if (!open || failed) return;
    try {
      faults.beforeJournalLine();
      journal.append(type, payload);
    } catch (error) {
      failed = true;
      const wrapped =
        error instanceof JournalError
          ? error
          : new JournalError(journal.path, `Cannot append \`${type}\` to ${journal.path}: ${(error as Error).message}. Free some space (or fix the disk) and start the app again; the ledger keeps its last committed generation.`, { cause: error });
      options.onFatal(wrapped);
      return;
    }
    faults.afterJournalLine(type);
  };
  const deliver = (event: RecordedEvent) => {
    for (const listener of listeners) listener(event);
  };
  return {
    append,
    record(type, payload = {}) {
      append(type, payload);
      deliver({ type, ts: new Date().toISOString(), pid: process.pid, ...payload });
    },
    deliver,
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (!open) return;
      open = false;
      journal.close();
    },
  };
}
