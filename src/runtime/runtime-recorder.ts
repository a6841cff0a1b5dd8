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
  /**
   * Journal events of one instant with one write, then deliver them (a warm launch's). With a fault set
   * (`fault-injection.ts`) each is journaled on its own, so "after line n" stays exact.
   */
  recordAll(events: readonly { type: string; payload?: Record<string, unknown> }[]): void;
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

  /** Write through `write`; the first failure goes to `onFatal`, later lines are dropped. */
  const guarded = (what: string, write: () => void): boolean => {
    if (!open || failed) return false;
    try {
      write();
      return true;
    } catch (error) {
      failed = true;
      const wrapped =
        error instanceof JournalError
          ? error
          : new JournalError(journal.path, `Cannot append \`${what}\` to ${journal.path}: ${(error as Error).message}. Free some space (or fix the disk) and start the app again; the ledger keeps its last committed generation.`, { cause: error });
      options.onFatal(wrapped);
      return false;
    }
  };
  const append = (type: string, payload: Record<string, unknown>) => {
    const written = guarded(type, () => {
      faults.beforeJournalLine();
      journal.append(type, payload);
    });
    if (written) faults.afterJournalLine(type);
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
    recordAll(events) {
      if (faults.armed) for (const { type, payload = {} } of events) append(type, payload);
      else guarded(events.map((e) => e.type).join(', '), () => journal.appendAll(events));
      const ts = new Date().toISOString();
      for (const { type, payload = {} } of events) deliver({ ts, pid: process.pid, type, ...payload });
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
