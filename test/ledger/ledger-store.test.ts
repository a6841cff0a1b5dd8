import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerConflictError, LedgerError, LockCompromisedError } from '../../src/errors.js';
import { readJournal, openJournal } from '../../src/journal/index.js';
import {
  canonicalJson,
  openLedgerStore,
  sha256Checksum,
  type LedgerFs,
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
  const value = (snapshot as { value?: unknown }).value;
  if (value === 'GONE') throw new Error("State 'GONE' does not exist on 'firstRun'");
}

function snap(n: number, value: string = 'PIPELINE'): Record<string, unknown> {
  return { status: 'active', value, context: { n, restart_count: 0, steps: ['microphone'] }, children: {} };
}

function open(options: Partial<LedgerStoreOptions> = {}): LedgerStore {
  return openLedgerStore({ stateDir, validateSnapshot, journal, ...options });
}

function readEnvelope(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function types(): string[] {
  return events.map((e) => e.type);
}

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-test-'));
  events = [];
});
afterEach(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('LG-1 envelope', () => {
  it('LG-1 loads fresh when there is no ledger', () => {
    const store = open();
    expect(store.load()).toEqual({ kind: 'fresh', snapshot: null, generation: 0, snapshotGeneration: null, summary: null, problems: [] });
  });

  it('LG-1 writes the snapshot in a checksummed envelope', async () => {
    const store = open({ pid: 777, now: () => new Date('2024-05-01T10:00:00.000Z') });
    store.load();
    const snapshot = snap(1);
    await expect(store.commit(snapshot, { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 1 });
    const envelope = readEnvelope(store.paths.ledger);
    expect(envelope).toEqual({
      schema: 1,
      generation: 1,
      writer_pid: 777,
      written_at: '2024-05-01T10:00:00.000Z',
      checksum: sha256Checksum(canonicalJson(snapshot)),
      summary: { phase: 'PIPELINE', restart_count: 0 },
      snapshot,
    });
    expect(envelope.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('LG-1 restores what was committed, in a new store (a new process)', async () => {
    const first = open();
    first.load();
    await first.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    await first.commit(snap(2), { phase: 'DECISION', restart_count: 1 });
    const loaded = open().load();
    expect(loaded).toMatchObject({ kind: 'restored', snapshot: snap(2), generation: 2, snapshotGeneration: 2 });
    expect(loaded.summary).toEqual({ phase: 'DECISION', restart_count: 1 });
  });

  it('LG-1 keeps generations strictly increasing across restarts of the store', async () => {
    const seen: number[] = [];
    for (let launch = 0; launch < 4; launch += 1) {
      const store = open();
      store.load();
      // Two different snapshots per launch: an identical one would be skipped (ledger-durable.test.ts).
      seen.push((await store.commit(snap(2 * launch), { phase: 'PIPELINE', restart_count: 0 })).generation);
      seen.push((await store.commit(snap(2 * launch + 1), { phase: 'PIPELINE', restart_count: 0 })).generation);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('LG-1 serializes the snapshot at commit time (later mutation does not leak in)', async () => {
    const store = open();
    store.load();
    const snapshot = snap(1);
    const pending = store.commit(snapshot, { phase: 'PIPELINE', restart_count: 0 });
    (snapshot.context as { n: number }).n = 99;
    await pending;
    expect((readEnvelope(store.paths.ledger).snapshot as { context: { n: number } }).context.n).toBe(1);
  });
});

describe('LG-2 durable commits', () => {
  it('LG-2 keeps the previous generation as permission_ledger.json.bak', async () => {
    const store = open();
    store.load();
    await store.commit(snap(1), { phase: 'PRECHECK', restart_count: 0 });
    expect(fs.existsSync(store.paths.backup)).toBe(false);
    await store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 });
    await store.commit(snap(3), { phase: 'DECISION', restart_count: 0 });
    expect(readEnvelope(store.paths.backup)).toMatchObject({ generation: 2, snapshot: snap(2) });
    expect(readEnvelope(store.paths.ledger)).toMatchObject({ generation: 3, snapshot: snap(3) });
    expect(fs.readdirSync(stateDir).sort()).toEqual(['permission_ledger.json', 'permission_ledger.json.bak']);
  });

  it('LG-2 writes files 0600 in a state dir it creates 0700', async () => {
    const nested = path.join(stateDir, 'deep', 'state');
    const store = open({ stateDir: nested });
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    await store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 });
    await store.writeFlags({ firstRunCompleted: true });
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);
    expect(fs.statSync(store.paths.ledger).mode & 0o777).toBe(0o600);
    expect(fs.statSync(store.paths.backup).mode & 0o777).toBe(0o600);
    expect(fs.statSync(store.paths.firstRunCompletedFlag).mode & 0o777).toBe(0o600);
  });

  it('LG-2 runs concurrent commits strictly one after another, in call order', async () => {
    const store = open();
    store.load();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => store.commit(snap(i), { phase: `P${i}`, restart_count: 0 })),
    );
    expect(results.map((r) => r.generation)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const committed = events.filter((e) => e.type === 'ledger.committed');
    expect(committed.map((e) => e.payload.phase)).toEqual(Array.from({ length: 60 }, (_, i) => `P${i}`));
    expect(readEnvelope(store.paths.ledger)).toMatchObject({ generation: 60, snapshot: snap(59) });
    expect(readEnvelope(store.paths.backup)).toMatchObject({ generation: 59, snapshot: snap(58) });
  });

  it('LG-2 flush resolves only when the queue is empty', async () => {
    const store = open();
    store.load();
    let done = 0;
    for (let i = 0; i < 10; i += 1) void store.commit(snap(i), { phase: 'PIPELINE', restart_count: 0 }).then(() => (done += 1));
    await store.flush();
    expect(done).toBe(10);
    expect(store.generation).toBe(10);
  });

  it('LG-2 journals ledger.committed {generation, phase, restart_count} per write', async () => {
    const real = openJournal({ stateDir });
    const store = open({ journal: real });
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    await store.commit(snap(2), { phase: 'RESTART_REQUESTED', restart_count: 1 });
    real.close();
    const committed = readJournal(real.path).events.filter((e) => e.type === 'ledger.committed');
    expect(committed.map(({ generation, phase, restart_count }) => ({ generation, phase, restart_count }))).toEqual([
      { generation: 1, phase: 'PIPELINE', restart_count: 0 },
      { generation: 2, phase: 'RESTART_REQUESTED', restart_count: 1 },
    ]);
  });

  it('LG-2 calls assertWriter before every write and writes nothing when it throws', async () => {
    let held = true;
    let calls = 0;
    const store = open({
      assertWriter: () => {
        calls += 1;
        if (!held) throw new LockCompromisedError(path.join(stateDir, 'lock'), 'lock lost');
      },
    });
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    held = false;
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toBeInstanceOf(LockCompromisedError);
    await expect(store.writeFlags({ restartCompleted: true })).rejects.toBeInstanceOf(LockCompromisedError);
    expect(calls).toBe(3);
    expect(readEnvelope(store.paths.ledger)).toMatchObject({ generation: 1 });
    expect(fs.existsSync(store.paths.restartCompletedFlag)).toBe(false);
    expect(events.find((e) => e.type === 'ledger.write_failed')?.payload).toMatchObject({ code: 'ERR_LOCK_COMPROMISED', generation: 2 });
  });

  it('LG-2 a failed write rejects only its own commit and does not poison later ones', async () => {
    let calls = 0;
    const store = open({
      assertWriter: () => {
        calls += 1;
        if (calls === 2) throw new Error('injected');
      },
    });
    store.load();
    const a = store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    const c = store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 });
    const d = store.commit(snap(3), { phase: 'PIPELINE', restart_count: 0 });
    await expect(a).resolves.toEqual({ generation: 1 });
    await expect(c).rejects.toThrow('injected');
    await expect(d).resolves.toEqual({ generation: 2 });
    expect(types().filter((t) => t.startsWith('ledger.'))).toEqual(['ledger.committed', 'ledger.write_failed', 'ledger.committed']);
  });

  it('LG-2 a failed directory fsync rejects that commit; the next commit still goes through (no false conflict)', async () => {
    let failDirFsync = false;
    const faults: Partial<LedgerFs> = {
      fsyncSync: (fd) => {
        if (failDirFsync && fs.fstatSync(fd).isDirectory()) {
          failDirFsync = false;
          throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        }
        fs.fsyncSync(fd);
      },
    };
    const store = open({ fs: faults });
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    failDirFsync = true;
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/could not fsync/);
    await expect(store.commit(snap(3), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 3 });
    expect(readEnvelope(store.paths.ledger)).toMatchObject({ generation: 3 });
  });

  it('LG-2 rejects a commit that is not plain JSON or has a bad summary, naming the key', async () => {
    const store = open();
    store.load();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(store.commit(cyclic, { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/not plain JSON/);
    await expect(store.commit({ big: 1n }, { phase: 'PIPELINE', restart_count: 0 })).rejects.toBeInstanceOf(LedgerError);
    await expect(store.commit(snap(1), { phase: 'PIPELINE', restart_count: -1 })).rejects.toThrow(
      /`summary.restart_count` to be an integer from 0 and up, got `-1` \(number\)/,
    );
    await expect(store.commit(null, { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/`snapshot`/);
    expect(fs.existsSync(store.paths.ledger)).toBe(false);
    await expect(store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 1 });
  });

  it('LG-2 rejects a commit before load()', async () => {
    const store = open();
    await expect(store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/load\(\) first/);
  });

  it('LG-2 rejects commits after close()', async () => {
    const store = open();
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    await store.close();
    await store.close();
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/closed/);
  });

  it('LG-2 refuses invalid options with the option, the expectation and the value', () => {
    expect(() => openLedgerStore({ stateDir: '' })).toThrow('Expected `stateDir` to be a non-empty path string, got `""` (string)');
    expect(() => openLedgerStore({ stateDir, validateSnapshot: 3 as never })).toThrow(/`validateSnapshot` to be a function/);
  });
});

describe('LG-2 compare-and-set', () => {
  it('LG-2 throws LedgerConflictError and never overwrites a newer generation written by another store', async () => {
    const mine = open();
    mine.load();
    await mine.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    const other = open();
    expect(other.load().generation).toBe(1);
    await other.commit(snap(100), { phase: 'DECISION', restart_count: 1 });
    await expect(mine.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(mine.commit(snap(3), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/expected generation 1 .* holds generation 2/);
    expect(readEnvelope(mine.paths.ledger)).toMatchObject({ generation: 2, snapshot: snap(100) });
    expect(events.filter((e) => e.type === 'ledger.conflict')[0]?.payload).toMatchObject({ expected_generation: 1, found_generation: 2 });
  });

  it('LG-2 conflicts when another store created the ledger after a fresh load', async () => {
    const mine = open();
    mine.load();
    const other = open();
    other.load();
    await other.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    await expect(mine.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toBeInstanceOf(LedgerConflictError);
  });

  it('LG-2 conflicts when the ledger disappeared under the store', async () => {
    const store = open();
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    fs.renameSync(store.paths.ledger, path.join(stateDir, 'elsewhere.json'));
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/disappeared/);
  });

  it('LG-2 accepts a file that was only touched (same generation on disk)', async () => {
    const store = open();
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    fs.utimesSync(store.paths.ledger, new Date(2000, 0, 1), new Date(2000, 0, 1));
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).resolves.toEqual({ generation: 2 });
  });

  it('LG-2 never writes through a symlink put at the ledger path', async () => {
    const store = open();
    store.load();
    await store.commit(snap(1), { phase: 'PIPELINE', restart_count: 0 });
    const target = path.join(stateDir, 'target.json');
    fs.writeFileSync(target, 'precious');
    fs.rmSync(store.paths.ledger);
    fs.symlinkSync(target, store.paths.ledger);
    await expect(store.commit(snap(2), { phase: 'PIPELINE', restart_count: 0 })).rejects.toThrow(/symbolic link/);
    expect(fs.readFileSync(target, 'utf8')).toBe('precious');
  });
});

describe('LG-5 flags', () => {
  it('LG-5 writes the flags after the ledger commits queued before them, and removes them on false', async () => {
    const store = open();
    store.load();
    const commit = store.commit(snap(1), { phase: 'COMPLETED', restart_count: 1 });
    const flags = store.writeFlags({ firstRunCompleted: true, restartCompleted: true });
    await Promise.all([commit, flags]);
    expect(types()).toEqual(['ledger.committed', 'ledger.flags_written']);
    expect(JSON.parse(fs.readFileSync(store.paths.firstRunCompletedFlag, 'utf8'))).toMatchObject({ generation: 1 });
    expect(fs.existsSync(store.paths.restartCompletedFlag)).toBe(true);
    await store.writeFlags({ restartCompleted: false });
    expect(fs.existsSync(store.paths.restartCompletedFlag)).toBe(false);
    expect(fs.existsSync(store.paths.firstRunCompletedFlag)).toBe(true);
  });

  it('LG-5 never reads the flags to decide anything: a flag without a ledger still loads fresh', () => {
    fs.writeFileSync(path.join(stateDir, 'permissions_first_run_completed.flag'), '');
    fs.writeFileSync(path.join(stateDir, 'restart_completed.flag'), '');
    expect(open().load().kind).toBe('fresh');
  });
});

describe('LG-3 quarantine failure', () => {
  it('LG-3 never overwrites a bad ledger it could not move to quarantine/', async () => {
    fs.writeFileSync(path.join(stateDir, 'permission_ledger.json'), 'garbage');
    const store = open({
      fs: {
        renameSync: () => {
          throw Object.assign(new Error('EACCES: permission denied, rename'), { code: 'EACCES' });
        },
      },
    });
    const loaded = store.load();
    expect(loaded.kind).toBe('safe_mode');
    expect(loaded.problems[0]).toMatchObject({ reason: 'not_json', quarantinedTo: null });
    expect(loaded.problems[0]?.message).toMatch(/left in place/);
    await expect(store.commit(snap(1), { phase: 'PIPELINE', restart_count: 1 })).rejects.toThrow(/Refusing to overwrite/);
    expect(fs.readFileSync(path.join(stateDir, 'permission_ledger.json'), 'utf8')).toBe('garbage');
  });
});
