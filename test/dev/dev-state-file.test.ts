/**
 * The dev-restart state file is read like every other file of the state dir: checked on the open
 * descriptor, so a FIFO (or a link) at its name is refused at once instead of blocking the restart. In a
 * child process, so a regression that blocks is killed by the bound instead of hanging the test worker.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEV_STATE_FILE } from '../../src/dev/dev-state-file.js';
import { assertBuilt, endsWithin, type Launched } from '../support/processes.js';
import { tempDir } from '../support/temp-dir.js';

const MODULE = resolve(import.meta.dirname, '../../dist/src/dev/dev-state-file.js');

function readInChild(stateDir: string): Launched {
  const script = `import { readDevState } from ${JSON.stringify(MODULE)};
    try { readDevState(${JSON.stringify(stateDir)}, 'token'); console.log('read'); } catch (error) { console.log(error.code + ': ' + error.message); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((done) =>
    child.on('exit', (code, signal) => setImmediate(() => done({ code, signal, stdout, stderr }))),
  );
  return { child, exited, stdout: () => stdout };
}

describe('the dev-restart state file', () => {
  it('a FIFO at its name is refused at once, with an error naming it', async () => {
    assertBuilt();
    const stateDir = join(tempDir('dev-state-'), 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    execFileSync('mkfifo', [join(stateDir, DEV_STATE_FILE)]);
    const result = await endsWithin(readInChild(stateDir), 10_000);
    expect(result.stdout).toMatch(/^ERR_DEV_RESTART: Cannot read the dev-restart state file .*dev-restart-state\.json: .*FIFO/);
  });
});
