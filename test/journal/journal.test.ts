import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournalError } from '../../src/errors.js';
import { formatEvent, openJournal, parseJournal, readJournal } from '../../src/journal/index.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const builtJournal = path.resolve(here, '../../dist/src/journal/index.js');

let stateDir: string;
beforeEach(() => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-test-'));
});
afterEach(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('openJournal', () => {
  it('EV-3 appends one JSON line per event: {ts, pid, type, ...payload}', () => {
    const journal = openJournal({ stateDir, pid: 4242, now: () => new Date('2024-05-01T10:00:00.000Z') });
    journal.append('ledger.committed', { generation: 3, phase: 'PIPELINE', restart_count: 0 });
    journal.append('tray.status_updated');
    journal.close();
    const lines = fs.readFileSync(path.join(stateDir, 'events.ndjson'), 'utf8').split('\n');
    expect(lines).toEqual([
      '{"ts":"2024-05-01T10:00:00.000Z","pid":4242,"type":"ledger.committed","generation":3,"phase":"PIPELINE","restart_count":0}',
      '{"ts":"2024-05-01T10:00:00.000Z","pid":4242,"type":"tray.status_updated"}',
      '',
    ]);
  });

  it('EV-3 creates the journal 0600 in a 0700 state dir', () => {
    const nested = path.join(stateDir, 'a', 'b');
    const journal = openJournal({ stateDir: nested });
    journal.append('x.y');
    journal.close();
    expect(fs.statSync(journal.path).mode & 0o777).toBe(0o600);
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);
  });

  it('EV-3 appends to an existing journal without truncating it', () => {
    const first = openJournal({ stateDir });
    first.append('a.one');
    first.close();
    const second = openJournal({ stateDir });
    second.append('a.two');
    second.close();
    expect(readJournal(second.path).events.map((e) => e.type)).toEqual(['a.one', 'a.two']);
  });

  it('EV-3 never lets payload keys overwrite ts, pid or type: they become payload_<key>', () => {
    const line = formatEvent('2024-01-01T00:00:00.000Z', 7, 'real.type', { type: 'fake', ts: 'bad', pid: -1, ok: true });
    expect(JSON.parse(line)).toEqual({
      ts: '2024-01-01T00:00:00.000Z',
      pid: 7,
      type: 'real.type',
      payload_type: 'fake',
      payload_ts: 'bad',
      payload_pid: -1,
      ok: true,
    });
  });

  it('EV-3 writes payloads JSON cannot hold (bigint, Error, cycles) without throwing', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const error = Object.assign(new Error('boom'), { code: 'EIO' });
    const event = JSON.parse(formatEvent('t', 1, 'x.y', { big: 10n, error, cyclic, shared: [cyclic, cyclic] }));
    expect(event.big).toBe('10');
    expect(event.error).toEqual({ name: 'Error', message: 'boom', code: 'EIO' });
    expect(event.cyclic).toEqual({ name: 'loop', self: '[Circular]' });
    expect(event.shared).toEqual([
      { name: 'loop', self: '[Circular]' },
      { name: 'loop', self: '[Circular]' },
    ]);
  });

  it('EV-3 throws JournalError on append after close, and close is idempotent', () => {
    const journal = openJournal({ stateDir });
    journal.close();
    journal.close();
    expect(() => journal.append('x.y')).toThrow(JournalError);
  });

  it('EV-3 throws JournalError naming the file when the journal cannot be opened', () => {
    const file = path.join(stateDir, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => openJournal({ stateDir: file })).toThrow(/Cannot open the event journal .*a-file\/events\.ndjson/);
  });

  it.each([
    ['a directory', (file: string) => fs.mkdirSync(file)],
    ['a symlink', (file: string) => fs.symlinkSync('/dev/null', file)],
  ])('EV-3 moves %s at the journal path into quarantine and starts a fresh journal (never blocks, never writes through it)', (_what, make) => {
    const file = path.join(stateDir, 'events.ndjson');
    make(file);
    const journal = openJournal({ stateDir });
    journal.append('test.line', {});
    journal.close();
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readdirSync(path.join(stateDir, 'quarantine')).some((name) => name.startsWith('events.ndjson.'))).toBe(true);
  });

  it('EV-3 keeps every line whole with 8 processes appending 500 lines each at once', async () => {
    expect(fs.existsSync(builtJournal), `${builtJournal} is missing: run \`npx tsc -p tsconfig.build.json\` first`).toBe(true);
    const fixture = path.join(here, 'fixtures', 'append-many.mjs');
    const writers = 8;
    const perWriter = 500;
    await Promise.all(
      Array.from({ length: writers }, (_, writer) => run(process.execPath, [fixture, stateDir, String(perWriter), String(writer)])),
    );
    const file = path.join(stateDir, 'events.ndjson');
    const text = fs.readFileSync(file, 'utf8');
    const { events, problems } = readJournal(file);
    expect(problems).toEqual([]);
    expect(text.split('\n').length - 1).toBe(writers * perWriter);
    expect(events).toHaveLength(writers * perWriter);
    for (let writer = 0; writer < writers; writer += 1) {
      const mine = events.filter((e) => e.writer === writer);
      // Each process's lines appear complete and in its own order.
      expect(mine.map((e) => e.seq)).toEqual(Array.from({ length: perWriter }, (_, i) => i));
      expect(new Set(mine.map((e) => e.pid)).size).toBe(1);
      expect(mine.every((e) => (e.filler as string).length === 200 + writer * 37)).toBe(true);
    }
  });
});

describe('readJournal', () => {
  it('EV-3 skips and reports torn and garbage lines with their line numbers, never throwing', () => {
    const file = path.join(stateDir, 'events.ndjson');
    fs.writeFileSync(
      file,
      [
        '{"ts":"t1","pid":1,"type":"a.one"}',
        'garbage here',
        '',
        '[1,2]',
        '{"ts":"t2","pid":1}',
        '{"ts":"t3","pid":2,"type":"a.two","k":1}',
        '{"ts":"t4","pid":2,"ty',
      ].join('\n'),
    );
    const { events, problems } = readJournal(file);
    expect(events.map((e) => e.type)).toEqual(['a.one', 'a.two']);
    expect(problems.map((p) => p.line)).toEqual([2, 4, 5, 7]);
    expect(problems[0]?.message).toMatch(/not JSON/);
    expect(problems[1]?.message).toMatch(/not a JSON object/);
    expect(problems[2]?.message).toMatch(/missing `ts`/);
    expect(problems[3]?.message).toMatch(/torn last line/);
  });

  it('EV-3 reads a missing journal as no events', () => {
    expect(readJournal(path.join(stateDir, 'nope.ndjson'))).toEqual({ events: [], problems: [] });
  });

  it('EV-3 throws JournalError when the journal path cannot be read', () => {
    expect(() => readJournal(stateDir)).toThrow(JournalError);
  });

  it('EV-3 parses invalid UTF-8 and NUL bytes as problems, not exceptions', () => {
    const result = parseJournal('\u0000\u0000\n{"ts":"t","pid":1,"type":"ok.x"}\n\uFFFD{\n');
    expect(result.events).toHaveLength(1);
    expect(result.problems.map((p) => p.line)).toEqual([1, 3]);
  });
});
