/**
 * The permission catalogue (issue 23): its data, each entry's behaviour in the step machine, and the
 * orchestrator taking the configured set (a restored run walks the kinds a new set adds; a result of a
 * kind outside the set decides nothing).
 */
import { createActor, fromCallback, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  ASK_STYLES,
  DEFAULT_PERMISSIONS,
  GRANT_VISIBILITIES,
  NEVER_NOT_DETERMINED,
  PERMISSION_CATALOGUE,
  PERMISSION_KINDS,
  settingsUrl,
  type PermissionName,
} from '../../machines/permissions.js';
import type { StatusReading } from '../../machines/effects.js';
import { permissionStepMachine, type PermissionStepInput } from '../../machines/permission-step.machine.js';
import { decideRestart, replanQueue, type OrchestratorContext } from '../../machines/orchestrator.machine.js';
import { PERMISSIONS, type PermissionStatus, type StepOutcome, type StepResult } from '../../machines/types.js';
import { DEFAULT_ORDER, DEFAULT_SETTINGS, cloneDefaultSettings } from '../../src/config/defaults.js';

describe('the catalogue', () => {
  it('should keep seed 004 as the default set and order, first in the catalogue', () => {
    expect(DEFAULT_PERMISSIONS).toEqual(['microphone', 'accessibility', 'input_monitoring', 'screen_capture']);
    expect(PERMISSIONS).toEqual(DEFAULT_PERMISSIONS);
    expect(DEFAULT_ORDER).toEqual(DEFAULT_PERMISSIONS);
    expect(DEFAULT_SETTINGS.order).toEqual(DEFAULT_PERMISSIONS);
    expect(PERMISSION_KINDS.slice(0, 4)).toEqual(DEFAULT_PERMISSIONS);
    expect(PERMISSION_KINDS).toHaveLength(14);
  });

  it.each(PERMISSION_KINDS.map((name) => [name]))('%s: a complete entry, named by its key, with a Privacy pane', (name) => {
    const kind = PERMISSION_CATALOGUE[name];
    expect(kind.name).toBe(name);
    expect(ASK_STYLES).toContain(kind.ask);
    expect(GRANT_VISIBILITIES).toContain(kind.grantVisible);
    expect(kind.settingsPane).toMatch(/^Privacy_[A-Za-z]+$/);
    expect(settingsUrl(kind.settingsPane)).toBe(`x-apple.systempreferences:com.apple.preference.security?${kind.settingsPane}`);
    expect(kind.macAuthType).toMatch(/^[a-z-]+$/);
    // A kind that asks through a prompt has a call that prompts; only a Settings-only kind may have none.
    if (kind.macAsk === null) expect(kind.ask).toBe('settings_only');
    // A grant that shows only in a new process needs a restart by default, and only such a grant does.
    expect(kind.defaults.needsRestart).toBe(kind.grantVisible === 'after_restart');
    expect(kind.defaults.hard).toBe(true);
    expect(kind.defaults.assumeGrantedOnTimeout).toBe(name === 'microphone');
  });

  it('should keep the seed-004 defaults of the four unchanged', () => {
    const flags = (name: PermissionName) => DEFAULT_SETTINGS.steps[name];
    expect(DEFAULT_PERMISSIONS.map((name) => [name, flags(name).needsRestart, flags(name).assumeGrantedOnTimeout])).toEqual([
      ['microphone', false, true],
      ['accessibility', false, false],
      ['input_monitoring', true, false],
      ['screen_capture', true, false],
    ]);
  });

  it('should name the kinds that never read not_determined (FR-6: their asking is remembered in the ledger)', () => {
    expect(NEVER_NOT_DETERMINED).toEqual(['accessibility', 'screen_capture', 'full_disk_access', 'location']);
  });
});

/** How a step ended and what it showed, driven by scripted status reads. */
interface StepRun {
  outcome: StepOutcome | null;
  /** `activate` (a prompt, or the pane for a Settings-only kind) and `settings` calls, in order. */
  shown: ('activate' | 'settings')[];
  /** Whether the step ended before its timebox did. */
  endedBeforeTimebox: boolean;
}

/**
 * Run one step of `permission` with its default settings: the reads answer `reads` in turn (the last
 * one for ever); after the reads are used up (and a few polls more), the timebox ends.
 */
async function runStep(permission: PermissionName, reads: PermissionStatus[], input: Partial<PermissionStepInput> = {}): Promise<StepRun> {
  let readCount = 0;
  const shown: StepRun['shown'] = [];
  let expire: (() => void) | null = null;
  const machine = permissionStepMachine.provide({
    actors: {
      readStatus: fromPromise<StatusReading, { permission: PermissionName }>(async () => ({ status: reads[Math.min(readCount++, reads.length - 1)]!, at: 1_000 })),
      runTimebox: fromCallback(({ sendBack, input: timebox }) => {
        expire = (timebox as { ms: number | null }).ms === null ? null : () => sendBack({ type: 'step.timebox_expired' });
      }),
      waitInterval: fromCallback(({ sendBack }) => {
        const timer = setTimeout(() => sendBack({ type: 'step.tick' }), 0);
        return () => clearTimeout(timer);
      }),
    },
    actions: {
      activatePermission: () => void shown.push('activate'),
      openSettings: () => void shown.push('settings'),
      notifyParent: () => {},
      publish: () => {},
    },
  });
  const actor = createActor(machine, {
    input: {
      permission,
      settings: DEFAULT_SETTINGS.steps[permission],
      advanceOnTimeout: true,
      confirmRetries: 0,
      confirmIntervalMs: 0,
      requestedBefore: false,
      promptBlocked: false,
      knownStatus: null,
      ...input,
    },
  });
  actor.start();
  for (let i = 0; i < reads.length + 3 && actor.getSnapshot().status === 'active'; i++) await new Promise((r) => setTimeout(r, 2));
  const endedBeforeTimebox = actor.getSnapshot().status === 'done';
  if (!endedBeforeTimebox) (expire as (() => void) | null)?.();
  const snapshot = actor.getSnapshot();
  actor.stop();
  return { outcome: snapshot.status === 'done' ? (snapshot.output as StepResult).outcome : null, shown, endedBeforeTimebox };
}

/** What a never-asked kind reads first: `not_determined`, or `denied` for a kind that cannot tell. */
const firstRead = (name: PermissionName): PermissionStatus => (PERMISSION_CATALOGUE[name].readsNotDetermined ? 'not_determined' : 'denied');

/**
 * The outcome when the user never answers, with the catalogue defaults (FR-4): a kind whose grant shows
 * only in a new process ends `pending_restart` (its request was made); the microphone is assumed granted
 * on the never-answered path; a kind that reads `denied` when never asked ends `denied`; the rest `timed_out`.
 */
const NO_ANSWER: Record<PermissionName, StepOutcome> = {
  microphone: 'assumed_granted',
  accessibility: 'denied',
  input_monitoring: 'pending_restart',
  screen_capture: 'pending_restart',
  camera: 'timed_out',
  full_disk_access: 'pending_restart',
  contacts: 'timed_out',
  calendar: 'timed_out',
  reminders: 'timed_out',
  photos: 'timed_out',
  location: 'denied',
  speech_recognition: 'timed_out',
  bluetooth: 'timed_out',
  music_library: 'timed_out',
};

describe('each catalogue entry in the step machine (FR-4, FR-6)', () => {
  const kinds = PERMISSION_KINDS.map((name) => [name] as const);

  it.each(kinds)('%s never asked: one request (a prompt, or the pane), then granted', async (name) => {
    const run = await runStep(name, [firstRead(name), firstRead(name), 'granted']);
    expect(run.shown).toEqual(['activate']);
    expect(run).toMatchObject({ outcome: 'granted', endedBeforeTimebox: true });
  });

  it.each(kinds)('%s never asked, the user never answers: the timebox ends it with its default outcome', async (name) => {
    const run = await runStep(name, [firstRead(name)]);
    expect(run.shown).toEqual(['activate']);
    expect(run).toMatchObject({ outcome: NO_ANSWER[name], endedBeforeTimebox: false });
  });

  it.each(kinds)('%s: a `denied` right after the request is the answer only for a kind that can read not_determined', async (name) => {
    const run = await runStep(name, [firstRead(name), 'denied']);
    if (PERMISSION_CATALOGUE[name].readsNotDetermined) {
      expect(run).toMatchObject({ outcome: 'denied', endedBeforeTimebox: true });
    } else {
      // Accessibility, Screen Recording, Full Disk Access, Location: `denied` also means "not yet".
      expect(run.endedBeforeTimebox).toBe(false);
      expect(run.outcome).toBe(PERMISSION_CATALOGUE[name].defaults.needsRestart ? 'pending_restart' : 'denied');
    }
  });

  it.each(kinds)('%s asked in an earlier launch and still denied: System Settings, no second request', async (name) => {
    const run = await runStep(name, ['denied'], { requestedBefore: true });
    expect(run.shown).toEqual(['settings']);
    expect(run.outcome).toBe(PERMISSION_CATALOGUE[name].defaults.needsRestart ? 'pending_restart' : 'denied');
  });

  it.each(kinds)('%s restricted (MDM): ends restricted, nothing shown', async (name) => {
    expect(await runStep(name, ['restricted'])).toEqual({ outcome: 'restricted', shown: [], endedBeforeTimebox: true });
  });
});

/** An orchestrator context with only what the pure functions read. */
function contextOf(order: PermissionName[], parts: Partial<OrchestratorContext>): OrchestratorContext {
  const settings = { ...cloneDefaultSettings(), order };
  return { settings, statuses: {}, results: {}, requested: {}, queue: [], ...parts } as OrchestratorContext;
}
const result = (permission: PermissionName, outcome: StepOutcome): StepResult => ({ permission, outcome, status: 'granted', requested: true });

describe('the orchestrator takes the configured set', () => {
  it('replanQueue: the same order gives the same queue', () => {
    const context = contextOf([...DEFAULT_PERMISSIONS], {
      queue: ['accessibility', 'input_monitoring', 'screen_capture'],
      statuses: { microphone: 'granted', accessibility: 'denied', input_monitoring: 'not_determined', screen_capture: 'denied' },
      results: { microphone: result('microphone', 'granted') },
    });
    expect(replanQueue(context, context.settings.order, 'accessibility')).toEqual(context.queue);
  });

  it('replanQueue: the running step first, then the new set in its order (added kinds walked, dropped kinds gone)', () => {
    const context = contextOf([...DEFAULT_PERMISSIONS], {
      queue: ['accessibility', 'input_monitoring', 'screen_capture'],
      statuses: { microphone: 'granted', accessibility: 'denied', input_monitoring: 'not_determined', screen_capture: 'denied' },
      results: { microphone: result('microphone', 'granted') },
    });
    const order: PermissionName[] = ['camera', 'microphone', 'screen_capture', 'full_disk_access'];
    expect(replanQueue(context, order, 'accessibility')).toEqual(['accessibility', 'camera', 'screen_capture', 'full_disk_access']);
    expect(replanQueue(context, order, null)).toEqual(['camera', 'screen_capture', 'full_disk_access']);
  });

  it('replanQueue: a kind seen granted or already walked is not walked again; a forced (dev) queue keeps its granted kinds', () => {
    const context = contextOf(['camera', 'contacts'], {
      queue: ['photos', 'contacts'],
      statuses: { camera: 'granted', contacts: 'granted', photos: 'granted' },
      results: { photos: result('photos', 'granted') },
    });
    expect(replanQueue(context, ['camera', 'contacts', 'photos', 'bluetooth'], 'photos')).toEqual(['photos', 'contacts', 'bluetooth']);
  });

  it('decideRestart: a result of a kind outside this launch\'s set decides nothing', () => {
    const context = contextOf(['camera'], {
      results: { camera: result('camera', 'granted'), screen_capture: result('screen_capture', 'pending_restart') },
    });
    context.settings.restart.requireNeedsRestart = true;
    expect(decideRestart(context)).toMatchObject({ allowed: false, needsRestart: false, blockedBy: ['no_restart_needed'] });
    context.settings.order = ['camera', 'screen_capture'];
    expect(decideRestart(context)).toMatchObject({ allowed: true, needsRestart: true });
  });
});
