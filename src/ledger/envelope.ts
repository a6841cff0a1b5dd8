import { canonicalJson, sha256ChecksumForRead } from './canonical-json.js';

/** The envelope schema this code writes and the only one it reads. */
export const LEDGER_SCHEMA = 1;

/** The few facts `first-run status` shows without restoring the machine. */
export interface LedgerSummary {
  /** The root phase (`PRECHECK`, `PIPELINE`, … `COMPLETED`). */
  phase: string;
  /** Restarts executed (RS-2, RS-3). */
  restart_count: number;
}

/** `permission_ledger.json` as written (LG-1). */
export interface LedgerEnvelope {
  /** Envelope schema version, {@link LEDGER_SCHEMA}. */
  schema: typeof LEDGER_SCHEMA;
  /** Strictly increasing across every write, restart and recovery; the first commit writes 1. */
  generation: number;
  /** Pid of the process that wrote it. */
  writer_pid: number;
  /** ISO time of the write. */
  written_at: string;
  /** `sha256:<hex>` of the canonical JSON of `snapshot`. */
  checksum: string;
  /** Phase and restart count, readable without the machine. */
  summary: LedgerSummary;
  /** The root actor's persisted snapshot (`actor.getPersistedSnapshot()`), plain JSON. */
  snapshot: unknown;
}

/**
 * Why a ledger or backup file was not usable — a stable code, journaled as `reason` in `ledger.corrupt`
 * and used in the quarantined file's name.
 * - `empty`: zero bytes or only whitespace;
 * - `truncated`: JSON that stops early (a torn write);
 * - `not_json`: anything else that is not JSON (or not UTF-8);
 * - `bad_envelope`: JSON, but not the envelope's shape;
 * - `bad_checksum`: the snapshot does not match its checksum;
 * - `unknown_schema`: an envelope `schema` this code does not know;
 * - `unknown_state`: `validateSnapshot` rejected the snapshot (a state the machine no longer has, …);
 * - `symlink`: the path is a symbolic link (never followed);
 * - `not_a_file`: the path is a directory, FIFO, socket or device;
 * - `unreadable`: the file cannot be opened or read (EACCES, EIO, …);
 * - `missing`: the ledger is gone but a backup exists (only the ledger gets this; nothing to quarantine);
 * - `reset`: moved away by {@link resetLedger}, not a fault.
 */
export type LedgerProblemReason =
  | 'empty'
  | 'truncated'
  | 'not_json'
  | 'bad_envelope'
  | 'bad_checksum'
  | 'unknown_schema'
  | 'unknown_state'
  | 'symlink'
  | 'not_a_file'
  | 'unreadable'
  | 'missing'
  | 'reset';

/** Result of checking a ledger file's bytes. */
export type EnvelopeCheck =
  | { ok: true; envelope: LedgerEnvelope }
  | {
      ok: false;
      reason: LedgerProblemReason;
      message: string;
      /** The file's `generation` when it could still be read, so generations stay increasing. */
      generation: number | null;
    };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Check a ledger file's bytes: UTF-8, JSON, schema, envelope shape, checksum, and finally
 * `validateSnapshot`. Never throws.
 */
export function checkEnvelopeBytes(bytes: Uint8Array, validateSnapshot?: (snapshot: unknown) => void): EnvelopeCheck {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: 'not_json', message: `is not UTF-8 text (${bytes.length} bytes)`, generation: null };
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    return { ok: false, reason: 'empty', message: `is empty (${bytes.length} bytes)`, generation: null };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    const message = (error as Error).message;
    // A torn write still names its generation; reading it keeps generations increasing past it.
    const fragment = /"generation"\s*:\s*(\d{1,15})\b/.exec(trimmed);
    const generation = fragment ? Number(fragment[1]) : null;
    const position = /at position (\d+)/.exec(message);
    const endsEarly =
      /Unexpected end of JSON input/.test(message) || (position !== null && Number(position[1]) >= trimmed.length);
    if (endsEarly && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
      return {
        ok: false,
        reason: 'truncated',
        message: `is truncated: its JSON stops early after ${bytes.length} bytes (${message})`,
        generation,
      };
    }
    return { ok: false, reason: 'not_json', message: `is not JSON (${message})`, generation };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'bad_envelope', message: `is JSON but not an envelope object`, generation: null };
  }
  const e = parsed as Record<string, unknown>;
  const generation = isGeneration(e.generation) ? e.generation : null;
  const bad = (message: string): EnvelopeCheck => ({ ok: false, reason: 'bad_envelope', message, generation });
  if (typeof e.schema === 'number' && e.schema !== LEDGER_SCHEMA) {
    return {
      ok: false,
      reason: 'unknown_schema',
      message: `has envelope schema ${e.schema}; this version reads only schema ${LEDGER_SCHEMA} (written by a newer or older release?)`,
      generation,
    };
  }
  if (e.schema !== LEDGER_SCHEMA) return bad(`has no numeric \`schema\` (expected ${LEDGER_SCHEMA})`);
  if (generation === null) return bad(`has an invalid \`generation\` (expected an integer from 1 and up)`);
  if (!Number.isSafeInteger(e.writer_pid)) return bad('has an invalid `writer_pid` (expected an integer)');
  if (typeof e.written_at !== 'string') return bad('has an invalid `written_at` (expected an ISO string)');
  if (typeof e.checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.checksum)) {
    return bad('has an invalid `checksum` (expected `sha256:<64 hex digits>`)');
  }
  const summary = e.summary as Record<string, unknown> | null | undefined;
  if (typeof summary !== 'object' || summary === null || typeof summary.phase !== 'string' || !isCount(summary.restart_count)) {
    return bad('has an invalid `summary` (expected `{ phase: string, restart_count: integer >= 0 }`)');
  }
  if (typeof e.snapshot !== 'object' || e.snapshot === null || Array.isArray(e.snapshot)) {
    return bad('has no `snapshot` object');
  }
  const written = writtenSnapshotJson(trimmed, e);
  let actual = written === null ? null : sha256ChecksumForRead(written);
  if (actual !== e.checksum) actual = sha256ChecksumForRead(canonicalJson(e.snapshot)); // not laid out as we write it
  if (actual !== e.checksum) {
    return {
      ok: false,
      reason: 'bad_checksum',
      message: `has a snapshot that does not match its checksum (stored ${e.checksum}, computed ${actual})`,
      generation,
    };
  }
  if (validateSnapshot) {
    try {
      validateSnapshot(e.snapshot);
    } catch (error) {
      return {
        ok: false,
        reason: 'unknown_state',
        message: `holds a snapshot the machine cannot restore: ${error instanceof Error ? error.message : String(error)}`,
        generation,
      };
    }
  }
  return { ok: true, envelope: e as unknown as LedgerEnvelope };
}

/**
 * The snapshot's JSON exactly as {@link serializeEnvelope} wrote it — the checksum's own input, with no
 * need to serialize the parsed snapshot again — or `null` when the file is not laid out byte for byte as
 * this code writes it (another writer, an edit by hand), and the snapshot must be serialized canonically.
 * Found by writing the envelope's head again from the parsed fields: the snapshot is what follows it, up
 * to the closing brace. When their hash matches the checksum, those bytes are the canonical JSON the
 * checksum was taken over (and `JSON.parse` of them is the parsed snapshot); when it does not, the
 * caller hashes the canonical JSON of the parsed snapshot, as always.
 */
function writtenSnapshotJson(text: string, e: Record<string, unknown>): string | null {
  const head = envelopeHead(e.generation as number, e.writer_pid as number, e.written_at as string, e.summary as LedgerSummary, e.checksum as string);
  if (!text.startsWith(head) || !text.endsWith('}')) return null;
  return text.slice(head.length, -1);
}

function envelopeHead(generation: number, writerPid: number, writtenAt: string, summary: LedgerSummary, checksum: string): string {
  return (
    `{"schema":${LEDGER_SCHEMA},"generation":${generation},"writer_pid":${writerPid},` +
    `"written_at":${JSON.stringify(writtenAt)},"checksum":"${checksum}",` +
    `"summary":${JSON.stringify({ phase: summary.phase, restart_count: summary.restart_count })},"snapshot":`
  );
}

/**
 * The exact bytes of an envelope. `snapshotJson` must be `canonicalJson(snapshot)`; the checksum is taken
 * over it, so the file is verifiable after `JSON.parse`.
 */
export function serializeEnvelope(fields: {
  generation: number;
  writerPid: number;
  writtenAt: string;
  summary: LedgerSummary;
  snapshotJson: string;
  checksum: string;
}): string {
  return `${envelopeHead(fields.generation, fields.writerPid, fields.writtenAt, fields.summary, fields.checksum)}${fields.snapshotJson}}\n`;
}

function isGeneration(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
