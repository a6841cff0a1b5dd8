/**
 * `first-run statecharts [--out DIR] [--check] [--json]` (SPEC IN-3): writes, or verifies, the
 * generated statecharts of every machine in `machines/`. Without `--out` the folder is `statecharts/`
 * of the working directory — never the installed package's own copy in `node_modules` (`npm run
 * statecharts` runs in the checkout's root, so there it is the checkout's `statecharts/`).
 */
import { access } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { machines } from '../../../machines/index.js';
import { UsageError } from '../../errors.js';
import { packageRoot } from '../../inspect/package-root.js';
import { generateStatecharts } from '../../statecharts/index.js';
import { EXIT, type CliIO } from '../io.js';
import type { ParsedCLI } from '../parse-cli.js';

/** `statecharts/` of the working directory (the default `--out`). */
export function defaultStatechartsDir(cwd: string = process.cwd()): string {
  return join(resolve(cwd), 'statecharts');
}

/** The command that regenerates `outDir`, as it works where the user is. */
function fixCommand(outOption: string | undefined): string {
  const inCheckout = outOption === undefined && isCheckoutRoot(process.cwd());
  if (inCheckout) return '`npm run statecharts`';
  return `\`npx first-run statecharts${outOption === undefined ? '' : ` --out ${outOption}`}\``;
}

/** Whether `dir` is this package's own checkout (where `npm run statecharts` exists), not an app using it. */
function isCheckoutRoot(dir: string): boolean {
  try {
    return resolve(dir) === packageRoot() && !packageRoot().split(sep).includes('node_modules');
  } catch {
    return false;
  }
}

/**
 * The machines keyed by file name: `permissionStep` → `permission-step`, as in
 * `machines/permission-step.machine.ts` (house style 8: files are kebab-case).
 */
export function statechartMachines(): Record<string, (typeof machines)[keyof typeof machines]> {
  return Object.fromEntries(
    Object.entries(machines).map(([id, machine]) => [id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), machine]),
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run `first-run statecharts`. Exit code 0 when the folder was written or is current; 1 with
 * `--check` when any file is missing or stale (each is named, with the command that fixes it).
 *
 * @throws {UsageError} when `--out` is empty.
 */
export async function runStatecharts(cli: ParsedCLI, io: CliIO): Promise<number> {
  const json = cli.options.json === true;
  const check = cli.options.check === true;
  const outOption = cli.options.out;
  if (outOption !== undefined && (typeof outOption !== 'string' || outOption.trim() === '')) {
    throw new UsageError(`Expected \`--out\` to be a directory path, got \`${String(outOption)}\`.`);
  }
  const outDir = typeof outOption === 'string' ? resolve(outOption) : defaultStatechartsDir();
  const result = await generateStatecharts({ machines: statechartMachines(), outDir, check });
  const show = (path: string) => relative(process.cwd(), path) || basename(path);

  const missing: string[] = [];
  const stale: string[] = [];
  for (const path of result.stale) (await exists(path) ? stale : missing).push(path);

  if (json) {
    io.stdout(
      JSON.stringify({
        out: outDir,
        check,
        ok: result.stale.length === 0,
        written: result.written,
        stale,
        missing,
        unchanged: result.unchanged.length,
        machines: Object.keys(statechartMachines()).sort(),
      }),
    );
  } else if (check) {
    if (result.stale.length === 0) {
      io.stdout(`statecharts: ${show(outDir)} is up to date (${result.unchanged.length} files).`);
    } else {
      const lines = [
        `statecharts: ${show(outDir)} is out of date with machines/ (${result.stale.length} of ${result.stale.length + result.unchanged.length} files):`,
        ...missing.map((path) => `  missing  ${show(path)}`),
        ...stale.map((path) => `  stale    ${show(path)}`),
        `Run ${fixCommand(typeof outOption === 'string' ? outOption : undefined)} and commit the result.`,
      ];
      io.stderr(lines.join('\n'));
    }
  } else {
    const lines = [`statecharts: wrote ${result.written.length} file(s), ${result.unchanged.length} unchanged, in ${show(outDir)}.`];
    for (const path of result.written) lines.push(`  wrote  ${show(path)}`);
    io.stdout(lines.join('\n'));
  }
  return check && result.stale.length > 0 ? EXIT.failure : EXIT.ok;
}
