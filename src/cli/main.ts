/**
 * The `first-run` CLI: a thin shell over `parseCLI` and the library. Each command lives in
 * `commands/<name>.ts` and is imported only when it runs (a warm launch loads no more than it needs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../inspect/package-root.js';
import { helpText, parseCLI, type CommandName, type ParsedCLI } from './parse-cli.js';
import { inCliWords, processIO, reportError, type CliIO, type Command } from './io.js';

/** For the launcher's code cache (bin/first-run.js): written right before the machines load, if at all. */
export { settledWarm, whenMachinesLoad } from '../runtime/machines-loaded.js';

const loaders: Record<Exclude<CommandName, 'help' | 'version'>, () => Promise<Command>> = {
  launch: async () => (await import('./commands/launch.js')).runLaunch,
  demo: async () => (await import('./commands/demo.js')).runDemo,
  status: async () => (await import('./commands/status.js')).runStatus,
  reset: async () => (await import('./commands/reset.js')).runReset,
  statecharts: async () => (await import('./commands/statecharts.js')).runStatecharts,
  inspect: async () => (await import('./commands/inspect.js')).runInspect,
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Run the CLI with `argv` (without `node` and the script); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let cli: ParsedCLI | null = null;
  try {
    cli = parseCLI(argv);
    if (cli.command === 'help') {
      io.stdout(helpText(typeof cli.options.topic === 'string' ? cli.options.topic : undefined));
      return 0;
    }
    if (cli.command === 'version') {
      io.stdout(packageVersion());
      return 0;
    }
    const command = await loaders[cli.command]();
    return await command(cli, io);
  } catch (error) {
    return reportError(inCliWords(error, cli), io, cli?.options.json === true || argv.includes('--json'));
  }
}

/** The bin entry: runs and sets `process.exitCode`. */
export async function main(argv: readonly string[]): Promise<void> {
  process.exitCode = await runCli(argv);
}
