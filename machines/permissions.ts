/**
 * The permission catalogue: every macOS privacy permission the product can walk, as data. One place
 * for what each kind is called (in the config and in `node-mac-permissions`), how macOS asks for it,
 * where its System Settings pane is, whether a grant shows in the running process, and its step
 * defaults. The machines read the traits they route on from here; the config, the backends and the
 * testing kit read the rest. Pure data: nothing here touches I/O.
 *
 * Facts come from `node-mac-permissions` 2.5.0's source (`permissions.mm`, `index.js`, `index.d.ts`),
 * MACOS-NOTES.md and the pages named in docs/first-run-flow.md ("The permission catalogue"), where
 * each one is sourced or marked unverified.
 */

/** Every permission kind, named as in the config (snake_case). The first four are seed 004's set. */
export const PERMISSION_KINDS = [
  'microphone',
  'accessibility',
  'input_monitoring',
  'screen_capture',
  'camera',
  'full_disk_access',
  'contacts',
  'calendar',
  'reminders',
  'photos',
  'location',
  'speech_recognition',
  'bluetooth',
  'music_library',
] as const;
export type PermissionName = (typeof PERMISSION_KINDS)[number];

/** The set and order of seed 004 (FR-5): the pipeline's default `order`. */
export const DEFAULT_PERMISSIONS = ['microphone', 'accessibility', 'input_monitoring', 'screen_capture'] as const satisfies readonly PermissionName[];
export type DefaultPermissionName = (typeof DEFAULT_PERMISSIONS)[number];

/**
 * How macOS asks for a permission:
 * - `prompt` — a system prompt whose answer the status shows (the call settles only when the user answers);
 * - `prompt_no_answer` — a system prompt, but the call tells nothing (Input Monitoring resolves `denied`
 *   whatever the user does; Screen Recording returns nothing and prompts once ever);
 * - `settings_only` — no prompt exists: the request opens (or can only open) the System Settings pane.
 */
export const ASK_STYLES = ['prompt', 'prompt_no_answer', 'settings_only'] as const;
export type AskStyle = (typeof ASK_STYLES)[number];

/**
 * Whether a grant shows in the process that asked:
 * - `live` — at once;
 * - `prompt_only` — a grant from the prompt at once, a change made in System Settings only in a new process;
 * - `after_restart` — only in a new process (macOS offers "Quit & Reopen").
 */
export const GRANT_VISIBILITIES = ['live', 'prompt_only', 'after_restart'] as const;
export type GrantVisibility = (typeof GRANT_VISIBILITIES)[number];

/** The `node-mac-permissions` function that asks for a kind, with its arguments. */
export interface MacAsk {
  call:
    | 'askForMicrophoneAccess'
    | 'askForAccessibilityAccess'
    | 'askForInputMonitoringAccess'
    | 'askForScreenCaptureAccess'
    | 'askForCameraAccess'
    | 'askForFullDiskAccess'
    | 'askForContactsAccess'
    | 'askForCalendarAccess'
    | 'askForRemindersAccess'
    | 'askForPhotosAccess'
    | 'askForLocationAccess'
    | 'askForSpeechRecognitionAccess'
    | 'askForMusicLibraryAccess';
  args: ReadonlyArray<string | boolean>;
}

/** One entry of the catalogue. */
export interface PermissionKind {
  /** The config name. */
  name: PermissionName;
  /** `node-mac-permissions`' `getAuthStatus` type. */
  macAuthType: string;
  /** The call that asks; `null` when the package has none (the backend opens the pane instead). */
  macAsk: MacAsk | null;
  ask: AskStyle;
  /**
   * Whether the status can read `not_determined`. `false`: a first `denied` may mean "never asked", so
   * whether a request was made is remembered in the ledger (FR-6) and a `denied` right after a request
   * is not taken as the user's answer.
   */
  readsNotDetermined: boolean;
  /** The anchor of its System Settings pane (`…com.apple.preference.security?<pane>`). */
  settingsPane: string;
  grantVisible: GrantVisibility;
  /**
   * Status strings of `getAuthStatus` beyond the four every kind shares, and what they mean
   * (Photos' `limited`: the user granted access to a part of the library).
   */
  extraMacStatuses?: Readonly<Record<string, 'granted'>>;
  /** The step flags when the config does not set them (`hard`, `needs_restart`, `assume_granted_on_timeout`). */
  defaults: { hard: boolean; needsRestart: boolean; assumeGrantedOnTimeout: boolean };
}

/** The System Settings deep link of a pane anchor. */
export function settingsUrl(pane: string): string {
  return `x-apple.systempreferences:com.apple.preference.security?${pane}`;
}

const step = (needsRestart: boolean, assumeGrantedOnTimeout = false) => ({ hard: true, needsRestart, assumeGrantedOnTimeout });

/** The catalogue, by kind. See docs/first-run-flow.md for the sources of every entry. */
export const PERMISSION_CATALOGUE = {
  microphone: {
    name: 'microphone',
    macAuthType: 'microphone',
    macAsk: { call: 'askForMicrophoneAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Microphone',
    grantVisible: 'prompt_only',
    // A microphone grant can read stale until a new process: timing out on it is assumed a grant (FR-4).
    defaults: step(false, true),
  },
  accessibility: {
    name: 'accessibility',
    macAuthType: 'accessibility',
    macAsk: { call: 'askForAccessibilityAccess', args: [] },
    ask: 'settings_only',
    readsNotDetermined: false,
    settingsPane: 'Privacy_Accessibility',
    grantVisible: 'live',
    defaults: step(false),
  },
  input_monitoring: {
    name: 'input_monitoring',
    macAuthType: 'input-monitoring',
    macAsk: { call: 'askForInputMonitoringAccess', args: ['listen'] },
    ask: 'prompt_no_answer',
    readsNotDetermined: true,
    settingsPane: 'Privacy_ListenEvent',
    grantVisible: 'after_restart',
    defaults: step(true),
  },
  screen_capture: {
    name: 'screen_capture',
    macAuthType: 'screen',
    // `false`: opening System Settings is the machine's decision (`openSettings` on `denied`).
    macAsk: { call: 'askForScreenCaptureAccess', args: [false] },
    ask: 'prompt_no_answer',
    readsNotDetermined: false,
    settingsPane: 'Privacy_ScreenCapture',
    grantVisible: 'after_restart',
    defaults: step(true),
  },
  camera: {
    name: 'camera',
    macAuthType: 'camera',
    macAsk: { call: 'askForCameraAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Camera',
    grantVisible: 'prompt_only',
    defaults: step(false),
  },
  full_disk_access: {
    name: 'full_disk_access',
    macAuthType: 'full-disk-access',
    macAsk: { call: 'askForFullDiskAccess', args: [] },
    ask: 'settings_only',
    readsNotDetermined: false,
    settingsPane: 'Privacy_AllFiles',
    grantVisible: 'after_restart',
    defaults: step(true),
  },
  contacts: {
    name: 'contacts',
    macAuthType: 'contacts',
    macAsk: { call: 'askForContactsAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Contacts',
    grantVisible: 'live',
    defaults: step(false),
  },
  calendar: {
    name: 'calendar',
    macAuthType: 'calendar',
    // `full`: on macOS 14 a write-only grant reads `not determined` through getAuthStatus('calendar').
    macAsk: { call: 'askForCalendarAccess', args: ['full'] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Calendars',
    grantVisible: 'live',
    defaults: step(false),
  },
  reminders: {
    name: 'reminders',
    macAuthType: 'reminders',
    macAsk: { call: 'askForRemindersAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Reminders',
    grantVisible: 'live',
    defaults: step(false),
  },
  photos: {
    name: 'photos',
    macAuthType: 'photos-read-write',
    macAsk: { call: 'askForPhotosAccess', args: ['read-write'] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Photos',
    grantVisible: 'live',
    extraMacStatuses: { limited: 'granted' },
    defaults: step(false),
  },
  location: {
    name: 'location',
    macAuthType: 'location',
    // 2.5.0 reads "not determined" as `denied`, so this call only ever opens the pane.
    macAsk: { call: 'askForLocationAccess', args: ['always'] },
    ask: 'settings_only',
    readsNotDetermined: false,
    settingsPane: 'Privacy_Location',
    grantVisible: 'live',
    defaults: step(false),
  },
  speech_recognition: {
    name: 'speech_recognition',
    macAuthType: 'speech-recognition',
    macAsk: { call: 'askForSpeechRecognitionAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_SpeechRecognition',
    grantVisible: 'live',
    defaults: step(false),
  },
  bluetooth: {
    name: 'bluetooth',
    macAuthType: 'bluetooth',
    // 2.5.0 has no askForBluetoothAccess: macOS prompts when the app first uses Core Bluetooth.
    macAsk: null,
    ask: 'settings_only',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Bluetooth',
    grantVisible: 'live',
    defaults: step(false),
  },
  music_library: {
    name: 'music_library',
    macAuthType: 'music-library',
    macAsk: { call: 'askForMusicLibraryAccess', args: [] },
    ask: 'prompt',
    readsNotDetermined: true,
    settingsPane: 'Privacy_Media',
    grantVisible: 'live',
    defaults: step(false),
  },
} as const satisfies Record<PermissionName, PermissionKind>;

/** The catalogue entry of `name` (typed as the general {@link PermissionKind}). */
export function permissionKind(name: PermissionName): PermissionKind {
  return PERMISSION_CATALOGUE[name];
}

/** Whether `value` names a kind of the catalogue. */
export function isPermissionName(value: unknown): value is PermissionName {
  return typeof value === 'string' && (PERMISSION_KINDS as readonly string[]).includes(value);
}

/** Kinds whose TCC status never reads `not_determined` (MACOS-NOTES): a first `denied` may mean "never asked". */
export const NEVER_NOT_DETERMINED: readonly PermissionName[] = PERMISSION_KINDS.filter(
  (name) => !PERMISSION_CATALOGUE[name].readsNotDetermined,
);
