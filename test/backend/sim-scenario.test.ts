import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/errors.js';
import {
  DEMO_SCENARIO,
  catalogueScenario,
  parseScenario,
  simActivate,
  simOpenSettings,
  simStatus,
  type SimScenario,
} from '../../src/backend/sim-scenario.js';
import { PERMISSIONS, PERMISSION_STATUSES } from '../../machines/types.js';
import { PERMISSION_CATALOGUE, PERMISSION_KINDS } from '../../machines/permissions.js';

function problemsOf(raw: unknown): { path: string; message: string }[] {
  try {
    parseScenario(raw, 'tcc.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return [...(error as ScenarioError).problems];
  }
  throw new Error('expected a ScenarioError');
}

describe('parseScenario', () => {
  it('should accept the SPEC §4 example', () => {
    const s = parseScenario(DEMO_SCENARIO, 'demo');
    expect(s.permissions.screen_capture.onRequest).toEqual({ result: 'granted', afterMs: 300, effective: 'after_restart', quitAndReopen: false });
    expect(s.permissions.accessibility).toMatchObject({ status: 'denied', onSettings: { result: 'granted', afterMs: 500 } });
    expect(s.permissions.input_monitoring.status).toBe('granted');
  });

  it('should read an absent permission as never asked, with a user who never answers', () => {
    const s = parseScenario({}, 'x');
    for (const name of PERMISSIONS) {
      expect(s.permissions[name]).toMatchObject({
        status: 'not_determined',
        onRequest: { result: 'none' },
        onSettings: { result: 'none' },
        activation: 'normal',
      });
      expect(s.state[name]).toEqual({ requested_at: null, request_count: 0, prompted: false, settings_opened_at: null, answers: [], reopen_claimed_at: null });
    }
  });

  it.each([
    ['microphone', true],
    ['accessibility', false],
    ['input_monitoring', true],
    ['screen_capture', false],
  ] as const)('FR-6 should default report_not_determined of %s to %s, as real TCC', (name, expected) => {
    expect(parseScenario({}, 'x').permissions[name].reportNotDetermined).toBe(expected);
  });

  it.each([
    ['normal', 'normal'],
    ['hang', 'hang'],
    [{ block_ms: 250 }, { blockMs: 250 }],
  ])('should read activation %j', (activation, expected) => {
    expect(parseScenario({ permissions: { input_monitoring: { activation } } }, 'x').permissions.input_monitoring.activation).toEqual(expected);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a non-object', 'x', '(root)', /JSON object/],
    ['an unknown top-level key', { permission: {} }, 'permission', /did you mean `permissions`/],
    ['an unknown permission', { permissions: { webcam: {} } }, 'permissions.webcam', /unknown permission name.*expected one of `microphone`.*`camera`.*`music_library`/],
    ['an unknown permission key', { permissions: { microphone: { on_requst: {} } } }, 'permissions.microphone.on_requst', /did you mean `on_request`/],
    ['a bad status', { permissions: { microphone: { status: 'authorized' } } }, 'permissions.microphone.status', /one of `granted`, `denied`, `not_determined`, `restricted`, got `"authorized"`/],
    ['a bad result', { permissions: { microphone: { on_request: { result: 'yes' } } } }, 'permissions.microphone.on_request.result', /`granted`, `denied`, `none`/],
    ['a missing result', { permissions: { microphone: { on_request: { after_ms: 5 } } } }, 'permissions.microphone.on_request.result', /required/],
    ['a negative delay', { permissions: { microphone: { on_request: { result: 'granted', after_ms: -1 } } } }, 'permissions.microphone.on_request.after_ms', /0 to 600000, got `-1`/],
    ['a fractional delay', { permissions: { microphone: { on_settings: { result: 'granted', after_ms: 1.5 } } } }, 'permissions.microphone.on_settings.after_ms', /integer/],
    ['a delay over 10 minutes', { permissions: { microphone: { on_request: { result: 'granted', after_ms: 600_001 } } } }, 'permissions.microphone.on_request.after_ms', /600000/],
    ['a bad effective', { permissions: { screen_capture: { on_request: { result: 'granted', effective: 'later' } } } }, 'permissions.screen_capture.on_request.effective', /`immediate`, `after_restart`/],
    ['a bad activation', { permissions: { microphone: { activation: 'block' } } }, 'permissions.microphone.activation', /"hang"/],
    ['a block without block_ms', { permissions: { microphone: { activation: {} } } }, 'permissions.microphone.activation.block_ms', /milliseconds/],
    ['a non-boolean report_not_determined', { permissions: { screen_capture: { report_not_determined: 'no' } } }, 'permissions.screen_capture.report_not_determined', /`true` or `false`/],
    ['a bad recorded answer', { state: { microphone: { answers: [{ source: 'request', answer_at: -5, result: 'granted' }] } } }, 'state.microphone.answers[0].answer_at', /epoch/],
    ['an unknown state key', { state: { microphone: { granted: true } } }, 'state.microphone.granted', /unknown key/],
  ])('should refuse %s by its key path', (_label, raw, path, message) => {
    const problems = problemsOf(raw);
    const problem = problems.find((p) => p.path === path);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
  });

  it('should list every problem at once', () => {
    const problems = problemsOf({
      permissions: { microphone: { status: 'x', on_request: { result: 'granted', after_ms: 'soon' } }, webcam: {} },
      extra: 1,
    });
    expect(problems.map((p) => p.path).sort()).toEqual(
      ['extra', 'permissions.webcam', 'permissions.microphone.status', 'permissions.microphone.on_request.after_ms'].sort(),
    );
  });

  it('§3 invariant 5: should return a scenario or a ScenarioError for any JSON (property)', () => {
    const leaf = fc.jsonValue({ maxDepth: 2 });
    const answer = fc.dictionary(fc.constantFrom('result', 'after_ms', 'effective', 'quit_and_reopen', 'x'), fc.oneof(leaf, fc.constantFrom('granted', 'none', 'after_restart')));
    const permission = fc.dictionary(
      fc.constantFrom('status', 'on_request', 'on_settings', 'report_not_determined', 'activation', 'y'),
      fc.oneof(leaf, answer, fc.constantFrom(...PERMISSION_STATUSES, 'hang'), fc.record({ block_ms: leaf })),
    );
    const raw = fc.oneof(
      fc.jsonValue(),
      fc.record({ permissions: fc.dictionary(fc.constantFrom(...PERMISSIONS, 'camera', 'full_disk_access', 'webcam'), permission) }, { requiredKeys: [] }),
      fc.record({ state: fc.dictionary(fc.constantFrom(...PERMISSIONS), fc.dictionary(fc.constantFrom('requested_at', 'answers', 'prompted', 'z'), fc.oneof(leaf, fc.array(leaf)))) }),
    );
    fc.assert(
      fc.property(raw, (value) => {
        try {
          parseScenario(value, 'x');
        } catch (error) {
          expect(error).toBeInstanceOf(ScenarioError);
          const problems = (error as ScenarioError).problems;
          expect(problems.length).toBeGreaterThan(0);
          for (const p of problems) {
            expect(p.path.length).toBeGreaterThan(0);
            expect(p.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('pure rules (no I/O)', () => {
  const T0 = 1_000_000;
  const view = (now: number, processStartedAt = T0 - 1000) => ({ now, processStartedAt });
  const scenario = (raw: unknown): SimScenario => parseScenario(raw, 'x');

  it('FR-4 should show a prompt from not_determined only once, ever', () => {
    const s = scenario({ permissions: { microphone: { on_request: { result: 'denied', after_ms: 10 } } } });
    expect(simActivate(s, 'microphone', T0).prompted).toBe(true);
    expect(simActivate(s, 'microphone', T0 + 1).prompted).toBe(false);
    expect(simActivate(s, 'microphone', T0 + 100).prompted).toBe(false);
    expect(s.state.microphone).toMatchObject({ requested_at: T0, request_count: 3, prompted: true });
    expect(s.state.microphone.answers).toHaveLength(1);
    expect(simStatus(s, 'microphone', view(T0 + 9)).reported).toBe('not_determined');
    expect(simStatus(s, 'microphone', view(T0 + 10)).reported).toBe('denied');
  });

  it('FR-4 should apply on_settings only from the first opening of the pane', () => {
    const s = scenario({ permissions: { accessibility: { status: 'denied', on_settings: { result: 'granted', after_ms: 50 } } } });
    expect(simOpenSettings(s, 'accessibility', T0)).toBe(true);
    expect(simOpenSettings(s, 'accessibility', T0 + 10)).toBe(false);
    expect(simStatus(s, 'accessibility', view(T0 + 49)).reported).toBe('denied');
    expect(simStatus(s, 'accessibility', view(T0 + 50)).reported).toBe('granted');
  });

  it('FR-6 should hide an after_restart answer from processes started before it landed', () => {
    const s = scenario({ permissions: { screen_capture: { on_request: { result: 'granted', after_ms: 300, effective: 'after_restart' } } } });
    simActivate(s, 'screen_capture', T0);
    expect(simStatus(s, 'screen_capture', view(T0 + 1000))).toEqual({ truth: 'granted', visible: 'not_determined', reported: 'denied' });
    expect(simStatus(s, 'screen_capture', view(T0 + 1000, T0 + 300))).toMatchObject({ visible: 'not_determined' });
    expect(simStatus(s, 'screen_capture', view(T0 + 1000, T0 + 301))).toEqual({ truth: 'granted', visible: 'granted', reported: 'granted' });
  });
});

describe('every kind of the catalogue, with its quirks', () => {
  const T0 = 1_000_000;
  const before = { processStartedAt: T0 - 1000 };
  const kinds = PERMISSION_KINDS.map((name) => [name, PERMISSION_CATALOGUE[name]] as const);

  it.each(kinds)('FR-6 %s: report_not_determined defaults to the catalogue (readsNotDetermined)', (name, kind) => {
    const s = parseScenario({ permissions: { [name]: {} } }, 'x');
    expect(s.permissions[name].reportNotDetermined).toBe(kind.readsNotDetermined);
    // Never asked: a kind that cannot read `not_determined` reads `denied`.
    expect(simStatus(s, name, { now: T0, ...before }).reported).toBe(kind.readsNotDetermined ? 'not_determined' : 'denied');
  });

  it.each(kinds)('FR-4 %s: a request shows a prompt, or (Settings-only) opens the pane, as macOS does', (name, kind) => {
    const s = parseScenario(
      { permissions: { [name]: { on_request: { result: 'granted', after_ms: 10 }, on_settings: { result: 'denied', after_ms: 20 } } } },
      'x',
    );
    const effect = simActivate(s, name, T0);
    if (kind.ask === 'settings_only') {
      expect(effect.prompted).toBe(false);
      expect(s.state[name]).toMatchObject({ prompted: false, settings_opened_at: T0 });
      expect(simStatus(s, name, { now: T0 + 20, ...before }).truth).toBe('denied');
    } else {
      expect(effect.prompted).toBe(true);
      expect(s.state[name]).toMatchObject({ prompted: true, settings_opened_at: null });
      expect(simStatus(s, name, { now: T0 + 10, ...before }).truth).toBe('granted');
    }
  });

  it.each(kinds)('FR-6 %s: in catalogueScenario a grant shows in the running process only when the catalogue says so', (name, kind) => {
    const s = parseScenario(catalogueScenario([name], { afterMs: 10 }), 'x');
    simActivate(s, name, T0);
    // Settings-only kinds were answered in the pane the request opened; the others at the prompt.
    const seen = simStatus(s, name, { now: T0 + 10, ...before });
    expect(seen.truth).toBe('granted');
    expect(seen.visible === 'granted').toBe(kind.grantVisible !== 'after_restart');
    expect(simStatus(s, name, { now: T0 + 20, processStartedAt: T0 + 11 }).reported).toBe('granted');
  });

  it('FR-6 should hide a Settings change of a prompt_only kind (the microphone, the camera) from the running process', () => {
    const s = parseScenario(catalogueScenario(['camera'], { afterMs: 10 }), 'x');
    s.permissions.camera.status = 'denied';
    simOpenSettings(s, 'camera', T0);
    expect(simStatus(s, 'camera', { now: T0 + 10, ...before })).toEqual({ truth: 'granted', visible: 'denied', reported: 'denied' });
  });
});
