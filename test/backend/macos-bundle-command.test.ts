import { describe, expect, it } from 'vitest';
import { RelaunchError } from '../../src/errors.js';
import {
  buildBundleRelaunchCommand,
  buildNodeRelaunchCommand,
  canExecve,
  OPEN_COMMAND,
} from '../../src/relaunch/bundle-command.js';

// Arguments a shell would split, expand or execute; argv arrays must carry them verbatim.
const HOSTILE_ARGS = [
  '--name=two words',
  "it's",
  '"double quoted"',
  '$(touch /tmp/pwned)',
  '`id`',
  '$HOME',
  'a;b|c&&d',
  '',
  '  leading and trailing  ',
  'line\nbreak',
  '--args',
  '-n',
  'ünïcødé ✓',
];

describe('buildBundleRelaunchCommand (RS-8 bundle strategy)', () => {
  it('should build open -n -a <App.app> --args …', () => {
    expect(buildBundleRelaunchCommand({ appPath: '/Applications/Nexy.app', args: ['--relaunched', '--token=abc'] })).toEqual({
      command: '/usr/bin/open',
      args: ['-n', '-a', '/Applications/Nexy.app', '--args', '--relaunched', '--token=abc'],
    });
    expect(OPEN_COMMAND).toBe('/usr/bin/open');
  });

  it('should end with --args even without arguments', () => {
    expect(buildBundleRelaunchCommand({ appPath: '/Applications/Nexy.app', args: [] }).args).toEqual([
      '-n',
      '-a',
      '/Applications/Nexy.app',
      '--args',
    ]);
  });

  it('should keep spaces, quotes and $() verbatim, one argv entry each', () => {
    const appPath = '/Users/me/My Apps/Nexy "Beta" $(x).app';
    const { args } = buildBundleRelaunchCommand({ appPath, args: HOSTILE_ARGS });
    expect(args).toEqual(['-n', '-a', appPath, '--args', ...HOSTILE_ARGS]);
  });

  it('should accept a trailing slash on the bundle path', () => {
    expect(buildBundleRelaunchCommand({ appPath: '/Applications/Nexy.app/', args: [] }).args[2]).toBe('/Applications/Nexy.app/');
  });

  it('should pass env as --env NAME=VALUE before --args', () => {
    const { args } = buildBundleRelaunchCommand({
      appPath: '/Applications/Nexy.app',
      args: ['x'],
      env: { FIRST_RUN_RELAUNCH_TOKEN: 'a b $(c)', EMPTY: '' },
    });
    expect(args).toEqual([
      '-n',
      '-a',
      '/Applications/Nexy.app',
      '--env',
      'FIRST_RUN_RELAUNCH_TOKEN=a b $(c)',
      '--env',
      'EMPTY=',
      '--args',
      'x',
    ]);
  });

  it('should not share arrays with its input', () => {
    const input = ['a'];
    const command = buildBundleRelaunchCommand({ appPath: '/A.app', args: input });
    command.args.push('b');
    expect(input).toEqual(['a']);
  });

  it.each([
    ['relative path', { appPath: 'Applications/Nexy.app', args: [] }, /`appPath` to be an absolute path, got `"Applications\/Nexy.app"` \(string\)/],
    ['not a bundle', { appPath: '/Applications/Nexy', args: [] }, /`appPath` to be an app bundle ending in `.app`/],
    ['an executable inside the bundle', { appPath: '/Applications/Nexy.app/Contents/MacOS/Nexy', args: [] }, /ending in `.app`/],
    ['empty path', { appPath: '', args: [] }, /non-empty absolute path/],
    ['a number path', { appPath: 42, args: [] }, /`appPath`.*`42` \(number\)/],
    ['NUL in path', { appPath: '/A\0.app', args: [] }, /no NUL/],
    ['args not an array', { appPath: '/A.app', args: '--x' }, /`args` to be an array of strings, got `"--x"` \(string\)/],
    ['a number arg', { appPath: '/A.app', args: ['ok', 3] }, /`args\[1\]` to be a string, got `3` \(number\)/],
    ['NUL in an arg', { appPath: '/A.app', args: ['a\0b'] }, /`args\[0\]` to contain no NUL/],
    ['env name with =', { appPath: '/A.app', args: [], env: { 'A=B': 'c' } }, /`env` name to be non-empty without `=`/],
    ['env value not a string', { appPath: '/A.app', args: [], env: { A: 1 } }, /`env.A` to be a string/],
    ['env an array', { appPath: '/A.app', args: [], env: ['A=1'] }, /`env` to be an object of strings/],
  ])('should refuse %s with a RelaunchError naming it', (_name, input, message) => {
    const build = () => buildBundleRelaunchCommand(input as never);
    expect(build).toThrow(RelaunchError);
    expect(build).toThrow(message);
  });
});

describe('buildNodeRelaunchCommand (RS-8 node strategy)', () => {
  it('should re-run the same Node entry with the same argv', () => {
    expect(
      buildNodeRelaunchCommand({
        execPath: '/usr/local/bin/node',
        execArgv: ['--enable-source-maps', '--max-old-space-size=512'],
        entry: '/opt/app/bin/first-run.js',
        args: ['launch', '--backend', 'sim'],
      }),
    ).toEqual({
      command: '/usr/local/bin/node',
      args: ['--enable-source-maps', '--max-old-space-size=512', '/opt/app/bin/first-run.js', 'launch', '--backend', 'sim'],
    });
  });

  it('should keep hostile arguments verbatim', () => {
    const { command, args } = buildNodeRelaunchCommand({
      execPath: '/opt/my node/bin/node',
      execArgv: ['--title=a b'],
      entry: '/opt/my app/$(entry).js',
      args: HOSTILE_ARGS,
    });
    expect(command).toBe('/opt/my node/bin/node');
    expect(args).toEqual(['--title=a b', '/opt/my app/$(entry).js', ...HOSTILE_ARGS]);
  });

  it('should build this very process’s command', () => {
    const entry = '/tmp/entry.js';
    const { command, args } = buildNodeRelaunchCommand({
      execPath: process.execPath,
      execArgv: process.execArgv,
      entry,
      args: ['x'],
    });
    expect(command).toBe(process.execPath);
    expect(args).toEqual([...process.execArgv, entry, 'x']);
  });

  it.each([
    ['relative execPath', { execPath: 'node', execArgv: [], entry: '/e.js', args: [] }, /`execPath` to be an absolute path/],
    ['execArgv not an array', { execPath: '/n', execArgv: null, entry: '/e.js', args: [] }, /`execArgv` to be an array of strings, got `null`/],
    ['empty entry', { execPath: '/n', execArgv: [], entry: '', args: [] }, /`entry` to be a non-empty path/],
    ['missing entry', { execPath: '/n', execArgv: [], args: [] }, /`entry`.*undefined/],
    ['an object arg', { execPath: '/n', execArgv: [], entry: '/e.js', args: [{}] }, /`args\[0\]` to be a string, got `\{\}` \(object\)/],
  ])('should refuse %s with a RelaunchError naming it', (_name, input, message) => {
    const build = () => buildNodeRelaunchCommand(input as never);
    expect(build).toThrow(RelaunchError);
    expect(build).toThrow(message);
  });
});

describe('canExecve (RS-8 execve strategy)', () => {
  it('should follow whether process.execve exists', () => {
    expect(canExecve()).toBe(typeof (process as { execve?: unknown }).execve === 'function');
  });

  it.runIf(Number(process.versions.node.split('.')[0]) < 23)('should be false on Node before 23.11', () => {
    expect(canExecve()).toBe(false);
  });

  it.each([
    [{ execve: () => {} }, true],
    [{ execve: 'yes' }, false],
    [{}, false],
  ])('should say %j → %j', (proc, expected) => {
    expect(canExecve(proc)).toBe(expected);
  });
});
