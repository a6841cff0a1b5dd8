import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackendError, ScenarioError } from '../../src/errors.js';
import {
  DEMO_SCENARIO,
  createSimBackend,
  readSimState,
  writeScenario,
  type ScenarioJson,
  type SimBackend,
  type SimBackendOptions,
  type SimNativeCallEvent,
} from '../../src/backend/sim-backend.js';
import type { PermissionName, PermissionStatus } from '../../machines/types.js';

const run = promisify(execFile);
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sim-process.mjs');
const T0 = 1_700_000_000_000;

let dir: string;
let file: string;
let clock: number;
const backends: SimBackend[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frc-sim-'));
  file = join(dir, 'tcc.json');
  clock = T0;
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

/** A backend on the simulated clock, in a process that started one second before T0. */
async function open(scenario: ScenarioJson, options: Partial<SimBackendOptions> = {}): Promise<SimBackend> {
  await writeScenario(file, scenario);
  return attach(options);
}
function attach(options: Partial<SimBackendOptions> = {}): SimBackend {
  const backend = createSimBackend({ file, now: () => clock, processStartedAt: T0 - 1000, ...options });
  backends.push(backend);
  return backend;
}

describe('FR-4 step behaviour per status', () => {
  it.each<[string, ScenarioJson['permissions'], PermissionName, 'activate' | 'openSettings', number, PermissionStatus[]]>([
    // label, scenario, permission, call, after ms, [status before call, just before the answer, at the answer]
    ['granted stays granted, no prompt', { microphone: { status: 'granted' } }, 'microphone', 'activate', 0, ['granted', 'granted', 'granted']],
    ['not_determined + prompt granted', { microphone: { on_request: { result: 'granted', after_ms: 200 } } }, 'microphone', 'activate', 200, ['not_determined', 'not_determined', 'granted']],
    ['not_determined + prompt denied', { input_monitoring: { on_request: { result: 'denied', after_ms: 50 } } }, 'input_monitoring', 'activate', 50, ['not_determined', 'not_determined', 'denied']],
    ['not_determined + never answered', { microphone: { on_request: { result: 'none' } } }, 'microphone', 'activate', 600_000, ['not_determined', 'not_determined', 'not_determined']],
    ['denied + Settings granted', { accessibility: { status: 'denied', on_settings: { result: 'granted', after_ms: 500 } } }, 'accessibility', 'openSettings', 500, ['denied', 'denied', 'granted']],
    ['denied + prompt does nothing', { microphone: { status: 'denied', on_request: { result: 'granted' } } }, 'microphone', 'activate', 0, ['denied', 'denied', 'denied']],
    ['denied + Settings never answered', { microphone: { status: 'denied' } }, 'microphone', 'openSettings', 600_000, ['denied', 'denied', 'denied']],
    ['restricted + prompt', { microphone: { status: 'restricted', on_request: { result: 'granted' } } }, 'microphone', 'activate', 0, ['restricted', 'restricted', 'restricted']],
    ['restricted + Settings', { screen_capture: { status: 'restricted', on_settings: { result: 'granted' } } }, 'screen_capture', 'openSettings', 0, ['restricted', 'restricted', 'restricted']],
  ])('%s', async (_label, permissions, name, call, afterMs, [before, pending, answered]) => {
    const backend = await open({ permissions });
    expect(await backend.getStatus(name)).toBe(before);
    await backend[call](name);
    if (afterMs > 0) {
      clock = T0 + afterMs - 1;
      expect(await backend.getStatus(name)).toBe(pending);
    }
    clock = T0 + afterMs;
    expect(await backend.getStatus(name)).toBe(answered);
  });

  it('should show a prompt only from not_determined, once ever, across backends', async () => {
    const events: SimNativeCallEvent[] = [];
    const a = await open({ permissions: { microphone: { on_request: { result: 'denied', after_ms: 10 } } } }, { onNativeCall: (e) => events.push(e) });
    const b = attach({ onNativeCall: (e) => events.push(e) });
    await a.activate('microphone');
    await b.activate('microphone');
    clock += 100;
    await a.activate('microphone');
    expect(events).toEqual([{ permission: 'microphone', phase: 'prompted' }]);
    const { permissions } = await readSimState(file, { now: clock, processStartedAt: T0 - 1000 });
    expect(permissions.microphone).toMatchObject({ requestedAt: T0, requestCount: 3, prompted: true, reported: 'denied', pendingAnswer: null });
  });

  it('should record the request, the pending answer and the grant in the shared file', async () => {
    const backend = await open(DEMO_SCENARIO);
    await backend.activate('microphone');
    let state = await readSimState(file, { now: T0 + 100, processStartedAt: T0 - 1000 });
    expect(state.permissions.microphone).toMatchObject({
      requestedAt: T0,
      prompted: true,
      pendingAnswer: { source: 'request', answerAt: T0 + 200, result: 'granted', effective: 'immediate' },
      grantedAt: null,
    });
    state = await readSimState(file, { now: T0 + 200, processStartedAt: T0 - 1000 });
    expect(state.permissions.microphone).toMatchObject({ pendingAnswer: null, grantedAt: T0 + 200, reported: 'granted' });
    const onDisk = JSON.parse(await readFile(file, 'utf8')) as { permissions: unknown; state: Record<string, unknown> };
    expect(onDisk.permissions).toEqual(DEMO_SCENARIO.permissions);
    expect(onDisk.state.microphone).toEqual({
      requested_at: T0,
      request_count: 1,
      prompted: true,
      settings_opened_at: null,
      answers: [{ source: 'request', answer_at: T0 + 200, result: 'granted', effective: 'immediate', quit_and_reopen: false }],
      reopen_claimed_at: null,
    });
  });

  it('should treat a permission absent from the file as never asked, with a user who never answers', async () => {
    const backend = await open({ permissions: { microphone: { status: 'granted' } } });
    expect(await backend.getStatus('input_monitoring')).toBe('not_determined');
    await backend.activate('input_monitoring');
    clock += 600_000;
    expect(await backend.getStatus('input_monitoring')).toBe('not_determined');
    expect((await readSimState(file)).permissions.input_monitoring.prompted).toBe(true);
  });
});

describe('FR-6 real TCC quirks', () => {
  it('should read a never-asked accessibility as denied; its request shows no prompt and opens System Settings', async () => {
    const events: SimNativeCallEvent[] = [];
    const backend = await open(
      { permissions: { accessibility: { on_request: { result: 'granted', after_ms: 10 }, on_settings: { result: 'granted', after_ms: 20 } } } },
      { onNativeCall: (e) => events.push(e) },
    );
    expect(await backend.getStatus('accessibility')).toBe('denied');
    await backend.activate('accessibility');
    expect(events).toEqual([]);
    clock += 10;
    expect(await backend.getStatus('accessibility')).toBe('denied');
    clock += 10;
    expect(await backend.getStatus('accessibility')).toBe('granted');
  });

  it.each(['screen_capture'] as const)('should read a never-asked %s as denied, yet still prompt once', async (name) => {
    const events: SimNativeCallEvent[] = [];
    const backend = await open({ permissions: { [name]: { on_request: { result: 'granted', after_ms: 10 } } } }, { onNativeCall: (e) => events.push(e) });
    expect(await backend.getStatus(name)).toBe('denied');
    await backend.activate(name);
    expect(events).toEqual([{ permission: name, phase: 'prompted' }]);
    clock += 10;
    expect(await backend.getStatus(name)).toBe('granted');
  });

  it('should report not_determined when report_not_determined is set', async () => {
    const backend = await open({ permissions: { screen_capture: { report_not_determined: true } } });
    expect(await backend.getStatus('screen_capture')).toBe('not_determined');
  });

  it('should let a pre-seeded state reproduce "already asked" (no second prompt)', async () => {
    const backend = await open({
      permissions: { screen_capture: { on_request: { result: 'granted' } } },
      state: { screen_capture: { prompted: true, requested_at: T0 - 86_400_000 } },
    });
    await backend.activate('screen_capture');
    clock += 1000;
    expect(await backend.getStatus('screen_capture')).toBe('denied');
  });

  it('effective after_restart: the grant is recorded at once but shows only in a later process', async () => {
    const old = await open(DEMO_SCENARIO);
    await old.activate('screen_capture');
    clock = T0 + 300;
    expect(await old.getStatus('screen_capture')).toBe('denied');
    expect((await readSimState(file, { now: clock })).permissions.screen_capture).toMatchObject({ truth: 'granted', grantedAt: T0 + 300 });
    const successor = attach({ processStartedAt: T0 + 301 });
    expect(await successor.getStatus('screen_capture')).toBe('granted');
    // Opening Settings in the old process changes nothing: TCC already says granted.
    await old.openSettings('screen_capture');
    expect(await old.getStatus('screen_capture')).toBe('denied');
  });

  it('activation "hang": the call returns at once, the prompt shows, the answer never comes', async () => {
    const events: SimNativeCallEvent[] = [];
    const backend = await open(
      { permissions: { microphone: { activation: 'hang', on_request: { result: 'granted', after_ms: 0 } } } },
      { onNativeCall: (e) => events.push(e) },
    );
    await backend.activate('microphone');
    expect(events.map((e) => e.phase)).toEqual(['prompted', 'hung']);
    clock += 600_000;
    expect(await backend.getStatus('microphone')).toBe('not_determined');
    expect(backend.inFlight()).toBe(0);
  });

  it('activation block_ms: the native call blocks a worker thread while the caller\'s timers keep firing', async () => {
    const order: string[] = [];
    let blocking!: () => void;
    const isBlocking = new Promise<void>((r) => (blocking = r));
    const backend = await open(
      { permissions: { input_monitoring: { activation: { block_ms: 1500 }, on_request: { result: 'granted', after_ms: 1500 } } } },
      {
        onNativeCall: (e) => {
          order.push(e.phase);
          if (e.phase === 'blocking') blocking();
        },
      },
    );
    await backend.activate('input_monitoring'); // returns while the native call is still running
    expect(backend.inFlight()).toBe(1);
    await isBlocking;
    await new Promise<void>((r) => setTimeout(() => (order.push('timer'), r()), 10));
    expect(await backend.getStatus('input_monitoring')).toBe('not_determined');
    order.push('status read');
    await backend.settled();
    expect(order).toEqual(['prompted', 'blocking', 'timer', 'status read', 'returned']);
    expect(backend.inFlight()).toBe(0);
  });

  it('close() ends a block early', async () => {
    const phases: string[] = [];
    const backend = await open({ permissions: { input_monitoring: { activation: { block_ms: 600_000 } } } }, { onNativeCall: (e) => phases.push(e.phase) });
    await backend.activate('input_monitoring');
    await backend.close();
    await backend.close();
    expect(phases.at(-1)).toBe('terminated');
    await expect(backend.getStatus('microphone')).rejects.toBeInstanceOf(BackendError);
  });

  it('quit_and_reopen: exactly one process that saw the change is told, once', async () => {
    const seen: string[] = [];
    const scenario: ScenarioJson = {
      permissions: { screen_capture: { on_request: { result: 'granted', after_ms: 100, effective: 'after_restart', quit_and_reopen: true } } },
    };
    const a = await open(scenario, { onQuitAndReopen: (e) => seen.push(`a:${e.permission}@${e.answerAt - T0}`) });
    const b = attach({ onQuitAndReopen: (e) => seen.push(`b:${e.permission}`) });
    await a.activate('screen_capture');
    await Promise.all([a.getStatus('screen_capture'), b.getStatus('screen_capture')]);
    expect(seen).toEqual([]);
    clock = T0 + 100;
    await Promise.all([a.getStatus('screen_capture'), b.getStatus('screen_capture'), a.getStatus('screen_capture')]);
    expect(seen).toHaveLength(1);
    // The process started after the change (the reopened one) is never told.
    const later = attach({ processStartedAt: T0 + 200, onQuitAndReopen: () => seen.push('later') });
    expect(await later.getStatus('screen_capture')).toBe('granted');
    expect(seen).toHaveLength(1);
  });
});

describe('the shared database file', () => {
  it('should refuse a missing, broken or invalid file with a ScenarioError', async () => {
    expect(() => createSimBackend({ file })).toThrow(/does not exist; create it with writeScenario/);
    await writeFile(file, '{"permissions": {"microphone": {"status": "granted",}}}');
    expect(() => createSimBackend({ file })).toThrow(/not valid JSON at line 1, column 53/);
    await writeFile(file, '{"permissions": {"webcam": {}}}');
    expect(() => createSimBackend({ file })).toThrow(ScenarioError);
    await expect(writeScenario(file, { permissions: { microphone: { status: 'maybe' } } } as never)).rejects.toBeInstanceOf(ScenarioError);
  });

  it('should fail a call clearly when the file is broken later', async () => {
    const backend = await open(DEMO_SCENARIO);
    await writeFile(file, '');
    await expect(backend.getStatus('microphone')).rejects.toThrow(/the file is empty/);
    await expect(backend.activate('microphone')).rejects.toBeInstanceOf(ScenarioError);
  });

  it('should refuse an unknown permission name from untyped callers', async () => {
    const backend = await open({});
    await expect(backend.getStatus('webcam' as PermissionName)).rejects.toThrow(/unknown permission "webcam"; expected one of microphone, .*camera, full_disk_access.*music_library/);
  });

  it('should lose no update under concurrent writers in one process', async () => {
    const a = await open({});
    const b = attach();
    const readers = Array.from({ length: 30 }, () => readSimState(file));
    await Promise.all([
      ...Array.from({ length: 25 }, () => a.activate('microphone')),
      ...Array.from({ length: 25 }, () => b.openSettings('accessibility')),
      ...readers,
    ]);
    const { permissions } = await readSimState(file);
    expect(permissions.microphone.requestCount).toBe(25);
    expect(permissions.accessibility.settingsOpenedAt).toBe(T0);
  });

  it('should bound its wait for the mutex by a monotonic clock: a wall clock set back an hour does not stretch it', async () => {
    const backend = await open({}, { lockTimeoutMs: 150, lockStaleMs: 60_000 });
    await mkdir(`${file}.lock`);
    const realNow = Date.now.bind(Date);
    const jumpAt = realNow() + 30; // set back an hour 30 ms into the wait
    const setBack = vi.spyOn(Date, 'now').mockImplementation(() => (realNow() < jumpAt ? realNow() : realNow() - 3_600_000));
    try {
      // A wall-clock deadline would wait until the clock caught up (an hour): the test's timeout fails it.
      await expect(backend.activate('microphone')).rejects.toThrow(/mutex .* held for over 150 ms/);
    } finally {
      setBack.mockRestore();
    }
  }, 10_000);

  it('should break a mutex left by a dead process and time out on a live one', async () => {
    const backend = await open({}, { lockTimeoutMs: 150, lockStaleMs: 60_000 });
    await mkdir(`${file}.lock`);
    await expect(backend.activate('microphone')).rejects.toThrow(/mutex .* held for over 150 ms/);
    const old = new Date(Date.now() - 120_000);
    await utimes(`${file}.lock`, old, old);
    await backend.activate('microphone');
    expect((await readSimState(file)).permissions.microphone.requestCount).toBe(1);
  });
});

describe('across processes (needs the build in dist/)', () => {
  const built = join(dirname(FIXTURE), '..', '..', '..', 'dist', 'src', 'backend', 'sim-backend.js');
  beforeAll(() => {
    if (!existsSync(built)) throw new Error(`${built} is missing: build first with \`npx tsc -p tsconfig.build.json\` (npm test does)`);
  });
  const child = async (...args: string[]): Promise<{ pid: number; startedAt: number; status: PermissionStatus }> => {
    const { stdout } = await run(process.execPath, [FIXTURE, file, ...args]);
    return JSON.parse(stdout) as { pid: number; startedAt: number; status: PermissionStatus };
  };

  it('FR-6 after_restart: process A grants screen_capture and still reads it denied; a new process B reads granted', async () => {
    await writeScenario(file, { permissions: { screen_capture: { on_request: { result: 'granted', after_ms: 0, effective: 'after_restart' } } } });
    const a = await child('grant-and-read', 'screen_capture');
    expect(a.status).toBe('denied');
    const b = await child('read', 'screen_capture');
    expect(b.pid).not.toBe(a.pid);
    expect(b.startedAt).toBeGreaterThan(a.startedAt);
    expect(b.status).toBe('granted');
    // This test process started before the grant: for it, too, nothing has changed.
    expect(await createSimBackend({ file }).getStatus('screen_capture')).toBe('denied');
  });

  it('should lose no update when several processes write at once', async () => {
    await writeScenario(file, {});
    await Promise.all(Array.from({ length: 4 }, () => child('activate-many', 'microphone', '10')));
    expect((await readSimState(file)).permissions.microphone.requestCount).toBe(40);
  });
});
