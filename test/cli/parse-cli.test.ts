/**
 * The CLI's argument parser (src/cli/parse-cli.ts, on `node:util` parseArgs): what it accepts, what it
 * refuses (each refusal a `UsageError` naming the argument), and a help text whose columns never run
 * together.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { UsageError } from '../../src/errors.js';
import { COMMAND_OPTIONS, COMMANDS, helpText, parseCLI, parseEventCount, parseMs, plainTokens } from '../../src/cli/parse-cli.js';

describe('parseCLI', () => {
  it.each([
    [[], { command: 'help', options: {} }],
    [['--help'], { command: 'help', options: {} }],
    [['-h'], { command: 'help', options: {} }],
    [['--version'], { command: 'version', options: {} }],
    [['-v'], { command: 'version', options: {} }],
    [['help', 'status'], { command: 'help', options: { topic: 'status' } }],
    [['status', '--help'], { command: 'help', options: { topic: 'status' } }],
    [['launch', '--json', '-h'], { command: 'help', options: { topic: 'launch' } }],
  ])('should read %j as %j', (argv, expected) => {
    expect(parseCLI(argv)).toEqual(expected);
  });

  it('should read values in both spellings, flags, repeatable lists and choices', () => {
    const parsed = parseCLI(['launch', '--state-dir', '/s', '--config=/c.json', '--json', '--watch', 'src', '--watch=lib', '--backend', 'sim', '--app-mode=LISTENING']);
    expect(parsed).toEqual({
      command: 'launch',
      options: { 'state-dir': '/s', config: '/c.json', json: true, watch: ['src', 'lib'], backend: 'sim', 'app-mode': 'LISTENING' },
    });
  });

  it('should keep an empty value and a value that starts with a single dash', () => {
    expect(parseCLI(['status', '--state-dir=', '--events', '3']).options).toEqual({ 'state-dir': '', events: '3' });
    expect(parseCLI(['status', '--state-dir', '-odd']).options).toEqual({ 'state-dir': '-odd' });
  });

  it('should accept the internal successor flags of launch without listing them in the help', () => {
    const parsed = parseCLI(['launch', '--successor-of', '42', '--handoff-token', 'abc']);
    expect(parsed.options).toEqual({ 'successor-of': '42', 'handoff-token': 'abc' });
    expect(helpText('launch')).not.toContain('--successor-of');
  });

  it.each([
    [['bogus'], /Unknown command `bogus`\. Expected one of: launch, status/],
    [['status', '--nope'], /Unknown option `--nope` for `status`\. Known: --state-dir, --config, --json, --events\./],
    [['status', '-x'], /Unknown option `-x` for `status`/],
    [['launch', '--successor-ofx', '1'], /Unknown option `--successor-ofx`/],
    [['status', 'extra'], /Unexpected argument `extra` for `status`/],
    [['status', '--', '--json'], /Unexpected argument `--` for `status`/],
    [['status', '--state-dir'], /Option `--state-dir` needs a value/],
    [['status', '--state-dir', '--json'], /Option `--state-dir` needs a value/],
    [['status', '--json=yes'], /Option `--json` takes no value, got `yes`/],
    [['launch', '--backend', 'windows'], /Expected `--backend` to be one of sim\|macos, got `windows`/],
    [['help', 'bogus'], /Unexpected argument `bogus` for `help`/],
  ])('should refuse %j with a UsageError naming it', (argv, message) => {
    expect(() => parseCLI(argv)).toThrow(UsageError);
    expect(() => parseCLI(argv)).toThrow(message);
  });
});

describe('parseEventCount and parseMs', () => {
  it('should take 0 as "no events" and say what --events takes, in events, when it is wrong', () => {
    expect(parseEventCount('events', undefined, 10)).toBe(10);
    expect(parseEventCount('events', '0', 10)).toBe(0);
    expect(parseEventCount('events', '1000000', 10)).toBe(1_000_000);
    for (const bad of ['-1', '1e3', ' 2', '1000001', true]) {
      expect(() => parseEventCount('events', bad, 10)).toThrow(UsageError);
      expect(() => parseEventCount('events', bad, 10)).toThrow(/^Expected `--events` to be a whole number of events from 0 \(none\) to 1000000, got `/);
    }
    expect(helpText('status')).toMatch(/--events VALUE +how many recent journal events to show, 0 for none \(default 10\)/);
  });

  it('should keep speaking of milliseconds for a time', () => {
    expect(() => parseMs('lock-timeout', 'soon', 0)).toThrow('Expected `--lock-timeout` to be a whole number of milliseconds from 0 to 86400000, got `soon`.');
  });
});

describe('helpText', () => {
  it('should keep at least one space between every option and its text, wrapping long ones', () => {
    for (const command of COMMANDS.filter((c) => c !== 'help' && c !== 'version')) {
      const text = helpText(command);
      for (const [name, spec] of Object.entries(COMMAND_OPTIONS[command])) {
        if (spec.internal) continue;
        const at = text.indexOf(`  --${name}${spec.kind === 'flag' ? '' : ' '}`);
        const entry = text.slice(at, text.indexOf(spec.help, at) + spec.help.length);
        // `  --name [ARG]`, then spaces (same line) or a newline and the indent, then the text.
        expect(entry, `--${name} of ${command}`).toMatch(/^ {2}--[\w-]+( \S+)?( {2,}|\n {34})\S/);
      }
    }
    expect(helpText('launch')).toMatch(/ {2}--app-mode SLEEPING\|LISTENING\|PROCESSING\n {34}the app mode/);
  });
});

describe('runCli --version', () => {
  it("should print the package's version, from source as from dist/", async () => {
    const out: string[] = [];
    expect(await runCli(['--version'], { stdout: (t) => out.push(t), stderr: () => {}, env: {} })).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(out).toEqual([pkg.version]);
  });
});

describe('plainTokens (the command lines every launch uses, without loading parseArgs)', () => {
  it('gives exactly the tokens parseArgs gives, wherever it answers — and answers for a launch', () => {
    const specs = COMMAND_OPTIONS.launch;
    const names = [...Object.keys(specs), 'nope', 'help', 'h'];
    const arg = fc.oneof(
      fc.constantFrom(...names).map((name) => `--${name}`),
      fc.constantFrom(...names).map((name) => `--${name}=x`),
      fc.constantFrom('-h', '-x', '--', '-', 'value', '/tmp/state', '-5', '--json', ''),
      fc.string({ maxLength: 6 }),
    );
    const options = Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [name, spec.kind === 'flag' ? { type: 'boolean' as const } : { type: 'string' as const, multiple: spec.kind === 'list' }]),
    );
    let answered = 0;
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 8 }), (args) => {
        const plain = plainTokens(args, specs);
        if (plain === null) return;
        answered += 1;
        const { tokens } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: false, allowPositionals: true, tokens: true });
        expect(plain).toEqual(tokens);
      }),
      { numRuns: 3000 },
    );
    expect(answered).toBeGreaterThan(100);
    expect(plainTokens(['--state-dir', '/s', '--sim-db', '/d', '--config', '/c', '--json', '--watch', 'a', '--watch', 'b'], specs)).not.toBeNull();
  });
});
