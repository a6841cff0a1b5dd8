/**
 * `first-run statecharts [--out DIR] [--check] [--json]` (SPEC IN-3): writes, or verifies, the
 * generated statecharts of every machine in `machines/`. Without `--out` the folder is the package's
 * own `statecharts/`, found from this module's URL (not the cwd), so `npm run statecharts` works from
 * any directory.
 */
import { access } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { machines } from '../../../machines/index.js';
import { UsageError } from '../../errors.js';
import { packageRoot } from '../../inspect/package-root.js';
import { generateStatecharts } from '../../statecharts/index.js';
import { EXIT, type CliIO } from '../io.js';
import type { ParsedCLI } from '../parse-cli.js';

/** The package's `statecharts/` folder (the default `--out`). */
export function defaultStatechartsDir(): string {
  return join(packageRoot(), 'statecharts');
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
        outOption === undefined
          ? 'Run `npm run statecharts` and commit the result.'
          : `Run \`npm run statecharts\` (or \`first-run statecharts --out ${outOption}\`) and commit the result.`,
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
