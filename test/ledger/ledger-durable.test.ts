/**
 * Durable only when it matters (issue 14): a commit that would not change what a later launch reads is
 * skipped — no write, no fsync — and the atomic write itself, by hand, against hostile temp files.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerConflictError } from '../../src/errors.js';
import { openLedgerStore, type LedgerFs, type LedgerStoreOptions } from '../../src/ledger/index.js';

let stateDir: string;
let fsyncs: { file: number; dir: number };
let journal: { type: string; payload: Record<string, unknown> }[];

/** The store's own fs calls, counting fsyncs of files and of directories. */
const counting: Partial<LedgerFs> = {
  fsyncSync: (fd) => {
    if (fs.fstatSync(fd).isDirectory()) fsyncs.dir += 1;
    else fsyncs.file += 1;
    fs.fsyncSync(fd);
  },
};

function open(options: Partial<LedgerStoreOptions> = {}) {
  return openLedgerStore({ stateDir, fs: counting, journal: { append: (type, payload = {}) => journal.push({ type, payload }) }, ...options });
}

/** A snapshot shaped like the orchestrator's: per-process boot id and counter, and durable state. */
function snapshot(bootId: string, boots: number, phase = 'COMPLETED', restartCount = 0): Record<string, unknown> {
  return {
    status: 'active',
    value: phase,
    context: { bootId, boots, results: { microphone: 'granted' } },
    children: { relaunchGate: { snapshot: { context: { bootId, restartCount } } } },
  };
}

/** Drop the per-process fields (what the runtime's projection does for the real machines). */
function withoutBoot(value: unknown): unknown {
  const s = structuredClone(value) as { context: Record<string, unknown>; children: { relaunchGate: { snapshot: { context: Record<string, unknown> } } } };
  delete s.context.bootId;
  delete s.context.boots;
  delete s.children.relaunchGate.snapshot.context.bootId;
  return s;
}

const committed = () => journal.filter((e) => e.type === 'ledger.committed').length;

beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-durable-'));
  fsyncs = { file: 0, dir: 0 };
  journal = [];
});
afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

describe('skipping commits that change nothing durable', () => {
  it('LG-2 a commit of the same snapshot and summary writes nothing and fsyncs nothing', async () => {
    const store = open();
    store.load();
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 1 });
    const bytes = fs.readFileSync(store.paths.ledger, 'utf8');
    const before = { ...fsyncs };
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 1, skipped: true });
    expect(fsyncs).toEqual(before);
    expect(fs.readFileSync(store.paths.ledger, 'utf8')).toBe(bytes);
    expect(committed()).toBe(1);
  });

  it('LG-2/LG-3 a ledger written once gets a backup copy (not a link, not fsynced) at its first skipped commit, and recovers from it', async () => {
    const store = open();
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 1 });
    expect(fs.existsSync(store.paths.backup)).toBe(false); // nothing before generation 1
    fsyncs = { file: 0, dir: 0 };
    const warm = open();
    warm.load();
    await expect(warm.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 1 })).resolves.toMatchObject({ skipped: true });
    expect(fsyncs).toEqual({ file: 0, dir: 0 });
    expect(fs.readFileSync(store.paths.backup, 'utf8')).toBe(fs.readFileSync(store.paths.ledger, 'utf8'));
    expect(fs.statSync(store.paths.backup).ino).not.toBe(fs.statSync(store.paths.ledger).ino);
    expect(fs.statSync(store.paths.backup).mode & 0o777).toBe(0o600);
    fs.writeFileSync(store.paths.ledger, '{"truncated'); // corrupted in place
    const next = open();
    expect(next.load()).toMatchObject({ kind: 'recovered', snapshot: snapshot('a', 1), summary: { restart_count: 1 } });
  });

  it('LG-2 a new store (a new process) skips a commit of the snapshot it restored', async () => {
    const first = open();
    first.load();
    await first.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 1 });
    fsyncs = { file: 0, dir: 0 };
    const second = open();
    expect(second.load().kind).toBe('restored');
    await expect(second.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 1 })).resolves.toEqual({ generation: 1, skipped: true });
    expect(fsyncs).toEqual({ file: 0, dir: 0 });
  });

  it('LG-2 with a durable projection, a warm launch that only changes its boot id and boot counter writes nothing', async () => {
    const first = open({ durableProjection: withoutBoot });
    first.load();
    await first.commit(snapshot('boot-1', 1), { phase: 'COMPLETED', restart_count: 1 });
    fsyncs = { file: 0, dir: 0 };
    for (let boot = 2; boot <= 4; boot += 1) {
      const store = open({ durableProjection: withoutBoot });
      store.load();
      await expect(store.commit(snapshot(`boot-${boot}`, boot), { phase: 'COMPLETED', restart_count: 1 })).resolves.toMatchObject({ skipped: true });
    }
    expect(fsyncs).toEqual({ file: 0, dir: 0 });
    // What is on disk is the last snapshot that was written in full — what a crash right after it would leave.
    const onDisk = JSON.parse(fs.readFileSync(path.join(stateDir, 'permission_ledger.json'), 'utf8')) as { generation: number; snapshot: unknown };
    expect(onDisk).toMatchObject({ generation: 1, snapshot: snapshot('boot-1', 1) });
  });

  it('RS-3 restart_count 0 → 1 is always committed and fsynced, even when the projection would hide it', async () => {
    const blind = () => ({}); // a projection that (wrongly) keeps nothing
    const store = open({ durableProjection: blind });
    store.load();
    await store.commit(snapshot('a', 1, 'RESTART_REQUESTED', 0), { phase: 'RESTART_REQUESTED', restart_count: 0 });
    fsyncs = { file: 0, dir: 0 };
    await expect(store.commit(snapshot('a', 1, 'RESTART_REQUESTED', 1), { phase: 'RESTART_REQUESTED', restart_count: 1 })).resolves.toEqual({ generation: 2 });
    expect(fsyncs).toEqual({ file: 1, dir: 1 });
    expect(JSON.parse(fs.readFileSync(store.paths.ledger, 'utf8'))).toMatchObject({ summary: { restart_count: 1 } });
  });

  it('LG-2 "nothing new" (a projection of undefined) is skipped after a fresh or restored load, written when nothing durable is known', async () => {
    const nothingNew = () => undefined;
    const fresh = open({ durableProjection: nothingNew });
    expect(fresh.load().kind).toBe('fresh');
    await expect(fresh.commit(snapshot('a', 1, 'PRECHECK'), { phase: 'PRECHECK', restart_count: 0 })).resolves.toEqual({ generation: 0, skipped: true });
    expect(fs.existsSync(fresh.paths.ledger)).toBe(false);
    // Safe mode (neither ledger nor backup usable): the budget-spent snapshot must be written.
    fs.writeFileSync(fresh.paths.ledger, 'garbage');
    const safe = open({ durableProjection: nothingNew });
    expect(safe.load().kind).toBe('safe_mode');
    await expect(safe.commit(snapshot('b', 1, 'PRECHECK', 1), { phase: 'PRECHECK', restart_count: 1 })).resolves.toEqual({ generation: 1 });
    // Restored: nothing new with the same count is skipped; with another count it is written.
    const restored = open({ durableProjection: nothingNew });
    expect(restored.load().kind).toBe('restored');
    await expect(restored.commit(snapshot('c', 1, 'PRECHECK', 1), { phase: 'PRECHECK', restart_count: 1 })).resolves.toMatchObject({ skipped: true });
    const recount = open({ durableProjection: nothingNew });
    recount.load();
    await expect(recount.commit(snapshot('c', 1, 'PRECHECK', 0), { phase: 'PRECHECK', restart_count: 0 })).resolves.toEqual({ generation: 2 });
  });

  it('LG-2 a change inside the projection is written', async () => {
    const store = open({ durableProjection: withoutBoot });
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 });
    const changed = snapshot('a', 1);
    (changed.context as Record<string, unknown>).results = { microphone: 'denied' };
    await expect(store.commit(changed, { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 2 });
  });

  it('LG-2 a projection that throws never causes a skip', async () => {
    const store = open({
      durableProjection: () => {
        throw new Error('unexpected shape');
      },
    });
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 });
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 2 });
  });

  it('LG-2 after a failed directory fsync the same snapshot is written again, not skipped', async () => {
    let failDir = false;
    const store = open({
      fs: {
        fsyncSync: (fd) => {
          if (failDir && fs.fstatSync(fd).isDirectory()) {
            failDir = false;
            throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
          }
          fs.fsyncSync(fd);
        },
      },
    });
    store.load();
    failDir = true;
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).rejects.toThrow(/could not fsync/);
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 2 });
  });

  it('LG-2 a skipped commit still checks the writer and the generation on disk', async () => {
    let allowed = true;
    const store = open({
      assertWriter: () => {
        if (!allowed) throw new Error('not the lock holder');
      },
    });
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 });
    allowed = false;
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).rejects.toThrow('not the lock holder');
    allowed = true;
    const other = openLedgerStore({ stateDir });
    other.load();
    await other.commit(snapshot('b', 2), { phase: 'COMPLETED', restart_count: 1 });
    await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).rejects.toBeInstanceOf(LedgerConflictError);
  });
});

describe('the atomic write, by hand', () => {
  it('LG-2 a crash leftover that is a hard link to the live ledger is never written through (the backup is a copy)', async () => {
    const first = open({ durableProjection: withoutBoot });
    first.load();
    await first.commit(snapshot('boot-1', 1), { phase: 'COMPLETED', restart_count: 1 });
    const ledger = path.join(stateDir, 'permission_ledger.json');
    const before = fs.readFileSync(ledger, 'utf8');
    // What a crash between linking the ledger to the backup's temp name and the rename leaves behind.
    fs.linkSync(ledger, path.join(stateDir, 'permission_ledger.json.bak.tmp'));
    const second = open({ durableProjection: withoutBoot });
    second.load();
    await expect(second.commit(snapshot('boot-2', 2), { phase: 'COMPLETED', restart_count: 1 })).resolves.toMatchObject({ skipped: true });
    expect(fs.readFileSync(ledger, 'utf8')).toBe(before);
    expect(fs.statSync(ledger).nlink).toBe(1);
    expect(fs.statSync(path.join(stateDir, 'permission_ledger.json.bak')).ino).not.toBe(fs.statSync(ledger).ino);
  });

  it('LG-2 one commit is one file fsync and one directory fsync; the temp file does not outlive it', async () => {
    const store = open();
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 });
    await store.commit(snapshot('b', 2), { phase: 'COMPLETED', restart_count: 0 });
    expect(fsyncs).toEqual({ file: 2, dir: 2 });
    expect(fs.readdirSync(stateDir).sort()).toEqual(['permission_ledger.json', 'permission_ledger.json.bak']);
  });

  it('LG-2 a temp file left by a crash is replaced, mode 0600', async () => {
    fs.writeFileSync(path.join(stateDir, 'permission_ledger.json.tmp'), 'half a ledger from a crash', { mode: 0o644 });
    const store = open();
    store.load();
    await store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 });
    expect(fs.readdirSync(stateDir)).toEqual(['permission_ledger.json']);
    expect(fs.statSync(store.paths.ledger).mode & 0o777).toBe(0o600);
    expect(open().load().kind).toBe('restored');
  });

  it('LG-2 a symbolic link planted at the temp path is never written through: it is removed and the commit goes on', async () => {
    const victim = path.join(stateDir, '..', `${path.basename(stateDir)}-victim`);
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(stateDir, 'permission_ledger.json.tmp'));
    try {
      const store = open();
      store.load();
      await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 1 });
      expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
      expect(fs.readdirSync(stateDir)).toEqual(['permission_ledger.json']);
    } finally {
      fs.rmSync(victim, { force: true });
    }
  });

  it('LG-2 a FIFO at the temp path neither blocks the commit nor is written to: it is removed and the commit goes on', async () => {
    const fifo = path.join(stateDir, 'permission_ledger.json.tmp');
    execFileSync('mkfifo', [fifo]);
    // A reader of our own: should the write ever open the FIFO, it would not block this test's thread
    // for good — and what it wrote would show here.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const store = open();
      store.load();
      await expect(store.commit(snapshot('a', 1), { phase: 'COMPLETED', restart_count: 0 })).resolves.toEqual({ generation: 1 });
      expect(fs.readdirSync(stateDir)).toEqual(['permission_ledger.json']);
      expect(open().load().kind).toBe('restored');
      let written = 0;
      try {
        written = fs.readSync(reader, Buffer.alloc(64));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('EAGAIN');
      }
      expect(written).toBe(0);
    } finally {
      fs.closeSync(reader);
    }
  });
});
