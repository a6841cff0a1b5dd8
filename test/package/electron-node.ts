/**
 * HE-8: the lowest Node line Electron ships — Node 20.18.0 in Electron 33 — as a real binary, for the
 * consumer checks. It comes from the npm registry (`node-<platform>-<arch>`, the binary package behind
 * the `node` package, without that package's install script), through `npm pack`, so npm's cache serves
 * every later run; it is unpacked once into a temp dir keyed by version, platform and arch. Offline except
 * for the npm registry, like the rest of test/package/.
 *
 * Safe when several vitest workers ask at once: each unpacks into a private dir and renames it into place.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onceUntilFailed, runCommand } from './packed.js';

/** Electron 33's Node (Electron 34 has 20.18.1): the oldest Node the package promises to run on in an app. */
export const ELECTRON_NODE_VERSION = '20.18.0';

/**
 * The path of a Node {@link ELECTRON_NODE_VERSION} binary for this platform, fetched once.
 * @throws Error with npm's output when the registry has no such binary or `npm pack` fails.
 */
export const electronNode: () => Promise<string> = onceUntilFailed(fetchOnce);

/** Whether `binary` runs and says it is the expected version (a torn unpack fails this, and is redone). */
function runsAsExpected(binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0 && probe.stdout.trim() === `v${ELECTRON_NODE_VERSION}`;
}

async function fetchOnce(): Promise<string> {
  const pkg = `node-${process.platform}-${process.arch}`;
  const home = join(tmpdir(), `first-run-${pkg}-${ELECTRON_NODE_VERSION}`);
  const binary = join(home, 'package', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(binary) && runsAsExpected(binary)) return binary;
  const parent = join(tmpdir(), 'first-run-node-unpacking');
  mkdirSync(parent, { recursive: true });
  const privateDir = mkdtempSync(join(parent, `${pkg}-`));
  try {
    const packed = await runCommand('npm', ['pack', `${pkg}@${ELECTRON_NODE_VERSION}`, '--prefer-offline', '--json', '--pack-destination', privateDir], privateDir);
    if (packed.code !== 0) throw new Error(`npm pack ${pkg}@${ELECTRON_NODE_VERSION} failed (exit ${packed.code}):\n${packed.stderr}`);
    const [entry] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    if (!entry) throw new Error(`npm pack ${pkg}@${ELECTRON_NODE_VERSION} printed no file:\n${packed.stdout}`);
    const unpack = await runCommand('tar', ['-xzf', join(privateDir, entry.filename), '-C', privateDir], privateDir);
    if (unpack.code !== 0) throw new Error(`tar could not unpack ${entry.filename} (exit ${unpack.code}):\n${unpack.stderr}`);
    // A torn copy from an interrupted run is replaced; a good one another worker just put there is kept.
    if (existsSync(home) && !(existsSync(binary) && runsAsExpected(binary))) rmSync(home, { recursive: true, force: true });
    try {
      renameSync(privateDir, home);
    } catch (error) {
      // Another worker put its copy in place first: use that one.
      if (!existsSync(binary)) throw error;
    }
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
  if (!runsAsExpected(binary)) throw new Error(`${binary} does not run as Node v${ELECTRON_NODE_VERSION}`);
  return binary;
}
