/**
 * An installed copy of the CLI in a temp dir (`<root>/node_modules/first-run-orchestrator/`), whose bundle
 * a test may replace — the way `cp -p`, `rsync -a` or a reproducible archive replace it in a real install —
 * and a way to run it as a real process with its code cache in a dir of the test's choosing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { assertBuilt } from '../support/processes.js';

const REPO = path.resolve(import.meta.dirname, '../..');

export interface InstalledCopy {
  root: string;
  /** `bin/first-run.js` of the copy. */
  bin: string;
  /** `dist/cli-bundle/first-run.cjs` of the copy. */
  bundle: string;
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh temp dir (the caller removes it). */
export function scratchDir(prefix = 'code-cache-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Copy the built CLI into `<root>/node_modules/first-run-orchestrator` (an "installed" copy: the bundle is always used). */
export function installCopy(root: string): InstalledCopy {
  assertBuilt();
  const pkg = path.join(root, 'node_modules', 'first-run-orchestrator');
  mkdirSync(path.join(pkg, 'dist', 'cli-bundle'), { recursive: true });
  cpSync(path.join(REPO, 'bin'), path.join(pkg, 'bin'), { recursive: true });
  copyFileSync(path.join(REPO, 'package.json'), path.join(pkg, 'package.json'));
  const bundle = path.join(pkg, 'dist', 'cli-bundle', 'first-run.cjs');
  copyFileSync(path.join(REPO, 'dist', 'cli-bundle', 'first-run.cjs'), bundle);
  // A whole second, as an archive stores it, so a replacement can be given exactly the same mtime.
  const second = Math.floor(Date.now() / 1000) - 60;
  utimesSync(bundle, second, second);
  // What the bundle may still reach at run time: dist/ files by URL, xstate from node_modules.
  symlinkSync(path.join(REPO, 'dist', 'src'), path.join(pkg, 'dist', 'src'));
  symlinkSync(path.join(REPO, 'node_modules', 'xstate'), path.join(root, 'node_modules', 'xstate'));
  return { root, bin: path.join(pkg, 'bin', 'first-run.js'), bundle };
}

/**
 * Replace the copy's bundle by `bytes` (which must have the old length) and give it the old mtime,
 * either in place (`cp -p`: same inode, truncated and rewritten) or through a temp file renamed over it
 * (`rsync -a`, an archive extracted over the install).
 */
export function replaceBundle(copy: InstalledCopy, bytes: Buffer, how: 'in-place' | 'rename'): void {
  const before = statSync(copy.bundle);
  if (bytes.length !== before.size) throw new Error(`replaceBundle: another build of the same size was asked for, got ${bytes.length} bytes instead of ${before.size}`);
  if (how === 'in-place') {
    writeFileSync(copy.bundle, bytes);
  } else {
    const tmp = `${copy.bundle}.rsync-tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, copy.bundle);
  }
  utimesSync(copy.bundle, before.mtimeMs / 1000, before.mtimeMs / 1000);
  const after = statSync(copy.bundle);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw new Error('replaceBundle: size or mtime changed');
}

export function envFor(cacheDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FIRST_RUN_NO_CODE_CACHE;
  delete env.FIRST_RUN_NO_BUNDLE;
  delete env.FIRST_RUN_DEBUG_CODE_CACHE;
  return { ...env, FIRST_RUN_CODE_CACHE_DIR: cacheDir, ...extra };
}

/** Run `bin` with `args` and the code cache in `cacheDir` (nodeArgs go before the script, e.g. `--import`). */
export function runCli(bin: string, args: string[], cacheDir: string, extra: Record<string, string> = {}, nodeArgs: string[] = []): Ran {
  const result = spawnSync(process.execPath, [...nodeArgs, bin, ...args], { env: envFor(cacheDir, extra), encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without waiting: for several writers at once. */
export function runCliAsync(bin: string, args: string[], cacheDir: string, extra: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: envFor(cacheDir, extra), stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** The code cache files in `dir` (none when it does not exist). */
export function cacheFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.bin')).sort() : [];
}

export function removeAll(dirs: string[]): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
