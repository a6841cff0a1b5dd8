import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PERMISSIONS, type PermissionName } from '../../machines/types.js';
import { PERMISSION_CATALOGUE, PERMISSION_KINDS } from '../../machines/permissions.js';
import {
  createMacBackend,
  createScreenCaptureGuard,
  MAC_AUTH_TYPES,
  MAC_OPEN_COMMAND,
  MAC_SETTINGS_URLS,
  normalizeElectronMediaStatus,
  normalizeMacAuthStatus,
  type MacActivationReport,
  type MacBackend,
  type MacBackendOptions,
  type MacPermissionsModule,
  type SettingsSpawner,
} from '../../src/backend/macos-backend.js';
import { BackendError, BackendUnavailableError } from '../../src/errors.js';
import { installFakeNative, type FakeNative } from './fixtures/fake-native.js';

/** An in-memory fake native layer for status reads (no worker involved). */
function memoryModule(statuses: Record<string, unknown>): MacPermissionsModule & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    getAuthStatus: (type) => {
      asked.push(type);
      return statuses[type] as string;
    },
    askForMicrophoneAccess: () => new Promise(() => {}),
    askForInputMonitoringAccess: () => Promise.resolve('denied'),
    askForScreenCaptureAccess: () => undefined,
    askForAccessibilityAccess: () => undefined,
  };
}

/** Whether the real package is installed (on a Mac it may be): tests that rely on its absence run only without it. */
const installed = (() => {
  try {
    createRequire(import.meta.url).resolve('node-mac-permissions');
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
let backends: MacBackend[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'macos-backend-'));
  backends = [];
});

afterEach(async () => {
  await Promise.all(backends.map((b) => b.close?.()));
  rmSync(dir, { recursive: true, force: true });
});

/** A backend over the fake native layer in `dir`, loaded as the module (main thread and workers). */
function fakeBackend(
  config: Parameters<typeof installFakeNative>[1] = {},
  options: MacBackendOptions = {},
): { backend: MacBackend; fake: FakeNative; reports: MacActivationReport[] } {
  const fake = installFakeNative(dir, config);
  const reports: MacActivationReport[] = [];
  const backend = createMacBackend({
    platform: 'darwin',
    modulePath: fake.path,
    screenCaptureGuard: createScreenCaptureGuard(),
    onActivationReport: (r) => reports.push(r),
    ...options,
  });
  backends.push(backend);
  return { backend, fake, reports };
}

describe('createMacBackend availability (FR-6 packaging)', () => {
  it('should refuse off macOS, naming the sim backend', () => {
    const attempt = () => createMacBackend({ platform: 'linux' });
    expect(attempt).toThrow(BackendUnavailableError);
    expect(attempt).toThrow(/needs macOS.*linux.*--backend sim --sim-db FILE/s);
    try {
      attempt();
    } catch (error) {
      expect((error as BackendUnavailableError).code).toBe('ERR_BACKEND_UNAVAILABLE');
    }
  });

  it('should refuse off macOS even when a module is injected', () => {
    expect(() => createMacBackend({ platform: 'win32', module: memoryModule({}) })).toThrow(BackendUnavailableError);
  });

  it('should say how to rebuild when the package cannot be found on macOS (MODULE_NOT_FOUND)', () => {
    const missing = join(dir, 'node_modules', 'node-mac-permissions');
    let caught: unknown;
    try {
      createMacBackend({ platform: 'darwin', modulePath: missing });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BackendUnavailableError);
    const message = (caught as Error).message;
    expect(message).toMatch(/optional dependency node-mac-permissions.*not installed/);
    expect(message).toContain('npm rebuild node-mac-permissions');
    expect(message).toMatch(/electron-rebuild/);
    expect(message).toContain('--backend sim --sim-db FILE');
    expect(((caught as Error).cause as NodeJS.ErrnoException).code).toBe('MODULE_NOT_FOUND');
  });

  // The real default: here (Linux) npm skipped the optional dependency, so resolving it fails the same way.
  it.runIf(!installed)('should report the default package as missing where npm skipped it', () => {
    expect(() => createMacBackend({ platform: 'darwin' })).toThrow(/npm rebuild node-mac-permissions/);
  });

  it('should say the build failed when the package loads but throws', () => {
    const broken = join(dir, 'broken.cjs');
    writeFileSync(broken, "throw new Error('Could not locate the bindings file. Tried: build/Release/permissions.node')");
    expect(() => createMacBackend({ platform: 'darwin', modulePath: broken })).toThrow(
      /installed .* but failed to load.*Could not locate the bindings file.*npm rebuild node-mac-permissions.*--backend sim/s,
    );
  });

  it('should name every function a module lacks', () => {
    const partial = join(dir, 'partial.cjs');
    writeFileSync(partial, 'module.exports = { getAuthStatus() { return "denied"; } };');
    expect(() => createMacBackend({ platform: 'darwin', modulePath: partial })).toThrow(
      /`askForMicrophoneAccess`, `askForInputMonitoringAccess`, `askForScreenCaptureAccess`, `askForAccessibilityAccess`/,
    );
  });

  it.each([
    ['handoffTimeoutMs', 0],
    ['closeTimeoutMs', -1],
    ['handoffTimeoutMs', Number.NaN],
  ] as const)('should reject option %s = %s, naming it', (name, value) => {
    expect(() => createMacBackend({ platform: 'darwin', module: memoryModule({}), [name]: value })).toThrow(
      new RegExp(`Expected \`${name}\``),
    );
  });
});

describe('getStatus (FR-4 status mapping)', () => {
  it.each([
    ['authorized', 'granted'],
    ['denied', 'denied'],
    ['restricted', 'restricted'],
    ['not determined', 'not_determined'],
  ] as const)('should map %j to %j', async (raw, ours) => {
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({ microphone: raw }) });
    backends.push(backend);
    await expect(backend.getStatus('microphone')).resolves.toBe(ours);
  });

  it.each(PERMISSION_KINDS.map((p) => [p, MAC_AUTH_TYPES[p]] as const))(
    'should ask getAuthStatus about %s as %j',
    async (permission, type) => {
      const mod = memoryModule({ [type]: 'authorized' });
      const backend = createMacBackend({ platform: 'darwin', module: mod });
      backends.push(backend);
      await expect(backend.getStatus(permission)).resolves.toBe('granted');
      expect(mod.asked).toEqual([type]);
    },
  );

  it.each([['limited'], ['granted'], [''], [undefined], [3]])(
    'should refuse the unknown status %j with a BackendError naming it',
    async (raw) => {
      const backend = createMacBackend({ platform: 'darwin', module: memoryModule({ screen: raw }) });
      backends.push(backend);
      const read = backend.getStatus('screen_capture');
      await expect(read).rejects.toBeInstanceOf(BackendError);
      await expect(read).rejects.toThrow(/getAuthStatus\('screen'\) returned/);
    },
  );

  it('should read Photos\' `limited` (part of the library granted) as granted, and refuse it from any other kind', async () => {
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({ 'photos-read-write': 'limited', camera: 'limited' }) });
    backends.push(backend);
    await expect(backend.getStatus('photos')).resolves.toBe('granted');
    await expect(backend.getStatus('camera')).rejects.toThrow(/getAuthStatus\('camera'\) returned `"limited"` \(string\); expected one of 'authorized', 'denied', 'restricted', 'not determined'\./);
    expect(() => normalizeMacAuthStatus('partial', 'photos')).toThrow(/expected one of .*'not determined', 'limited'/);
  });

  it('should name `limited` in the error', () => {
    expect(() => normalizeMacAuthStatus('limited', 'microphone')).toThrow(/`"limited"` \(string\)/);
  });

  it('should wrap a throwing getAuthStatus in a BackendError with the cause', async () => {
    const mod = memoryModule({});
    const boom = new Error('native failure');
    mod.getAuthStatus = () => {
      throw boom;
    };
    const backend = createMacBackend({ platform: 'darwin', module: mod });
    backends.push(backend);
    const error = await backend.getStatus('accessibility').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(boom);
  });
});

describe('normalizeElectronMediaStatus', () => {
  it.each([
    ['not-determined', 'not_determined'],
    ['granted', 'granted'],
    ['denied', 'denied'],
    ['restricted', 'restricted'],
    ['unknown', 'not_determined'],
  ] as const)('should map %j to %j', (raw, ours) => {
    expect(normalizeElectronMediaStatus(raw)).toBe(ours);
  });

  it.each([['authorized'], ['not determined'], [null]])('should refuse %j, naming it', (raw) => {
    expect(() => normalizeElectronMediaStatus(raw, 'microphone')).toThrow(BackendError);
    expect(() => normalizeElectronMediaStatus(raw, 'microphone')).toThrow(/getMediaAccessStatus\('microphone'\) returned/);
  });
});

describe('activate (FR-6: activations never hold up the orchestrator)', () => {
  it.each([
    ['microphone', 'askForMicrophoneAccess', []],
    ['accessibility', 'askForAccessibilityAccess', []],
    ['input_monitoring', 'askForInputMonitoringAccess', ['listen']],
    ['screen_capture', 'askForScreenCaptureAccess', [false]],
    ['camera', 'askForCameraAccess', []],
    ['full_disk_access', 'askForFullDiskAccess', []],
    ['contacts', 'askForContactsAccess', []],
    ['calendar', 'askForCalendarAccess', ['full']],
    ['reminders', 'askForRemindersAccess', []],
    ['photos', 'askForPhotosAccess', ['read-write']],
    ['location', 'askForLocationAccess', ['always']],
    ['speech_recognition', 'askForSpeechRecognitionAccess', []],
    ['music_library', 'askForMusicLibraryAccess', []],
  ] as const)('should ask for %s with %s(%j) on a worker thread', async (permission, fn, args) => {
    const { backend, fake } = fakeBackend({ microphone: 'authorized' });
    await backend.activate(permission);
    await vi.waitFor(() => expect(fake.calls().map((c) => c.fn)).toContain(fn), { timeout: 5_000 });
    const call = fake.calls().find((c) => c.fn === fn);
    expect(call?.args).toEqual(args);
    expect(call?.mainThread).toBe(false);
  });

  it('FR-6 should not delay a main-thread timer while askForInputMonitoringAccess blocks its thread for 2 s', async () => {
    const { backend, fake, reports } = fakeBackend({ inputMonitoringBlockMs: 2_000 });
    const started = Date.now();
    await backend.activate('input_monitoring');
    const handedOffAfter = Date.now() - started;

    // A 50 ms timer set now must fire on time even though the call below blocks for 2 s.
    const timerStart = performance.now();
    const lateness = await new Promise<number>((resolve) => {
      setTimeout(() => resolve(performance.now() - timerStart - 50), 50);
    });
    expect(lateness).toBeLessThan(250);
    expect(handedOffAfter).toBeLessThan(2_000);

    // The fake really did block, on its own thread: the call settles only after the 2 s wait.
    await vi.waitFor(() => expect(reports.map((r) => r.event)).toContain('settled'), { timeout: 5_000, interval: 50 });
    const call = fake.calls().find((c) => c.fn === 'askForInputMonitoringAccess');
    expect(call?.mainThread).toBe(false);
    expect(Date.now() - (call?.at ?? 0)).toBeGreaterThanOrEqual(1_900);
    expect(reports.find((r) => r.event === 'settled')?.value).toBe('denied');
  });

  it('FR-6 should resolve activate() although askForMicrophoneAccess never settles', async () => {
    const { backend, reports } = fakeBackend({ microphone: 'never' });
    const outcome = await Promise.race([
      backend.activate('microphone').then(() => 'resolved'),
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 5_000)),
    ]);
    expect(outcome).toBe('resolved');
    expect(reports.map((r) => r.event)).toEqual(['handed_off']);
  });

  it('should terminate a worker still blocked in a native call on close()', async () => {
    const { backend, reports } = fakeBackend({ inputMonitoringBlockMs: 10_000 });
    await backend.activate('input_monitoring');
    const started = Date.now();
    await backend.close?.();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(reports.map((r) => r.event)).not.toContain('settled');
  });

  it('should report a call that throws without failing activate()', async () => {
    const { backend, reports } = fakeBackend({ throwOn: ['askForAccessibilityAccess'] });
    await backend.activate('accessibility');
    await vi.waitFor(() => expect(reports.map((r) => r.event)).toContain('failed'), { timeout: 5_000 });
    expect(reports.find((r) => r.event === 'failed')?.error).toMatch(/fake native askForAccessibilityAccess failed/);
  });

  it('should reject activate() with a BackendError when the worker cannot load the module', async () => {
    installFakeNative(dir);
    const workerOnly = join(dir, 'worker-only-broken.cjs');
    writeFileSync(
      workerOnly,
      "if (!require('node:worker_threads').isMainThread) throw new Error('not loadable here');\nmodule.exports = require('./fake-native.cjs');",
    );
    const backend = createMacBackend({ platform: 'darwin', modulePath: workerOnly, screenCaptureGuard: createScreenCaptureGuard() });
    backends.push(backend);
    await expect(backend.activate('screen_capture')).rejects.toThrow(/could not load .*not loadable here/);
    // The dialog was never shown, so the once-per-launch guard was given back.
    await expect(backend.activate('screen_capture')).rejects.toThrow(/could not load/);
  });

  it.runIf(!installed)('should not use up the Screen Capture guard when the package cannot be resolved for the worker', async () => {
    const guard = createScreenCaptureGuard();
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({}), screenCaptureGuard: guard });
    backends.push(backend);
    expect(backend.modulePath).toBeNull();
    // node-mac-permissions is not installed here (see the availability tests), so the worker has nothing to load.
    await expect(backend.activate('screen_capture')).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(guard.claim()).toBe(true);
  });

  it('should show the Screen Capture dialog at most once per launch (FR-4 per-process guard)', async () => {
    const { backend, fake, reports } = fakeBackend();
    await backend.activate('screen_capture');
    await backend.activate('screen_capture');
    await vi.waitFor(() => expect(reports.map((r) => r.event)).toContain('returned'), { timeout: 5_000 });
    expect(fake.calls().filter((c) => c.fn === 'askForScreenCaptureAccess')).toHaveLength(1);
    expect(reports.filter((r) => r.event === 'skipped')).toHaveLength(1);
  });

  it('should share the default Screen Capture guard between backends in one process', async () => {
    const fake = installFakeNative(dir);
    const first = createMacBackend({ platform: 'darwin', modulePath: fake.path });
    const second = createMacBackend({ platform: 'darwin', modulePath: fake.path });
    backends.push(first, second);
    await first.activate('screen_capture');
    await second.activate('screen_capture');
    await vi.waitFor(() => expect(fake.calls().map((c) => c.fn)).toContain('askForScreenCaptureAccess'), { timeout: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.calls().filter((c) => c.fn === 'askForScreenCaptureAccess')).toHaveLength(1);
  });

  it('should reject use after close(), and close() twice', async () => {
    const { backend } = fakeBackend();
    await backend.close?.();
    await backend.close?.();
    await expect(backend.activate('microphone')).rejects.toBeInstanceOf(BackendError);
    await expect(backend.getStatus('microphone')).rejects.toThrow(/closed/);
  });
});

describe('openSettings (FR-4 denied → the right System Settings pane)', () => {
  class FakeChild extends EventEmitter {
    unrefs = 0;
    unref(): void {
      this.unrefs += 1;
    }
  }

  function recordingSpawner(behaviour: 'spawn' | 'error' | 'throw' = 'spawn') {
    const calls: Array<{ command: string; args: readonly string[]; options: unknown; child: FakeChild }> = [];
    const spawn: SettingsSpawner = (command, args, options) => {
      if (behaviour === 'throw') throw new Error('EAGAIN');
      const child = new FakeChild();
      calls.push({ command, args, options, child });
      queueMicrotask(() => {
        if (behaviour === 'spawn') child.emit('spawn');
        else child.emit('error', Object.assign(new Error('spawn /usr/bin/open ENOENT'), { code: 'ENOENT' }));
      });
      return child;
    };
    return { spawn, calls };
  }

  it.each([
    ['microphone', 'Privacy_Microphone'],
    ['accessibility', 'Privacy_Accessibility'],
    ['input_monitoring', 'Privacy_ListenEvent'],
    ['screen_capture', 'Privacy_ScreenCapture'],
    ['camera', 'Privacy_Camera'],
    ['full_disk_access', 'Privacy_AllFiles'],
    ['contacts', 'Privacy_Contacts'],
    ['calendar', 'Privacy_Calendars'],
    ['reminders', 'Privacy_Reminders'],
    ['photos', 'Privacy_Photos'],
    ['location', 'Privacy_Location'],
    ['speech_recognition', 'Privacy_SpeechRecognition'],
    ['bluetooth', 'Privacy_Bluetooth'],
    ['music_library', 'Privacy_Media'],
  ] as const)('should open %s with /usr/bin/open …?%s, argv only, detached and unref’d', async (permission, pane) => {
    const { spawn, calls } = recordingSpawner();
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({}), spawn });
    backends.push(backend);
    await backend.openSettings(permission as PermissionName);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.command).toBe(MAC_OPEN_COMMAND);
    expect(call?.command).toBe('/usr/bin/open');
    expect(call?.args).toEqual([`x-apple.systempreferences:com.apple.preference.security?${pane}`]);
    expect(call?.args).toEqual([MAC_SETTINGS_URLS[permission]]);
    expect(call?.options).toMatchObject({ detached: true, stdio: 'ignore' });
    expect(call?.options).not.toHaveProperty('shell');
    expect(call?.child.unrefs).toBe(1);
  });

  it('should ask for Bluetooth (no call in 2.5.0) by opening its pane, starting no worker', async () => {
    const { spawn, calls } = recordingSpawner();
    const reports: MacActivationReport[] = [];
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({}), spawn, onActivationReport: (r) => reports.push(r) });
    backends.push(backend);
    await backend.activate('bluetooth');
    expect(calls.map((c) => c.args)).toEqual([[MAC_SETTINGS_URLS.bluetooth]]);
    expect(reports).toEqual([]);
  });

  it('should refuse to ask for a kind whose call the module lacks, naming the call (the four need none of them)', async () => {
    const { spawn } = recordingSpawner();
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({}), spawn });
    backends.push(backend);
    const asked = backend.activate('camera');
    await expect(asked).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(asked).rejects.toThrow(/does not export `askForCameraAccess`, which asks for camera; .*node-mac-permissions@2\.5\.0.*--backend sim/);
  });

  it.each([['error'], ['throw']] as const)('should turn a spawn %s into a BackendError', async (behaviour) => {
    const { spawn } = recordingSpawner(behaviour);
    const backend = createMacBackend({ platform: 'darwin', module: memoryModule({}), spawn });
    backends.push(backend);
    await expect(backend.openSettings('microphone')).rejects.toThrow(BackendError);
    await expect(backend.openSettings('microphone')).rejects.toThrow(/\/usr\/bin\/open x-apple\.systempreferences/);
  });
});
