/**
 * Output goes to fd 1 with write(2) (src/cli/io.ts), never through `process.stdout`: a reader that is
 * gone (`first-run --help | head -0`) ends the output quietly with the exit code so far, no stack.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, BIN } from '../support/processes.js';

describe('a closed stdout', () => {
  it('ends the CLI quietly (EPIPE), exit 0, nothing on stderr', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader leaves before the first line
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('off Linux (stdout a stream), a reader that leaves never ends the process from the stream: the command goes on (HE-1)', async () => {
    const asMacos = join(import.meta.dirname, 'fixtures', 'as-macos.cjs');
    const child = spawn(process.execPath, ['--require', asMacos, BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('still prints everything to a live reader', async () => {
    const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    expect(stdout).toMatch(/^first-run — /);
    expect(stdout).toContain('Exit codes:');
  });

  it.runIf(existsSync('/dev/full'))('a stdout that fails otherwise (a full disk: /dev/full) stops that output and says so on stderr, never a crash', async () => {
    const out = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', out, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
      expect(code).toBe(0);
      expect(stderr).toBe('first-run: writing to stdout failed (ENOSPC); its output stops here\n');
    } finally {
      closeSync(out);
    }
  });
});
