/**
 * The package as an app team gets it: `npm pack` of this checkout, installed from the tarball into a
 * fresh project in a temp dir. Shared by the consumer checks (test/package/*.test.ts) and by any test
 * that must run against the installed package rather than the source.
 *
 * - {@link packTarball}: `npm pack` once per content of the package — cached in the temp dir under a
 *   hash of `package.json` and every file the tarball can hold, so a rebuilt `dist/` packs again and an
 *   unchanged one never does. Safe when several vitest workers call it at once: each packs into a
 *   private dir and renames the result into place (a rename is atomic; two racing packs of the same
 *   content write the same bytes).
 * - {@link createConsumerProject}: `npm install` of that tarball into a new project of one kind, with
 *   `--prefer-offline` (the dependencies come from npm's cache when it has them; only the npm registry
 *   is reachable otherwise).
 *
 * `npm pack --ignore-scripts` packs the `dist/` that `npm test` just built (`pretest`): running the
 * `prepack` build here would rewrite `dist/` under the feet of tests running in parallel. Without a
 * build, {@link packTarball} says so.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout being packed. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The package's name, as a consumer imports it. */
export const PACKAGE_NAME = 'first-run-orchestrator';

/** Every command a consumer check runs is bounded: a hung npm or child fails the test, it never hangs it. */
const COMMAND_BOUND_MS = 180_000;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd args` in `cwd` (no shell), collecting its output. Killed after {@link COMMAND_BOUND_MS}. */
export function runCommand(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = consumerEnv()): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[test/package] ${cmd} ${args.join(' ')} still running after ${COMMAND_BOUND_MS} ms: killed`;
      child.kill('SIGKILL');
    }, COMMAND_BOUND_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/**
 * The environment of a consumer's commands: this process's, minus what `npm test` exports for *this*
 * package (`npm_*`: `npm_config_local_prefix` would point npm and npx back at the checkout) and our own
 * settings (`FIRST_RUN_*`, but for the code cache directory the test run chose).
 */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key.startsWith('FIRST_RUN_') || key.startsWith('NEXY_') || key.startsWith('VITEST')) continue;
    env[key] = value;
  }
  // The code cache stays where the test run keeps it (vitest.config.ts), out of the developer's home.
  const cache = process.env.FIRST_RUN_CODE_CACHE_DIR ? { FIRST_RUN_CODE_CACHE_DIR: process.env.FIRST_RUN_CODE_CACHE_DIR } : {};
  return { ...env, ...cache, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}

/** The files `npm pack` may put in the tarball (package.json `files`, plus what npm always adds). */
function packableFiles(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] };
  const roots = ['package.json', 'README.md', 'LICENSE', ...pkg.files.filter((f) => !f.startsWith('!')).map((f) => f.replace(/\/?\*.*$/, '').replace(/\/$/, ''))];
  const files: string[] = [];
  const walk = (path: string) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else if (stat.isFile()) files.push(path);
  };
  for (const root of [...new Set(roots)]) walk(join(REPO_ROOT, root));
  return files;
}

function packageHash(): string {
  const hash = createHash('sha256');
  for (const file of packableFiles()) hash.update(relative(REPO_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 20);
}

/** `make()` once per process: its promise is shared while it lasts; a failure is not kept (the next call tries again). */
export function onceUntilFailed<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

/**
 * The tarball of this checkout (`npm pack`), built once per content and cached in the temp dir.
 * @throws Error when `dist/` has not been built (`npm run build`) or `npm pack` fails.
 */
export const packTarball: () => Promise<string> = onceUntilFailed(packOnce);

async function packOnce(): Promise<string> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'index.js')) || !existsSync(join(REPO_ROOT, 'dist', 'cjs', 'index.cjs'))) {
    throw new Error(`${REPO_ROOT}/dist is not built: run \`npm run build\` (\`npm test\` does) before the package checks.`);
  }
  const cacheDir = join(tmpdir(), `${PACKAGE_NAME}-pack-${packageHash()}`);
  const tarball = join(cacheDir, `${PACKAGE_NAME}.tgz`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(cacheDir, { recursive: true });
  const privateDir = mkdtempSync(join(cacheDir, 'packing-'));
  try {
    const result = await runCommand('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', privateDir], REPO_ROOT);
    if (result.code !== 0) throw new Error(`npm pack failed (exit ${result.code}):\n${result.stderr}`);
    const [packed] = JSON.parse(result.stdout) as Array<{ filename: string }>;
    if (!packed) throw new Error(`npm pack printed no file:\n${result.stdout}`);
    renameSync(join(privateDir, packed.filename), tarball);
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
  return tarball;
}

/** The kinds of consumer project: plain ESM, plain CommonJS, and TypeScript under each resolution mode. */
export type ConsumerKind = 'esm' | 'cjs' | 'ts-node16' | 'ts-bundler';

export interface ConsumerProject {
  /** The project's directory (the tarball installed in its `node_modules`). */
  dir: string;
  /** Run a command in the project's directory (no shell; `npm_*` settings of the caller removed). */
  run(cmd: string, args: string[]): Promise<CommandResult>;
}

export interface ConsumerOptions {
  /** Installed with the package, e.g. `{ vitest: '^4.1.12' }` (npm's cache first). */
  devDependencies?: Record<string, string>;
  /**
   * `npm install --ignore-scripts`: no install script of any package runs. For `electron`, whose
   * postinstall downloads its binary from GitHub — its type declarations are all a check needs.
   */
  ignoreScripts?: boolean;
}

/** The version of a package installed in this checkout (so npm finds it in its cache). */
export function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The compiler options every TypeScript consumer shares: `strict`, as an app team has it. */
const STRICT_TS = { target: 'ES2022', lib: ['ES2022'], types: ['node'], strict: true, noUncheckedIndexedAccess: true, noEmitOnError: true };

function projectFiles(kind: ConsumerKind): Record<string, unknown> {
  switch (kind) {
    case 'esm':
      return { 'package.json': { type: 'module' } };
    case 'cjs':
      return { 'package.json': { type: 'commonjs' } };
    case 'ts-node16':
      // ESM by default (`.ts`); a `.cts` file in the same project is CommonJS. As strict as an app may
      // be: `exactOptionalPropertyTypes`, which xstate's own declarations do not pass — so, as such
      // an app must, `skipLibCheck`.
      return {
        'package.json': { type: 'module' },
        'tsconfig.json': { compilerOptions: { ...STRICT_TS, exactOptionalPropertyTypes: true, skipLibCheck: true, module: 'node16', moduleResolution: 'node16', outDir: 'out', rootDir: '.' } },
      };
    case 'ts-bundler':
      // Every declaration file checked (`skipLibCheck: false`): ours must compile as shipped.
      return { 'package.json': { type: 'module' }, 'tsconfig.json': { compilerOptions: { ...STRICT_TS, skipLibCheck: false, module: 'preserve', moduleResolution: 'bundler', noEmit: true } } };
  }
}

/**
 * A fresh project in a temp dir with the packed tarball installed (`npm install --prefer-offline`).
 * TypeScript kinds also get `typescript` and `@types/node` (the versions this checkout uses).
 * @throws Error with npm's output when the install fails.
 */
export async function createConsumerProject(kind: ConsumerKind, opts: ConsumerOptions = {}): Promise<ConsumerProject> {
  const tarball = await packTarball();
  const dir = mkdtempSync(join(tmpdir(), `first-run-consumer-${kind}-`));
  const files = projectFiles(kind);
  const tsDeps = kind.startsWith('ts-') ? { typescript: installedVersion('typescript'), '@types/node': installedVersion('@types/node') } : {};
  const pkg = {
    name: `consumer-${kind}`,
    version: '0.0.0',
    private: true,
    ...(files['package.json'] as object),
    dependencies: { [PACKAGE_NAME]: `file:${tarball}` },
    devDependencies: { ...tsDeps, ...opts.devDependencies },
  };
  for (const [name, content] of Object.entries({ ...files, 'package.json': pkg })) {
    writeFileSync(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
  }
  const scripts = opts.ignoreScripts === true ? ['--ignore-scripts'] : [];
  const install = await runCommand('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...scripts], dir);
  if (install.code !== 0) throw new Error(`npm install in ${dir} failed (exit ${install.code}):\n${install.stderr}\n${install.stdout}`);
  return { dir, run: (cmd, args) => runCommand(cmd, args, dir) };
}

/** A command's outcome, for an assertion's message: exit code, stdout and stderr. */
export function explain(result: CommandResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
