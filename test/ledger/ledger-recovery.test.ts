import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  openLedgerStore,
  readLedgerSummary,
  resetLedger,
  sha256Checksum,
  type LedgerFs,
  type LedgerProblemReason,
  type LedgerStore,
  type LedgerStoreOptions,
} from '../../src/ledger/index.js';

interface Recorded {
  type: string;
  payload: Record<string, unknown>;
}

let stateDir: string;
let events: Recorded[];
const journal = {
  append(type: string, payload: Record<string, unknown> = {}): void {
    events.push({ type, payload });
  },
};

/** Stands in for `machine.resolveState`: a snapshot in state `GONE` is one the machine no longer has. */
function validateSnapshot(snapshot: unknown): void {
  if ((snapshot as { value?: unknown }).value === 'GONE') throw new Error("State 'GONE' does not exist on 'firstRun'");
}

function snap(n: number, value: string = 'PIPELINE'): Record<string, unknown> {
  return { status: 'active', value, context: { n, restart_count: 0 }, children: {} };
}

function open(options: Partial<LedgerStoreOptions> = {}): LedgerStore {
  return openLedgerStore({ stateDir, validateSnapshot, journal, fsync: false, ...options });
}

/** A state dir with ledger = generation 2 (snap 2) and backup = generation 1 (snap 1). */
async function twoGenerations(): Promise<LedgerStore> {
  const store = open();
  store.load();
  await store.commit(snap(1), { phase: 'PRECHECK', restart_count: 0 });
  await store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 });
  events = [];
  return store;
}

function envelopeText(fields: { schema?: number; generation: number; snapshot: unknown; checksum?: string }): string {
  return JSON.stringify({
    schema: fields.schema ?? 1,
    generation: fields.generation,
    writer_pid: 1,
    written_at: '2024-01-01T00:00:00.000Z',
    checksum: fields.checksum ?? sha256Checksum(canonicalJson(fields.snapshot)),
    summary: { phase: 'PIPELINE', restart_count: 0 },
    snapshot: fields.snapshot,
  });
}

function quarantined(): string[] {
  const dir = path.join(stateDir, 'quarantine');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

const STAMP = String.raw`\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z`;

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-recovery-'));
  events = [];
});
afterEach(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** An fs whose open of `file` fails with EACCES — as root, `chmod 000` would not stop the read. */
function unreadableFs(file: () => string): Partial<LedgerFs> {
  return {
    openSync: ((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null) => {
      if (p === file()) throw Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: 'EACCES' });
      return fs.openSync(p, flags ?? 'r', mode);
    }) as LedgerFs['openSync'],
  };
}

type Corruption = {
  name: string;
  reason: LedgerProblemReason;
  /** Replace the valid generation-2 ledger at `file` with something bad. */
  corrupt: (file: string) => void;
  /** The generation the next commit must write. */
  nextGeneration: number;
  /** Store options for the load (fault injection). */
  options?: (ledger: () => string) => Partial<LedgerStoreOptions>;
  kind?: 'file' | 'symlink' | 'directory';
};

const corruptions: Corruption[] = [
  { name: 'empty', reason: 'empty', corrupt: (f) => fs.writeFileSync(f, ''), nextGeneration: 3 },
  { name: 'whitespace only', reason: 'empty', corrupt: (f) => fs.writeFileSync(f, ' \n\t\n'), nextGeneration: 3 },
  {
    name: 'truncated',
    reason: 'truncated',
    corrupt: (f) => {
      const bytes = fs.readFileSync(f);
      fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    },
    nextGeneration: 3,
  },
  { name: 'garbage', reason: 'not_json', corrupt: (f) => fs.writeFileSync(f, Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x0a])), nextGeneration: 3 },
  { name: 'not JSON text', reason: 'not_json', corrupt: (f) => fs.writeFileSync(f, 'ledger: yes\n'), nextGeneration: 3 },
  { name: 'wrong envelope shape', reason: 'bad_envelope', corrupt: (f) => fs.writeFileSync(f, '{"schema":1,"generation":5}'), nextGeneration: 6 },
  {
    name: 'bad checksum',
    reason: 'bad_checksum',
    corrupt: (f) => {
      const envelope = JSON.parse(fs.readFileSync(f, 'utf8')) as { snapshot: { context: { n: number } } };
      envelope.snapshot.context.n = 42;
      fs.writeFileSync(f, JSON.stringify(envelope));
    },
    nextGeneration: 3,
  },
  {
    name: 'unknown schema',
    reason: 'unknown_schema',
    corrupt: (f) => fs.writeFileSync(f, envelopeText({ schema: 2, generation: 9, snapshot: snap(9) })),
    nextGeneration: 10,
  },
  {
    name: 'validateSnapshot rejects (a state the machine no longer has)',
    reason: 'unknown_state',
    corrupt: (f) => fs.writeFileSync(f, envelopeText({ generation: 2, snapshot: snap(2, 'GONE') })),
    nextGeneration: 3,
  },
  {
    name: 'symlink (to a valid ledger)',
    reason: 'symlink',
    corrupt: (f) => {
      const elsewhere = path.join(path.dirname(f), 'elsewhere.json');
      fs.renameSync(f, elsewhere);
      fs.symlinkSync(elsewhere, f);
    },
    nextGeneration: 3,
    kind: 'symlink',
  },
  {
    name: 'a directory',
    reason: 'not_a_file',
    corrupt: (f) => {
      fs.rmSync(f);
      fs.mkdirSync(f);
      fs.writeFileSync(path.join(f, 'inside.txt'), 'kept');
    },
    nextGeneration: 3,
    kind: 'directory',
  },
  {
    // Tests run as root, where chmod 000 does not stop a read: inject EACCES into the store's open().
    name: 'unreadable (EACCES injected)',
    reason: 'unreadable',
    corrupt: () => {},
    nextGeneration: 3,
    options: (ledger) => ({ fs: unreadableFs(ledger) }),
  },
];

describe('LG-3 bad ledger', () => {
  it.each(corruptions)('LG-3 quarantines a $name ledger and recovers from the backup', async (c) => {
    const writer = await twoGenerations();
    const ledger = writer.paths.ledger;
    c.corrupt(ledger);
    const before = c.kind === 'directory' || c.kind === 'symlink' ? null : fs.readFileSync(ledger);

    const store = open(c.options?.(() => ledger) ?? {});
    const loaded = store.load();

    expect(loaded.kind).toBe('recovered');
    expect(loaded.snapshot).toEqual(snap(1));
    expect(loaded.snapshotGeneration).toBe(1);
    expect(loaded.problems).toHaveLength(1);
    const problem = loaded.problems[0]!;
    expect(problem).toMatchObject({ which: 'ledger', file: ledger, reason: c.reason });
    expect(problem.message).toContain(ledger);
    expect(problem.message).toContain('moved to');

    // Quarantined, never deleted.
    expect(fs.existsSync(ledger)).toBe(false);
    expect(quarantined()).toHaveLength(1);
    const name = quarantined()[0]!;
    expect(name).toMatch(new RegExp(`^permission_ledger\\.${STAMP}\\.${c.reason}\\.json$`));
    expect(problem.quarantinedTo).toBe(path.join(stateDir, 'quarantine', name));
    const moved = fs.lstatSync(problem.quarantinedTo!);
    if (c.kind === 'symlink') {
      expect(moved.isSymbolicLink()).toBe(true);
      expect(fs.existsSync(path.join(stateDir, 'elsewhere.json'))).toBe(true);
    } else if (c.kind === 'directory') {
      expect(fs.readFileSync(path.join(problem.quarantinedTo!, 'inside.txt'), 'utf8')).toBe('kept');
    } else {
      expect(fs.readFileSync(problem.quarantinedTo!)).toEqual(before);
    }
    expect(fs.statSync(path.join(stateDir, 'quarantine')).mode & 0o777).toBe(0o700);

    // Journaled with a stable reason and a clear message.
    expect(events.map((e) => e.type)).toEqual(['ledger.corrupt', 'ledger.recovered']);
    expect(events[0]?.payload).toMatchObject({ file: ledger, reason: c.reason, quarantined_to: problem.quarantinedTo });
    expect(String(events[0]?.payload.message)).toMatch(/permission_ledger\.json/);

    // Generations stay strictly increasing across the quarantine, and the backup is still there.
    expect(loaded.generation).toBe(c.nextGeneration - 1);
    await expect(store.commit(snap(3), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: c.nextGeneration });
    const again = open().load();
    expect(again).toMatchObject({ kind: 'restored', generation: c.nextGeneration, snapshot: snap(3) });
  });

  it('LG-3 with a bad ledger and a bad backup: safe mode, both quarantined, generations still increase', async () => {
    const writer = await twoGenerations();
    const ledger = JSON.parse(fs.readFileSync(writer.paths.ledger, 'utf8')) as { snapshot: { value: string } };
    ledger.snapshot.value = 'TAMPERED';
    fs.writeFileSync(writer.paths.ledger, JSON.stringify(ledger));
    fs.writeFileSync(writer.paths.backup, '{"schema":1,"gener');

    const store = open();
    const loaded = store.load();
    expect(loaded).toMatchObject({ kind: 'safe_mode', snapshot: null, generation: 2 });
    expect(loaded.problems.map((p) => [p.which, p.reason])).toEqual([
      ['ledger', 'bad_checksum'],
      ['backup', 'truncated'],
    ]);
    expect(quarantined()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^permission_ledger\\.${STAMP}\\.bad_checksum\\.json$`)),
        expect.stringMatching(new RegExp(`^permission_ledger\\.bak\\.${STAMP}\\.truncated\\.json$`)),
      ]),
    );
    expect(events.map((e) => e.type)).toEqual(['ledger.corrupt', 'ledger.corrupt', 'ledger.safe_mode']);
    expect(String(events[2]?.payload.message)).toMatch(/no automatic restart/);
    await expect(store.commit(snap(3), { phase: 'PIPELINE', restart_count: 1 })).resolves.toEqual({ generation: 3 });
  });

  it.each([
    ['empty', ''],
    ['garbage', 'zzz'],
  ])('LG-3 with a bad ledger (%s) and no backup: safe mode, not fresh', (_name, content) => {
    fs.writeFileSync(path.join(stateDir, 'permission_ledger.json'), content);
    const loaded = open().load();
    expect(loaded.kind).toBe('safe_mode');
    expect(quarantined()).toHaveLength(1);
  });

  it('LG-3 with the ledger missing but a backup present: recovered from the backup, not fresh', async () => {
    const writer = await twoGenerations();
    fs.renameSync(writer.paths.ledger, path.join(stateDir, 'lost.json'));
    const store = open();
    const loaded = store.load();
    expect(loaded).toMatchObject({ kind: 'recovered', snapshot: snap(1), generation: 2 });
    expect(loaded.problems.map((p) => p.reason)).toEqual(['missing']);
    expect(events.map((e) => e.type)).toEqual(['ledger.missing', 'ledger.recovered']);
  });

  it('LG-3 never overwrites an earlier quarantined file with the same name', () => {
    const now = () => new Date('2024-05-01T10:00:00.000Z');
    for (let i = 0; i < 3; i += 1) {
      fs.writeFileSync(path.join(stateDir, 'permission_ledger.json'), `garbage ${i}`);
      open({ now }).load();
    }
    const names = quarantined();
    expect(names).toEqual([
      'permission_ledger.2024-05-01T10-00-00.000Z.not_json-2.json',
      'permission_ledger.2024-05-01T10-00-00.000Z.not_json-3.json',
      'permission_ledger.2024-05-01T10-00-00.000Z.not_json.json',
    ]);
    const contents = names.map((n) => fs.readFileSync(path.join(stateDir, 'quarantine', n), 'utf8')).sort();
    expect(contents).toEqual(['garbage 0', 'garbage 1', 'garbage 2']);
  });

  it('LG-3 keeps generations strictly increasing across a recovery from an older backup', async () => {
    const writer = await twoGenerations();
    await writer.commit(snap(3), { phase: 'PIPELINE', restart_count: 0 }); // ledger 3, backup 2
    // A torn write of generation 4: its generation is still read from the fragment.
    fs.writeFileSync(writer.paths.ledger, '{"schema":1,"generation":4,"writer_pid":1');
    const store = open();
    expect(store.load()).toMatchObject({ kind: 'recovered', snapshotGeneration: 2, generation: 4 });
    await expect(store.commit(snap(4), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 5 });
    const next = open();
    expect(next.load()).toMatchObject({ kind: 'restored', generation: 5, snapshot: snap(4) });
    await expect(next.commit(snap(5), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 6 });
  });

  it('LG-3 property: any bytes as the ledger (and backup) → load never throws, reports a clear problem, deletes nothing', () => {
    const parent = stateDir;
    const knownReasons = new Set<LedgerProblemReason>([
      'empty',
      'truncated',
      'not_json',
      'bad_envelope',
      'bad_checksum',
      'unknown_schema',
      'unknown_state',
    ]);
    const envelopeLike = fc
      .record(
        {
          schema: fc.oneof(fc.constant(1), fc.integer()),
          generation: fc.oneof(fc.integer(), fc.string()),
          writer_pid: fc.integer(),
          written_at: fc.string(),
          checksum: fc.oneof(fc.string(), fc.constant(`sha256:${'0'.repeat(64)}`)),
          summary: fc.oneof(fc.anything(), fc.record({ phase: fc.string(), restart_count: fc.nat() })),
          snapshot: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((o) => Buffer.from(JSON.stringify(o)));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '')),
      fc.string().map((s) => Buffer.from(s)),
      envelopeLike,
      envelopeLike.map((b) => b.subarray(0, Math.max(0, b.length - 3))),
    );
    let run = 0;
    fc.assert(
      fc.property(bytes, fc.option(bytes), (ledgerBytes, backupBytes) => {
        const dir = path.join(parent, `run-${run++}`);
        fs.mkdirSync(dir);
        const ledger = path.join(dir, 'permission_ledger.json');
        fs.writeFileSync(ledger, ledgerBytes);
        if (backupBytes) fs.writeFileSync(`${ledger}.bak`, backupBytes);
        const loaded = openLedgerStore({ stateDir: dir, validateSnapshot, fsync: false }).load();
        expect(['recovered', 'safe_mode']).toContain(loaded.kind);
        if (loaded.kind === 'safe_mode') expect(loaded.snapshot).toBeNull();
        expect(loaded.problems.length).toBeGreaterThanOrEqual(1);
        for (const problem of loaded.problems) {
          expect(knownReasons.has(problem.reason)).toBe(true);
          expect(problem.message).toContain(problem.file);
        }
        // The input is never deleted: its exact bytes are in quarantine/.
        expect(fs.existsSync(ledger)).toBe(false);
        const q = path.join(dir, 'quarantine');
        const kept = fs.readdirSync(q).map((n) => fs.readFileSync(path.join(q, n)));
        expect(kept.some((b) => b.equals(ledgerBytes))).toBe(true);
        if (backupBytes && loaded.kind === 'safe_mode') expect(kept.some((b) => b.equals(backupBytes))).toBe(true);
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 200 },
    );
  });
});

describe('readLedgerSummary', () => {
  it('reads phase, restart_count, generation, writer and time for `first-run status`', async () => {
    expect(readLedgerSummary(stateDir)).toEqual({ kind: 'none', problems: [] });
    const store = open({ pid: 321, now: () => new Date('2024-05-01T10:00:00.000Z') });
    store.load();
    await store.commit(snap(1), { phase: 'POST_RESTART_VERIFY', restart_count: 1 });
    expect(readLedgerSummary(stateDir)).toEqual({
      kind: 'ok',
      source: 'ledger',
      phase: 'POST_RESTART_VERIFY',
      restart_count: 1,
      generation: 1,
      writer_pid: 321,
      written_at: '2024-05-01T10:00:00.000Z',
      problems: [],
    });
  });

  it('LG-3 reports a bad ledger and falls back to the backup without quarantining or writing anything', async () => {
    const writer = await twoGenerations();
    fs.writeFileSync(writer.paths.ledger, 'garbage');
    const before = fs.readdirSync(stateDir).sort();
    const status = readLedgerSummary(stateDir, { validateSnapshot });
    expect(status).toMatchObject({ kind: 'ok', source: 'backup', generation: 1, phase: 'PRECHECK' });
    expect(status.problems.map((p) => [p.which, p.reason, p.quarantinedTo])).toEqual([['ledger', 'not_json', null]]);
    expect(fs.readdirSync(stateDir).sort()).toEqual(before);
    expect(fs.readFileSync(writer.paths.ledger, 'utf8')).toBe('garbage');
  });

  it('LG-3 reports unusable when neither file can be used', () => {
    fs.writeFileSync(path.join(stateDir, 'permission_ledger.json'), '');
    const status = readLedgerSummary(stateDir);
    expect(status.kind).toBe('unusable');
    expect(status.problems.map((p) => p.reason)).toEqual(['empty']);
  });
});

describe('resetLedger', () => {
  it('moves ledger, backup and flags into quarantine/ with the reason `reset` and journals it; nothing is deleted', async () => {
    const store = await twoGenerations();
    await store.writeFlags({ firstRunCompleted: true, restartCompleted: true });
    const ledgerBytes = fs.readFileSync(store.paths.ledger);
    events = [];
    const { moved } = resetLedger(stateDir, { journal });
    expect(moved.map((m) => path.basename(m.from))).toEqual([
      'permission_ledger.json',
      'permission_ledger.json.bak',
      'permissions_first_run_completed.flag',
      'restart_completed.flag',
    ]);
    for (const m of moved) expect(path.basename(m.to)).toMatch(new RegExp(`\\.${STAMP}\\.reset\\.(json|flag)$`));
    expect(fs.readFileSync(moved[0]!.to)).toEqual(ledgerBytes);
    expect(fs.readdirSync(stateDir)).toEqual(['quarantine']);
    expect(events).toEqual([{ type: 'ledger.reset', payload: { moved } }]);
    expect(open().load().kind).toBe('fresh');
    expect(resetLedger(stateDir).moved).toEqual([]);
  });
});
