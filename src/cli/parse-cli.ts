/**
 * The CLI's argument parser: pure, exported and tested (house style 7). It knows every command and
 * option of SPEC §4 and refuses anything else with a `UsageError` that names the argument.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

export const COMMANDS = ['launch', 'status', 'reset', 'demo', 'statecharts', 'inspect', 'help', 'version'] as const;
export type CommandName = (typeof COMMANDS)[number];

type OptionKind = 'flag' | 'value' | 'list';
interface OptionSpec {
  kind: OptionKind;
  /** One-line help. */
  help: string;
  /** Allowed values, for `value` options. */
  choices?: readonly string[];
  /** Internal options are accepted but not listed in the help. */
  internal?: boolean;
}

const COMMON: Record<string, OptionSpec> = {
  'state-dir': { kind: 'value', help: 'state directory (default: $FIRST_RUN_STATE_DIR or the platform app-state dir)' },
  config: { kind: 'value', help: 'JSON config file (default: none, the built-in defaults; a file that does not exist exits 2)' },
  json: { kind: 'flag', help: 'machine-readable output' },
};

const LAUNCH: Record<string, OptionSpec> = {
  backend: { kind: 'value', choices: ['sim', 'macos'], help: 'permission backend (default: macos on macOS, sim elsewhere)' },
  'sim-db': { kind: 'value', help: 'simulated TCC database (JSON) for --backend sim' },
  stay: { kind: 'flag', help: 'keep running like an app until SIGTERM/SIGINT' },
  'lock-timeout': { kind: 'value', help: 'wait up to MS for the instance lock instead of exiting 3 (default 0)' },
  'busy-at-restart': { kind: 'value', help: 'simulate a session when the restart comes due: busy for MS, the restart waits (RS-10)' },
  inspect: { kind: 'flag', help: 'stream to the Stately inspector (needs the optional peer @statelyai/inspect: see docs/inspect.md)' },
  'inspect-url': { kind: 'value', help: 'WebSocket URL of the Stately inspector relay (default ws://localhost:5678)' },
  'inspect-viewer': { kind: 'value', help: 'stream to the offline viewer at URL (see `first-run inspect`)' },
  dev: { kind: 'flag', help: 'dev mode: restart the whole process when a watched file changes' },
  watch: { kind: 'list', help: 'directory or file to watch in --dev mode (repeatable)' },
  'shutdown-timeout': { kind: 'value', help: 'dev mode: force shutdown after MS (default 10000)' },
  'dev-module': { kind: 'value', help: 'dev mode: ES module run with the dev app (hooks, events); watch it (docs/dev-mode.md)' },
  'successor-of': { kind: 'value', help: 'internal: this process is the relaunched successor of PID', internal: true },
  'handoff-token': { kind: 'value', help: 'internal: one-time token of the relaunch handshake', internal: true },
  'dev-restart': { kind: 'flag', help: 'internal: this process was started by a dev restart', internal: true },
  'app-mode': { kind: 'value', choices: ['SLEEPING', 'LISTENING', 'PROCESSING'], help: 'the app mode the tray starts in' },
};

export const COMMAND_OPTIONS: Record<CommandName, Record<string, OptionSpec>> = {
  launch: { ...COMMON, ...LAUNCH },
  demo: {
    // The demo is a fresh simulated first run: a temporary state dir and quick timings unless told otherwise.
    'state-dir': { kind: 'value', help: 'run the demo in DIR (new or empty; kept) instead of a temporary dir ($FIRST_RUN_STATE_DIR is not used)' },
    config: { kind: 'value', help: "run the demo with this JSON config instead of its quick timings (missing or invalid: exit 2)" },
    json: COMMON.json!,
    'inspect-viewer': LAUNCH['inspect-viewer']!,
    inspect: LAUNCH.inspect!,
    'inspect-url': LAUNCH['inspect-url']!,
    keep: { kind: 'flag', help: 'keep the temporary state dir (its path is printed); otherwise the demo removes it' },
    slow: { kind: 'flag', help: 'human-speed timings (default: a quick run)' },
  },
  status: { ...COMMON, events: { kind: 'value', help: 'how many recent journal events to show, 0 for none (default 10)' } },
  reset: { ...COMMON, yes: { kind: 'flag', help: 'do not ask' } },
  statecharts: {
    json: COMMON.json!,
    out: { kind: 'value', help: 'output directory (default: ./statecharts of the working directory)' },
    check: { kind: 'flag', help: 'write nothing; exit 1 when a file is stale' },
  },
  inspect: {
    ...COMMON,
    port: { kind: 'value', help: 'port on 127.0.0.1 (default 5680; 0 = any free port)' },
    host: { kind: 'value', help: 'loopback address to bind (127.0.0.1 or ::1; other hosts are refused)' },
  },
  help: {},
  version: {},
};

export interface ParsedCLI {
  command: CommandName;
  /** Flags are `true`, values strings, lists string arrays. */
  options: Record<string, string | boolean | string[]>;
}

/** `node:util` `parseArgs` option config of a command: flags are booleans, values strings, lists repeatable strings. */
function parseArgsOptions(specs: Record<string, OptionSpec>): ParseArgsConfig['options'] {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.kind === 'flag' ? { type: 'boolean' } : { type: 'string', multiple: spec.kind === 'list' };
  }
  return options;
}

type Token = ReturnType<typeof parseArgs>['tokens'] extends (infer T)[] | undefined ? T : never;

/**
 * The tokens `parseArgs` gives for the plain command lines every launch uses — each argument a known
 * `--flag`, or a known `--option` followed by a value that does not start with `-` — without loading
 * `parseArgs` (~0.4 ms of a cold launch); `null` for anything else (`--name=value`, short options,
 * unknown names, `--help`, positionals, a value starting with `-`), which `parseArgs` tokenizes.
 * `test/cli/parse-cli.test.ts` checks the two agree.
 */
export function plainTokens(args: readonly string[], specs: Record<string, OptionSpec>): Token[] | null {
  const tokens: Token[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const name = arg.slice(2);
    const spec = arg.startsWith('--') && /^[a-z][a-z0-9-]*$/.test(name) && Object.hasOwn(specs, name) ? specs[name]! : null;
    if (!spec) return null;
    if (spec.kind === 'flag') {
      tokens.push({ kind: 'option', name, rawName: arg, index, value: undefined, inlineValue: undefined });
      continue;
    }
    const value = args[index + 1];
    if (value === undefined || value.startsWith('-')) return null;
    tokens.push({ kind: 'option', name, rawName: arg, index, value, inlineValue: false });
    index++;
  }
  return tokens;
}

/**
 * Parse `argv` (without `node` and the script) with `node:util`'s `parseArgs` (its tokens, so every
 * refusal names the argument in our words): `--name value` and `--name=value`, repeatable list options,
 * `-h`/`--help` anywhere.
 * @throws UsageError naming the unknown command or option, a missing value, or a bad choice.
 */
export function parseCLI(argv: readonly string[]): ParsedCLI {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', options: {} };
  if (first === '--version' || first === '-v') return { command: 'version', options: {} };
  if (first === 'help' && rest.length === 1 && (COMMANDS as readonly string[]).includes(rest[0]!)) return { command: 'help', options: { topic: rest[0]! } };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(`Unknown command \`${first}\`. Expected one of: ${COMMANDS.join(', ')}. Run \`first-run help\`.`);
  }
  const command = first as CommandName;
  const specs = COMMAND_OPTIONS[command];
  // strict: false — unknown options, positionals and missing values come back as tokens, refused below.
  const tokens = plainTokens(rest, specs) ?? parseArgs({ args: [...rest], options: parseArgsOptions(specs), strict: false, allowPositionals: true, tokens: true }).tokens;
  if (tokens.some((token) => token.kind === 'option' && token.name === 'help')) return { command: 'help', options: { topic: command } };
  const options: ParsedCLI['options'] = {};
  for (const token of tokens) {
    if (token.kind === 'option-terminator') throw new UsageError(`Unexpected argument \`--\` for \`${command}\`: it takes no positional arguments.`);
    if (token.kind === 'positional') throw new UsageError(`Unexpected argument \`${token.value}\` for \`${command}\`. Options start with --.`);
    const { name, rawName } = token;
    const spec = specs[name];
    if (!spec || !rawName.startsWith('--')) {
      const known = Object.keys(specs).filter((key) => !specs[key]!.internal);
      throw new UsageError(`Unknown option \`${rawName}\` for \`${command}\`. Known: ${known.map((k) => `--${k}`).join(', ') || 'none'}.`);
    }
    if (spec.kind === 'flag') {
      if (token.value !== undefined) throw new UsageError(`Option \`--${name}\` takes no value, got \`${token.value}\`.`);
      options[name] = true;
      continue;
    }
    const value = token.value;
    // `--state-dir --json`: parseArgs would take `--json` as the directory; a value never starts with --.
    if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`Option \`--${name}\` needs a value.`);
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`Expected \`--${name}\` to be one of ${spec.choices.join('|')}, got \`${value}\`.`);
    }
    if (spec.kind === 'list') options[name] = [...((options[name] as string[] | undefined) ?? []), value];
    else options[name] = value;
  }
  return { command, options };
}

/** Parse a whole non-negative number of milliseconds from an option, or throw a `UsageError` naming it. */
export function parseMs(name: string, value: string | boolean | string[] | undefined, fallback: number): number {
  return parseWhole(name, value, fallback, 86_400_000, 'milliseconds from 0');
}

/** The most `--events` can ask for (more than any journal `status` reads keeps). */
export const MAX_EVENTS = 1_000_000;

/**
 * A count of events (`status --events N`): a whole number from 0 (none) to {@link MAX_EVENTS}.
 * @throws UsageError naming the option, what it takes and what was given.
 */
export function parseEventCount(name: string, value: string | boolean | string[] | undefined, fallback: number): number {
  return parseWhole(name, value, fallback, MAX_EVENTS, 'events from 0 (none)');
}

function parseWhole(name: string, value: string | boolean | string[] | undefined, fallback: number, max: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`Expected \`--${name}\` to be a whole number of ${what} to ${max}, got \`${String(value)}\`.`);
  }
  return Number(value);
}

/** The column where the help's descriptions start. */
const HELP_COLUMN = 34;

/** The help text. */
export function helpText(topic?: string): string {
  const lines = ['first-run — first-run permission onboarding that restarts the app exactly once, ever', ''];
  const commands = topic && (COMMANDS as readonly string[]).includes(topic) ? [topic as CommandName] : COMMANDS.filter((c) => c !== 'help' && c !== 'version');
  for (const command of commands) {
    lines.push(`first-run ${command}`);
    for (const [name, spec] of Object.entries(COMMAND_OPTIONS[command])) {
      if (spec.internal) continue;
      const arg = spec.kind === 'flag' ? '' : spec.choices ? ` ${spec.choices.join('|')}` : ' VALUE';
      const left = `  --${name}${arg}`;
      // A name too long for its column gets its text on the next line, never glued to it.
      if (left.length < HELP_COLUMN) lines.push(left.padEnd(HELP_COLUMN) + spec.help);
      else lines.push(left, ' '.repeat(HELP_COLUMN) + spec.help);
    }
    lines.push('');
  }
  lines.push('Exit codes: 0 settled or handed off; 2 bad usage/config; 3 another instance holds the lock; 1 otherwise.');
  return lines.join('\n');
}
