import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_SETTINGS, parseConfig, settingsToConfigJson } from '../../src/config/index.js';
import { PERMISSIONS } from '../../machines/types.js';
import { PERMISSION_CATALOGUE, PERMISSION_KINDS } from '../../machines/permissions.js';

const S = 'integrations.permissions_v2';
const section = (v2: unknown): unknown => ({ integrations: { permissions_v2: v2 } });

function problemsOf(raw: unknown, env?: Record<string, string>): { path: string; message: string }[] {
  try {
    parseConfig(raw, 'config.json', env === undefined ? {} : { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('CF-1 defaults', () => {
  it.each([
    ['no document', undefined],
    ['an empty object', {}],
    ['the rest of the app config only', { app: { theme: 'dark' }, integrations: { other: { x: 1 } } }],
    ['an empty section', section({})],
  ])('should resolve %s to the defaults', (_label, raw) => {
    expect(parseConfig(raw, 'config.json')).toEqual(DEFAULT_SETTINGS);
  });

  it('should have the documented default values, in milliseconds', () => {
    const s = parseConfig(undefined, 'x');
    expect(s).toMatchObject({
      enabled: true,
      advanceOnTimeout: true,
      confirmRetries: 2,
      confirmIntervalMs: 2000,
      order: ['microphone', 'accessibility', 'input_monitoring', 'screen_capture'],
      restart: { delayMs: 3000, requireAllHardPass: true, requireNeedsRestart: false, strategy: 'node', handoffTimeoutMs: 10_000 },
      dryRun: false,
      killSwitch: false,
    });
    for (const name of PERMISSIONS) {
      expect(s.steps[name]).toMatchObject({ timeoutMs: 15_000, pollIntervalMs: 1000, hard: true });
    }
    expect(s.steps.screen_capture.needsRestart).toBe(true);
    expect(s.steps.input_monitoring.needsRestart).toBe(true);
    expect(s.steps.microphone.needsRestart).toBe(false);
    expect(s.steps.accessibility.needsRestart).toBe(false);
    expect(PERMISSIONS.filter((p) => s.steps[p].assumeGrantedOnTimeout)).toEqual(['microphone']);
  });

  it('should not let callers mutate DEFAULT_SETTINGS through a result', () => {
    const s = parseConfig(undefined, 'x');
    s.steps.microphone.timeoutMs = 1;
    s.order.pop();
    expect(DEFAULT_SETTINGS.steps.microphone.timeoutMs).toBe(15_000);
    expect(DEFAULT_SETTINGS.order).toHaveLength(4);
  });
});

describe('CF-1 keys', () => {
  it('should apply every key, converting seconds to milliseconds', () => {
    const s = parseConfig(
      section({
        enabled: false,
        advance_on_timeout: false,
        default_step_timeout_s: 20,
        poll_interval_s: 0.5,
        confirm_retries: 0,
        confirm_interval_s: 1.5,
        order: ['screen_capture', 'microphone'],
        steps: {
          microphone: { timeout_s: 30, hard: false, needs_restart: true, assume_granted_on_timeout: false, poll_interval_s: 2 },
          accessibility: { assume_granted_on_timeout: true },
        },
        restart: { delay_sec: 0, require_all_hard_pass: false, require_needs_restart: true, strategy: 'bundle', handoff_timeout_s: 2.5 },
      }),
      'config.json',
    );
    expect(s).toMatchObject({
      enabled: false,
      advanceOnTimeout: false,
      confirmRetries: 0,
      confirmIntervalMs: 1500,
      order: ['screen_capture', 'microphone'],
      restart: { delayMs: 0, requireAllHardPass: false, requireNeedsRestart: true, strategy: 'bundle', handoffTimeoutMs: 2500 },
    });
    expect(s.steps.microphone).toEqual({ timeoutMs: 30_000, pollIntervalMs: 2000, hard: false, needsRestart: true, assumeGrantedOnTimeout: false });
    expect(s.steps.accessibility).toEqual({ timeoutMs: 20_000, pollIntervalMs: 500, hard: true, needsRestart: false, assumeGrantedOnTimeout: true });
    // A permission left out of `order` still carries its settings; it is just not part of the pipeline.
    expect(s.steps.input_monitoring).toMatchObject({ timeoutMs: 20_000, needsRestart: true });
  });

  it.each(PERMISSION_KINDS.map((kind) => [kind]))('should accept the catalogue kind %s in order and steps, with its catalogue defaults', (kind) => {
    const s = parseConfig(section({ order: [kind], default_step_timeout_s: 9, steps: { [kind]: { poll_interval_s: 3 } } }), 'config.json');
    expect(s.order).toEqual([kind]);
    expect(s.steps[kind]).toEqual({ timeoutMs: 9_000, pollIntervalMs: 3_000, ...PERMISSION_CATALOGUE[kind].defaults });
  });

  it('should give an adopter set its own flags and leave the four of seed 004 as they were', () => {
    const s = parseConfig(
      section({ order: ['camera', 'full_disk_access', 'screen_capture'], steps: { camera: { hard: false, assume_granted_on_timeout: true } } }),
      'config.json',
    );
    expect(s.order).toEqual(['camera', 'full_disk_access', 'screen_capture']);
    expect(s.steps.camera).toMatchObject({ hard: false, needsRestart: false, assumeGrantedOnTimeout: true });
    // Full Disk Access shows only in a new process (macOS offers "Quit & Reopen"): a restart by default.
    expect(s.steps.full_disk_access).toMatchObject({ hard: true, needsRestart: true, assumeGrantedOnTimeout: false });
    expect(s.steps.microphone).toEqual(DEFAULT_SETTINGS.steps.microphone);
  });

  it.each(['node', 'bundle', 'execve'] as const)('should accept the %s strategy', (strategy) => {
    const runtime = { canExecve: true, nodeVersion: '24.0.0' };
    expect(parseConfig(section({ restart: { strategy } }), 'c', { runtime }).restart.strategy).toBe(strategy);
  });
});

describe('CF-2 invalid config', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['a non-object document', [1], '(root)', /JSON object.*`\[1\]` \(array\)/],
    ['a non-object integrations', { integrations: 'x' }, 'integrations', /expected an object/],
    ['a non-object section', { integrations: { permissions_v2: null } }, S, /expected an object, got `null`/],
    ['an unknown key in the section', section({ poll_interval: 1 }), `${S}.poll_interval`, /unknown key \(did you mean `poll_interval_s`\?\)/],
    ['an unknown permission in order', section({ order: ['microphone', 'webcam'] }), `${S}.order[1]`, /permission name.*`"webcam"` \(string\)/],
    ['an unknown permission in order, listing the known ones', section({ order: ['webcam'] }), `${S}.order[0]`, /one of `microphone`, `accessibility`, `input_monitoring`, `screen_capture`, `camera`, `full_disk_access`, `contacts`, `calendar`, `reminders`, `photos`, `location`, `speech_recognition`, `bluetooth`, `music_library`, got `"webcam"`/],
    ['a typo of a catalogue kind in order', section({ order: ['full_disk'] }), `${S}.order[0]`, /did you mean `full_disk_access`/],
    ['a typo in order', section({ order: ['micropone'] }), `${S}.order[0]`, /did you mean `microphone`/],
    ['a duplicate in order', section({ order: ['microphone', 'microphone'] }), `${S}.order[1]`, /duplicate permission `microphone` \(already at .*order\[0\]\)/],
    ['a non-array order', section({ order: 'microphone' }), `${S}.order`, /expected an array/],
    ['an unknown permission in steps', section({ steps: { webcam: {} } }), `${S}.steps.webcam`, /unknown permission name.*expected one of `microphone`.*`music_library`/],
    ['an unknown step key', section({ steps: { microphone: { timeout: 3 } } }), `${S}.steps.microphone.timeout`, /did you mean `timeout_s`/],
    ['a non-object step', section({ steps: { microphone: 5 } }), `${S}.steps.microphone`, /expected an object, got `5` \(number\)/],
    ['a negative step timeout', section({ steps: { microphone: { timeout_s: -1 } } }), `${S}.steps.microphone.timeout_s`, /greater than 0.*got `-1` \(number\)/],
    ['a zero default timeout', section({ default_step_timeout_s: 0 }), `${S}.default_step_timeout_s`, /greater than 0 and at most 3600, got `0`/],
    ['an absurd timeout', section({ default_step_timeout_s: 15000 }), `${S}.default_step_timeout_s`, /at most 3600, got `15000`/],
    ['a string timeout', section({ default_step_timeout_s: '15' }), `${S}.default_step_timeout_s`, /got `"15"` \(string\)/],
    ['a zero poll interval', section({ poll_interval_s: 0 }), `${S}.poll_interval_s`, /greater than 0/],
    ['a poll interval above the timeout', section({ poll_interval_s: 20 }), `${S}.poll_interval_s`, /at most the default step timeout \(15 s\)/],
    ['a step poll above the step timeout', section({ steps: { microphone: { timeout_s: 1, poll_interval_s: 2 } } }), `${S}.steps.microphone.poll_interval_s`, /at most its timeout \(1 s\)/],
    ['a step timeout below the inherited poll', section({ poll_interval_s: 5, steps: { microphone: { timeout_s: 2 } } }), `${S}.steps.microphone.timeout_s`, /from integrations\.permissions_v2\.poll_interval_s/],
    ['a string boolean', section({ enabled: 'true' }), `${S}.enabled`, /expected `true` or `false`, got `"true"` \(string\)/],
    ['a fractional confirm_retries', section({ confirm_retries: 1.5 }), `${S}.confirm_retries`, /integer from 0 to 10/],
    ['too many confirm_retries', section({ confirm_retries: 11 }), `${S}.confirm_retries`, /integer from 0 to 10, got `11`/],
    ['a negative confirm interval', section({ confirm_interval_s: -2 }), `${S}.confirm_interval_s`, /from 0 to 600/],
    ['an unknown strategy', section({ restart: { strategy: 'exec' } }), `${S}.restart.strategy`, /one of `node`, `bundle`, `execve`, got `"exec"` \(string\) \(did you mean `execve`\?\)/],
    ['a delay over 600 s', section({ restart: { delay_sec: 601 } }), `${S}.restart.delay_sec`, /from 0 to 600/],
    ['a zero handoff timeout', section({ restart: { handoff_timeout_s: 0 } }), `${S}.restart.handoff_timeout_s`, /from 0\.5 to 600/],
    ['a handoff timeout no hand-off can meet', section({ restart: { handoff_timeout_s: 0.0004 } }), `${S}.restart.handoff_timeout_s`, /from 0\.5 to 600 \(a hand-off starts a new process.*got `0\.0004`/],
    ['a negative max_defer_s', section({ restart: { max_defer_s: -1 } }), `${S}.restart.max_defer_s`, /from 0 to 3600, got `-1`/],
    ['an absurd max_defer_s', section({ restart: { max_defer_s: 86_400 } }), `${S}.restart.max_defer_s`, /from 0 to 3600/],
    ['an unknown restart key', section({ restart: { delay: 3 } }), `${S}.restart.delay`, /did you mean `delay_sec`/],
    ['an odd key', section({ 'a.b': 1 }), `${S}["a.b"]`, /unknown key/],
  ])('should refuse %s', (_label, raw, path, message) => {
    const problems = problemsOf(raw);
    const problem = problems.find((p) => p.path === path);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem?.message).toMatch(message);
  });

  it('should list every problem at once, each by key path', () => {
    const problems = problemsOf(
      section({
        enabled: 1,
        order: ['microphone', 'webcam', 'microphone'],
        steps: { microphone: { timeout_s: 0, hard: 'yes' }, screen: {} },
        restart: { strategy: 'fork', handoff_timeout_s: 900 },
        typo: true,
      }),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        `${S}.enabled`,
        `${S}.order[1]`,
        `${S}.order[2]`,
        `${S}.steps.microphone.timeout_s`,
        `${S}.steps.microphone.hard`,
        `${S}.steps.screen`,
        `${S}.restart.strategy`,
        `${S}.restart.handoff_timeout_s`,
        `${S}.typo`,
      ].sort(),
    );
  });

  it('should name the file, the paths and the values in the message', () => {
    try {
      parseConfig(section({ steps: { microphone: { timeout_s: -5 } } }), '/etc/app/config.json');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const e = error as ConfigError;
      expect(e.code).toBe('ERR_CONFIG');
      expect(e.file).toBe('/etc/app/config.json');
      expect(e.message).toContain('/etc/app/config.json: integrations.permissions_v2.steps.microphone.timeout_s');
      expect(e.message).toContain('`-5` (number)');
    }
  });

  it('should not be fooled by inherited property names', () => {
    expect(parseConfig(section(JSON.parse('{"steps": {}}')), 'c')).toEqual(DEFAULT_SETTINGS);
    expect(problemsOf(section(JSON.parse('{"__proto__": {"enabled": false}}')))[0]?.path).toBe(`${S}.__proto__`);
    expect(problemsOf(section({ steps: { constructor: {} } }))[0]?.path).toBe(`${S}.steps.constructor`);
  });
});

describe('CF-1 environment switches', () => {
  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    [' On ', true],
    ['0', false],
    ['false', false],
    ['No', false],
    ['off', false],
    ['', false],
  ])('should read %j as %s', (value, expected) => {
    const s = parseConfig(undefined, 'c', { env: { NEXY_DISABLE_AUTO_RESTART: value, NEXY_KS_FIRST_RUN_RESTART: value } });
    expect(s.dryRun).toBe(expected);
    expect(s.killSwitch).toBe(expected);
  });

  it('should leave both off when unset', () => {
    expect(parseConfig(undefined, 'c', { env: {} })).toMatchObject({ dryRun: false, killSwitch: false });
  });

  it.each(['NEXY_DISABLE_AUTO_RESTART', 'NEXY_KS_FIRST_RUN_RESTART'])('should refuse an unclear value of %s, naming it', (name) => {
    const problems = problemsOf(undefined, { [name]: 'maybe' });
    expect(problems).toEqual([{ path: `env.${name}`, message: expect.stringMatching(new RegExp(`${name}.*got \`"maybe"\``)) }]);
  });

  it('should list env problems with config problems', () => {
    const problems = problemsOf(section({ enabled: 'no' }), { NEXY_KS_FIRST_RUN_RESTART: '2' });
    expect(problems.map((p) => p.path)).toEqual([`${S}.enabled`, 'env.NEXY_KS_FIRST_RUN_RESTART']);
  });
});

describe('CF-2 values that validate but cannot work (issue 10.11)', () => {
  it('should refuse strategy execve on a Node without process.execve, naming the key and the version', () => {
    const raw = section({ restart: { strategy: 'execve' } });
    let problems: { path: string; message: string }[] = [];
    try {
      parseConfig(raw, 'c', { runtime: { canExecve: false, nodeVersion: '20.20.0' } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = [...(error as ConfigError).problems];
    }
    expect(problems).toEqual([{ path: `${S}.restart.strategy`, message: expect.stringMatching(/process\.execve.*Node 20\.20\.0; use `node` or `bundle`/) }]);
    expect(parseConfig(raw, 'c', { runtime: { canExecve: true, nodeVersion: '24.0.0' } }).restart.strategy).toBe('execve');
  });

  it('should judge execve by this process when no runtime is given', () => {
    const raw = section({ restart: { strategy: 'execve' } });
    if (typeof (process as { execve?: unknown }).execve === 'function') expect(parseConfig(raw, 'c').restart.strategy).toBe('execve');
    else expect(problemsOf(raw).map((p) => p.path)).toEqual([`${S}.restart.strategy`]);
  });

  it('should accept the smallest hand-off timeout and read max_defer_s in ms', () => {
    const s = parseConfig(section({ restart: { handoff_timeout_s: 0.5, max_defer_s: 12.5 } }), 'c');
    expect(s.restart).toMatchObject({ handoffTimeoutMs: 500, maxDeferMs: 12_500 });
    expect(DEFAULT_SETTINGS.restart.maxDeferMs).toBe(300_000);
  });
});

describe('13.9 the legacy key permissions.first_run.max_wait_sec', () => {
  it('should be refused by its own path, naming the key that replaced it', () => {
    const problems = problemsOf({ permissions: { first_run: { max_wait_sec: 30 } }, integrations: { permissions_v2: {} } });
    expect(problems).toEqual([
      {
        path: 'permissions.first_run.max_wait_sec',
        message: expect.stringMatching(/no longer read \(got `30` \(number\)\); set integrations\.permissions_v2\.default_step_timeout_s/),
      },
    ]);
  });

  it('should leave the rest of the old permissions section alone', () => {
    expect(parseConfig({ permissions: { first_run: { batch_size: 2 } } }, 'c')).toEqual(DEFAULT_SETTINGS);
  });
});

describe('13.8 NEXY_DEV_FORCE_PERMISSIONS', () => {
  it('should be off by default, and on when set outside a packaged app', () => {
    expect(parseConfig(undefined, 'c', { env: {} }).devForcePermissions).toBe(false);
    expect(parseConfig(undefined, 'c', { env: { NEXY_DEV_FORCE_PERMISSIONS: '1' } }).devForcePermissions).toBe(true);
    expect(parseConfig(undefined, 'c', { env: { NEXY_DEV_FORCE_PERMISSIONS: '0' }, packaged: true }).devForcePermissions).toBe(false);
  });

  it('should be refused in a packaged app, naming the variable', () => {
    try {
      parseConfig(undefined, 'c', { env: { NEXY_DEV_FORCE_PERMISSIONS: 'yes' }, packaged: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        { path: 'env.NEXY_DEV_FORCE_PERMISSIONS', message: expect.stringMatching(/development switch.*refused in a packaged app; unset it/) },
      ]);
    }
  });

  it('should refuse an unclear value like the other switches', () => {
    expect(problemsOf(undefined, { NEXY_DEV_FORCE_PERMISSIONS: 'maybe' }).map((p) => p.path)).toEqual(['env.NEXY_DEV_FORCE_PERMISSIONS']);
  });
});

describe('settingsToConfigJson', () => {
  it('should round-trip the defaults', () => {
    expect(parseConfig(settingsToConfigJson(DEFAULT_SETTINGS), 'c')).toEqual(DEFAULT_SETTINGS);
  });

  it('should round-trip any valid settings (property)', () => {
    const seconds = fc.integer({ min: 1, max: 3600 });
    fc.assert(
      fc.property(
        fc.record({
          enabled: fc.boolean(),
          confirm_retries: fc.integer({ min: 0, max: 10 }),
          order: fc.shuffledSubarray([...PERMISSIONS]),
          timeout: seconds,
          mic: fc.record({ timeout_s: seconds, hard: fc.boolean() }),
          strategy: fc.constantFrom('node', 'bundle', 'execve'),
          delay_sec: fc.integer({ min: 0, max: 600 }),
        }),
        (c) => {
          const runtime = { canExecve: true, nodeVersion: '24.0.0' };
          const settings = parseConfig(
            section({
              enabled: c.enabled,
              confirm_retries: c.confirm_retries,
              order: c.order,
              default_step_timeout_s: c.timeout,
              steps: { microphone: c.mic },
              restart: { strategy: c.strategy, delay_sec: c.delay_sec, max_defer_s: c.delay_sec },
            }),
            'c',
            { runtime },
          );
          expect(parseConfig(settingsToConfigJson(settings), 'c', { runtime })).toEqual(settings);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('§3 invariant 5: no config crashes the parser', () => {
  const isClear = (error: unknown): boolean =>
    error instanceof ConfigError &&
    error.problems.length > 0 &&
    error.problems.every((p) => p.path.length > 0 && p.message.length > 0);

  it('should return settings or a ConfigError for any JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        try {
          parseConfig(raw, 'c');
        } catch (error) {
          expect(isClear(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('should return settings or a ConfigError for any near-valid section (property)', () => {
    const key = fc.constantFrom('enabled', 'advance_on_timeout', 'default_step_timeout_s', 'poll_interval_s', 'confirm_retries', 'confirm_interval_s', 'order', 'steps', 'restart', 'bogus');
    const leaf = fc.jsonValue({ maxDepth: 2 });
    const value = fc.oneof(
      leaf,
      fc.array(fc.constantFrom(...PERMISSION_KINDS, 'webcam')),
      fc.dictionary(fc.constantFrom(...PERMISSION_KINDS, 'x'), fc.dictionary(fc.constantFrom('timeout_s', 'hard', 'poll_interval_s', 'y'), leaf)),
      fc.dictionary(fc.constantFrom('delay_sec', 'strategy', 'handoff_timeout_s', 'z'), leaf),
      fc.double(),
    );
    fc.assert(
      fc.property(fc.dictionary(key, value), fc.dictionary(fc.constantFrom('NEXY_DISABLE_AUTO_RESTART', 'NEXY_KS_FIRST_RUN_RESTART', 'OTHER'), fc.string()), (v2, env) => {
        try {
          const s = parseConfig(section(v2), 'c', { env });
          expect(s.order.length).toBeLessThanOrEqual(PERMISSION_KINDS.length);
        } catch (error) {
          expect(isClear(error)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('should describe a value nested too deeply to print', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const problems = problemsOf(section({ enabled: deep }));
    expect(problems[0]?.message).toMatch(/deeply nested array/);
  });
});
