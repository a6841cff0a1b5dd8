/**
 * The simulated TCC database (SPEC §4): its JSON format, its validation, and the pure rules that turn
 * the file plus a clock into a status. No I/O here; `sim-backend.ts` reads and writes the file.
 * The format, every key and its default are documented in docs/sim-backend.md.
 */
import { ScenarioError } from '../errors.js';
import { PERMISSION_CATALOGUE, PERMISSION_KINDS } from '../../machines/permissions.js';
import { PERMISSION_STATUSES, type PermissionName, type PermissionStatus } from '../../machines/types.js';
import {
  ProblemList,
  checkKeys,
  describe,
  isRecord,
  keyPath,
  own,
  readBoolean,
  readChoice,
  readNumber,
  readRecord,
  type NumberRule,
} from '../config/validate.js';

/** What the simulated user does: grant, deny, or never answer. */
export const SIM_RESULTS = ['granted', 'denied', 'none'] as const;
export type SimResult = (typeof SIM_RESULTS)[number];
/** When an answer shows: in every process at once, or only in processes started after it (Screen Recording). */
export const SIM_EFFECTS = ['immediate', 'after_restart'] as const;
export type SimEffective = (typeof SIM_EFFECTS)[number];
/** Where a recorded answer came from. */
export type SimAnswerSource = 'request' | 'settings';

/** The largest `after_ms` / `block_ms`: 10 minutes. */
export const SIM_MAX_DELAY_MS = 600_000;

/** What the user does after a prompt (`on_request`) or after System Settings is opened (`on_settings`). */
export interface SimAnswer {
  /** @default 'none' (the user never answers) */
  result: SimResult;
  /** Milliseconds after the prompt / the opening of Settings. @default 0 */
  afterMs: number;
  /** @default 'immediate' */
  effective: SimEffective;
  /**
   * macOS shows its own "Quit & Reopen" button with the change (Screen Recording, Input Monitoring) and the
   * user clicks it: an unplanned restart outside our flow (FR-6). @default false
   */
  quitAndReopen: boolean;
}

/**
 * How the native request call behaves when a prompt is shown (FR-6, MACOS-NOTES):
 * `normal` returns at once; `hang` never settles (`askForMicrophoneAccess` with an ignored prompt) and
 * the user never answers; `{ blockMs }` blocks its thread for that long (`IOHIDRequestAccess`).
 */
export type SimActivation = 'normal' | 'hang' | { blockMs: number };

/** One permission's scenario, defaults applied. */
export interface SimPermission {
  /** The status before anything happens. @default 'not_determined' */
  status: PermissionStatus;
  onRequest: SimAnswer;
  onSettings: SimAnswer;
  /**
   * Whether `not_determined` is reported as such. `false` reads it as `denied`, as real TCC does for
   * Accessibility and Screen Recording (and `node-mac-permissions` 2.5.0 for Full Disk Access and Location).
   * @default the kind's catalogue entry: false for accessibility, screen_capture, full_disk_access and
   * location, true for the others
   */
  reportNotDetermined: boolean;
  /** @default 'normal' */
  activation: SimActivation;
}

/** An answer recorded in the database by a request or an opening of Settings (snake_case: the file's record). */
export interface SimRecordedAnswer {
  source: SimAnswerSource;
  /** Epoch ms when the answer lands (may be in the future: the user has not answered yet). */
  answer_at: number;
  result: 'granted' | 'denied';
  effective: SimEffective;
  quit_and_reopen: boolean;
}

/** What the backend has recorded for one permission (the file's `state.<name>`, snake_case). */
export interface SimPermissionState {
  /** Epoch ms of the first `activate` call, `null` when never requested. */
  requested_at: number | null;
  /** How many times `activate` was called. */
  request_count: number;
  /** Whether the system prompt was shown (at most once, ever). */
  prompted: boolean;
  /** Epoch ms of the first `openSettings` call, `null` when never opened. */
  settings_opened_at: number | null;
  /** Answers in the order they were recorded. */
  answers: SimRecordedAnswer[];
  /** Epoch ms when a process claimed the "Quit & Reopen" of an answer; `null` when none was. */
  reopen_claimed_at: number | null;
}

/** A validated scenario with defaults applied. */
export interface SimScenario {
  description: string | null;
  permissions: Record<PermissionName, SimPermission>;
  state: Record<PermissionName, SimPermissionState>;
}

/** The file's JSON shape, as written by hand (every key optional except where noted). */
export interface SimAnswerJson {
  result: SimResult;
  after_ms?: number;
  effective?: SimEffective;
  quit_and_reopen?: boolean;
}
export interface SimPermissionJson {
  status?: PermissionStatus;
  on_request?: SimAnswerJson;
  on_settings?: SimAnswerJson;
  report_not_determined?: boolean;
  activation?: 'normal' | 'hang' | { block_ms: number };
}
export interface ScenarioJson {
  description?: string;
  permissions?: Partial<Record<PermissionName, SimPermissionJson>>;
  state?: Partial<Record<PermissionName, Partial<SimPermissionState>>>;
}

/** The example of SPEC §4, used by `first-run demo`. */
export const DEMO_SCENARIO: ScenarioJson = Object.freeze({
  permissions: {
    microphone: { status: 'not_determined', on_request: { result: 'granted', after_ms: 200 } },
    accessibility: { status: 'denied', on_settings: { result: 'granted', after_ms: 500 } },
    input_monitoring: { status: 'granted' },
    screen_capture: {
      status: 'not_determined',
      on_request: { result: 'granted', after_ms: 300, effective: 'after_restart' },
    },
  },
}) as ScenarioJson;

/**
 * A scenario in which each kind of `kinds` behaves as its catalogue entry says macOS does: never asked
 * at first; a kind with a prompt is answered `result` at the prompt (a change in System Settings too),
 * a Settings-only kind (Accessibility, Full Disk Access, Location, Bluetooth) is answered in the pane;
 * a grant shows at once or only in a new process as the kind's `grantVisible` says (a Settings change of
 * a `prompt_only` kind, like the microphone, only in a new process).
 * @example writeScenario(file, catalogueScenario(['camera', 'full_disk_access', 'screen_capture']))
 */
export function catalogueScenario(
  kinds: readonly PermissionName[],
  answer: { result?: Exclude<SimResult, 'none'>; afterMs?: number } = {},
): ScenarioJson {
  const result = answer.result ?? 'granted';
  const afterMs = answer.afterMs ?? 50;
  const permissions: Partial<Record<PermissionName, SimPermissionJson>> = {};
  for (const name of kinds) {
    const kind = PERMISSION_CATALOGUE[name];
    const inSettings: SimAnswerJson = {
      result,
      after_ms: afterMs,
      effective: kind.grantVisible === 'live' ? 'immediate' : 'after_restart',
    };
    permissions[name] =
      kind.ask === 'settings_only'
        ? { status: 'not_determined', on_settings: inSettings }
        : {
            status: 'not_determined',
            on_request: { result, after_ms: afterMs, effective: kind.grantVisible === 'after_restart' ? 'after_restart' : 'immediate' },
            on_settings: inSettings,
          };
  }
  return { description: `catalogue behaviour of ${kinds.join(', ')}`, permissions };
}

const TOP_KEYS = ['description', 'permissions', 'state'] as const;
const PERMISSION_KEYS = ['status', 'on_request', 'on_settings', 'report_not_determined', 'activation'] as const;
const ANSWER_KEYS = ['result', 'after_ms', 'effective', 'quit_and_reopen'] as const;
const STATE_KEYS = ['requested_at', 'request_count', 'prompted', 'settings_opened_at', 'answers', 'reopen_claimed_at'] as const;
const RECORDED_KEYS = ['source', 'answer_at', 'result', 'effective', 'quit_and_reopen'] as const;

const DELAY: NumberRule = { expected: `an integer number of milliseconds from 0 to ${SIM_MAX_DELAY_MS}`, min: 0, max: SIM_MAX_DELAY_MS, integer: true };
const EPOCH: NumberRule = { expected: 'an epoch time in milliseconds (a number ≥ 0)', min: 0, max: 8.64e15 };
const COUNT: NumberRule = { expected: 'an integer ≥ 0', min: 0, max: Number.MAX_SAFE_INTEGER, integer: true };

/** The defaults of one permission absent from the file: never asked, and the user never answers. */
export function defaultSimPermission(name: PermissionName): SimPermission {
  const silent: SimAnswer = { result: 'none', afterMs: 0, effective: 'immediate', quitAndReopen: false };
  return {
    status: 'not_determined',
    onRequest: { ...silent },
    onSettings: { ...silent },
    reportNotDetermined: PERMISSION_CATALOGUE[name].readsNotDetermined,
    activation: 'normal',
  };
}

/** An empty record: nothing requested, nothing answered. */
export function emptySimState(): SimPermissionState {
  return { requested_at: null, request_count: 0, prompted: false, settings_opened_at: null, answers: [], reopen_claimed_at: null };
}

/**
 * Validate a simulated TCC database and apply the defaults. Every problem is collected and reported by
 * key path. A permission absent from `permissions` is `not_determined` and the user never answers.
 * @throws ScenarioError listing every problem.
 */
export function parseScenario(raw: unknown, fileLabel: string): SimScenario {
  const problems = new ProblemList();
  const scenario = resolveScenario(raw, problems);
  if (problems.size > 0) throw new ScenarioError(fileLabel, problems.items);
  return scenario;
}

function resolveScenario(raw: unknown, problems: ProblemList): SimScenario {
  const permissions = {} as Record<PermissionName, SimPermission>;
  const state = {} as Record<PermissionName, SimPermissionState>;
  for (const name of PERMISSION_KINDS) {
    permissions[name] = defaultSimPermission(name);
    state[name] = emptySimState();
  }
  const scenario: SimScenario = { description: null, permissions, state };
  if (!isRecord(raw)) {
    problems.add('', `expected the simulated TCC database to be a JSON object like {"permissions": {...}}, got ${describe(raw)}`);
    return scenario;
  }
  checkKeys(raw, TOP_KEYS, '', problems);
  const description = own(raw, 'description');
  if (description !== undefined) {
    if (typeof description === 'string') scenario.description = description;
    else problems.add('description', `expected a string, got ${describe(description)}`);
  }
  const perms = readRecord(raw, 'permissions', '', problems);
  if (perms !== undefined) {
    checkKeys(perms, PERMISSION_KINDS, 'permissions', problems, 'permission name');
    for (const name of PERMISSION_KINDS) {
      const record = readRecord(perms, name, 'permissions', problems);
      if (record !== undefined) readPermission(record, keyPath('permissions', name), permissions[name], problems);
    }
  }
  const states = readRecord(raw, 'state', '', problems);
  if (states !== undefined) {
    checkKeys(states, PERMISSION_KINDS, 'state', problems, 'permission name');
    for (const name of PERMISSION_KINDS) {
      const record = readRecord(states, name, 'state', problems);
      if (record !== undefined) readState(record, keyPath('state', name), state[name], problems);
    }
  }
  return scenario;
}

function readPermission(record: Record<string, unknown>, at: string, into: SimPermission, problems: ProblemList): void {
  checkKeys(record, PERMISSION_KEYS, at, problems);
  into.status = readChoice(record, 'status', at, PERMISSION_STATUSES, problems) ?? into.status;
  const onRequest = readRecord(record, 'on_request', at, problems);
  if (onRequest !== undefined) into.onRequest = readAnswer(onRequest, keyPath(at, 'on_request'), problems);
  const onSettings = readRecord(record, 'on_settings', at, problems);
  if (onSettings !== undefined) into.onSettings = readAnswer(onSettings, keyPath(at, 'on_settings'), problems);
  into.reportNotDetermined = readBoolean(record, 'report_not_determined', at, problems) ?? into.reportNotDetermined;
  const activation = own(record, 'activation');
  if (activation === undefined) return;
  const activationAt = keyPath(at, 'activation');
  if (activation === 'normal' || activation === 'hang') {
    into.activation = activation;
  } else if (isRecord(activation)) {
    checkKeys(activation, ['block_ms'], activationAt, problems);
    if (own(activation, 'block_ms') === undefined) {
      problems.add(keyPath(activationAt, 'block_ms'), `expected ${DELAY.expected}, got undefined`);
    }
    const blockMs = readNumber(activation, 'block_ms', activationAt, DELAY, problems);
    if (blockMs !== undefined) into.activation = { blockMs };
  } else {
    problems.add(activationAt, `expected \`"normal"\`, \`"hang"\` or \`{ "block_ms": N }\`, got ${describe(activation)}`);
  }
}

function readAnswer(record: Record<string, unknown>, at: string, problems: ProblemList): SimAnswer {
  checkKeys(record, ANSWER_KEYS, at, problems);
  if (own(record, 'result') === undefined) {
    problems.add(keyPath(at, 'result'), 'expected one of `granted`, `denied`, `none` (required), got undefined');
  }
  return {
    result: readChoice(record, 'result', at, SIM_RESULTS, problems) ?? 'none',
    afterMs: readNumber(record, 'after_ms', at, DELAY, problems) ?? 0,
    effective: readChoice(record, 'effective', at, SIM_EFFECTS, problems) ?? 'immediate',
    quitAndReopen: readBoolean(record, 'quit_and_reopen', at, problems) ?? false,
  };
}

function readNullableEpoch(record: Record<string, unknown>, key: string, at: string, problems: ProblemList): number | null | undefined {
  return own(record, key) === null ? null : readNumber(record, key, at, EPOCH, problems);
}

function readState(record: Record<string, unknown>, at: string, into: SimPermissionState, problems: ProblemList): void {
  checkKeys(record, STATE_KEYS, at, problems);
  const requestedAt = readNullableEpoch(record, 'requested_at', at, problems);
  if (requestedAt !== undefined) into.requested_at = requestedAt;
  into.request_count = readNumber(record, 'request_count', at, COUNT, problems) ?? into.request_count;
  into.prompted = readBoolean(record, 'prompted', at, problems) ?? into.prompted;
  const openedAt = readNullableEpoch(record, 'settings_opened_at', at, problems);
  if (openedAt !== undefined) into.settings_opened_at = openedAt;
  const claimedAt = readNullableEpoch(record, 'reopen_claimed_at', at, problems);
  if (claimedAt !== undefined) into.reopen_claimed_at = claimedAt;
  const answers = own(record, 'answers');
  if (answers === undefined) return;
  const answersAt = keyPath(at, 'answers');
  if (!Array.isArray(answers)) {
    problems.add(answersAt, `expected an array of recorded answers, got ${describe(answers)}`);
    return;
  }
  answers.forEach((item: unknown, index) => {
    const itemAt = keyPath(answersAt, index);
    if (!isRecord(item)) {
      problems.add(itemAt, `expected a recorded answer object, got ${describe(item)}`);
      return;
    }
    checkKeys(item, RECORDED_KEYS, itemAt, problems);
    for (const key of ['source', 'answer_at', 'result'] as const) {
      if (own(item, key) === undefined) problems.add(keyPath(itemAt, key), 'required, got undefined');
    }
    const source = readChoice(item, 'source', itemAt, ['request', 'settings'] as const, problems);
    const answerAt = readNumber(item, 'answer_at', itemAt, EPOCH, problems);
    const result = readChoice(item, 'result', itemAt, ['granted', 'denied'] as const, problems);
    const effective = readChoice(item, 'effective', itemAt, SIM_EFFECTS, problems) ?? 'immediate';
    const quitAndReopen = readBoolean(item, 'quit_and_reopen', itemAt, problems) ?? false;
    if (source !== undefined && answerAt !== undefined && result !== undefined) {
      into.answers.push({ source, answer_at: answerAt, result, effective, quit_and_reopen: quitAndReopen });
    }
  });
}

/** Whose eyes a status is read through: the clock, and when the reading process started. */
export interface SimView {
  /** Epoch ms now. */
  now: number;
  /** Epoch ms when the reading process started; `after_restart` answers are seen only by later processes. */
  processStartedAt: number;
}

/** The status of one permission, three ways. */
export interface SimStatus {
  /** What TCC has recorded at `now`, whoever asks. */
  truth: PermissionStatus;
  /** What this process sees (an `after_restart` answer is hidden from processes started before it). */
  visible: PermissionStatus;
  /** What `getStatus` returns: `visible`, with `not_determined` read as `denied` when the permission cannot report it. */
  reported: PermissionStatus;
}

/** Landed answers, oldest first (a stable sort keeps the recording order on ties). */
function landed(state: SimPermissionState, now: number): SimRecordedAnswer[] {
  return state.answers.filter((a) => a.answer_at <= now).sort((a, b) => a.answer_at - b.answer_at);
}

/** Compute a permission's status lazily from the record and the clock (no timers needed). */
export function simStatus(scenario: SimScenario, name: PermissionName, view: SimView): SimStatus {
  const permission = scenario.permissions[name];
  let truth = permission.status;
  let visible = permission.status;
  if (permission.status !== 'restricted') {
    for (const answer of landed(scenario.state[name], view.now)) {
      truth = answer.result;
      if (answer.effective === 'immediate' || view.processStartedAt > answer.answer_at) visible = answer.result;
    }
  }
  const reported = visible === 'not_determined' && !permission.reportNotDetermined ? 'denied' : visible;
  return { truth, visible, reported };
}

/** The latest landed grant's time, or `null`. */
export function simGrantedAt(scenario: SimScenario, name: PermissionName, now: number): number | null {
  let at: number | null = null;
  for (const answer of landed(scenario.state[name], now)) at = answer.result === 'granted' ? answer.answer_at : null;
  return at;
}

/** The first answer recorded but not landed yet, or `null`. */
export function simPendingAnswer(scenario: SimScenario, name: PermissionName, now: number): SimRecordedAnswer | null {
  return scenario.state[name].answers.find((a) => a.answer_at > now) ?? null;
}

/** What an `activate` call did, for the backend to act on (a blocking native call, logs). */
export interface SimActivateEffect {
  /** Whether the system prompt was shown by this call. */
  prompted: boolean;
  /** The activation behaviour to reproduce; only meaningful when `prompted`. */
  activation: SimActivation;
}

/**
 * Apply an `activate` to the record (mutates `scenario.state`). A prompt shows only from a true
 * `not_determined`, only once ever; `restricted` never changes. The prompt schedules `on_request`,
 * unless the user never answers (`result: none`) or the native call hangs (`activation: hang`).
 */
export function simActivate(scenario: SimScenario, name: PermissionName, now: number): SimActivateEffect {
  const state = scenario.state[name];
  const permission = scenario.permissions[name];
  state.request_count += 1;
  state.requested_at ??= now;
  const { truth } = simStatus(scenario, name, { now, processStartedAt: now });
  if (PERMISSION_CATALOGUE[name].ask === 'settings_only') {
    // Like askForAccessibilityAccess() / askForFullDiskAccess() (and a kind with no ask call): no system
    // prompt ever; the request opens System Settings when not granted.
    if (truth !== 'granted' && permission.status !== 'restricted') simOpenSettings(scenario, name, now);
    return { prompted: false, activation: permission.activation };
  }
  if (state.prompted || truth !== 'not_determined' || permission.status === 'restricted') {
    return { prompted: false, activation: permission.activation };
  }
  state.prompted = true;
  const answer = permission.onRequest;
  if (answer.result !== 'none' && permission.activation !== 'hang') {
    state.answers.push({
      source: 'request',
      answer_at: now + answer.afterMs,
      result: answer.result,
      effective: answer.effective,
      quit_and_reopen: answer.quitAndReopen,
    });
  }
  return { prompted: true, activation: permission.activation };
}

/**
 * Apply an `openSettings` (mutates `scenario.state`). `on_settings` is what the user does the first time
 * the pane is opened while the permission is not granted (and not restricted); later openings only
 * record nothing new, so a scenario plays out the same however often the orchestrator opens the pane.
 * @returns whether an answer was scheduled.
 */
export function simOpenSettings(scenario: SimScenario, name: PermissionName, now: number): boolean {
  const state = scenario.state[name];
  const permission = scenario.permissions[name];
  const first = state.settings_opened_at === null;
  state.settings_opened_at ??= now;
  if (!first || permission.status === 'restricted') return false;
  const { truth } = simStatus(scenario, name, { now, processStartedAt: now });
  if (truth === 'granted') return false;
  const answer = permission.onSettings;
  if (answer.result === 'none') return false;
  state.answers.push({
    source: 'settings',
    answer_at: now + answer.afterMs,
    result: answer.result,
    effective: answer.effective,
    quit_and_reopen: answer.quitAndReopen,
  });
  return true;
}

/** The state section as it is written back to the file (only permissions with something recorded). */
export function simStateToJson(scenario: SimScenario): Partial<Record<PermissionName, SimPermissionState>> {
  const out: Partial<Record<PermissionName, SimPermissionState>> = {};
  for (const name of PERMISSION_KINDS) {
    const state = scenario.state[name];
    const touched =
      state.requested_at !== null || state.request_count > 0 || state.prompted || state.settings_opened_at !== null || state.answers.length > 0 || state.reopen_claimed_at !== null;
    if (touched) out[name] = structuredClone(state);
  }
  return out;
}
