/**
 * `first-run demo --keep` keeps its temporary state dir and says how to look into it with a command
 * that works where the user is (`npx first-run status …`). Without `--keep` the dir is removed:
 * test/package/consumer.test.ts checks that from the installed package. Runs the built CLI (dist/).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('first-run demo --keep', () => {
  it('should keep the state dir, print how to inspect it, and end COMPLETED', async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npm run build` first.');
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: process.env };
    const code = await runCli(['demo', '--keep'], io);
    const text = out.join('\n');
    const stateDir = /^state dir (\S+) \(kept: --keep\)$/m.exec(text)?.[1];
    try {
      expect(code, `${text}\n${err.join('\n')}`).toBe(0);
      expect(text).toMatch(/phase\s+COMPLETED/);
      expect(stateDir).toBeDefined();
      expect(existsSync(join(stateDir!, 'permission_ledger.json'))).toBe(true);
      expect(text).toContain(`inspect it again:  npx first-run status --state-dir ${stateDir}`);
      expect(text).not.toContain('node bin/first-run.js');
    } finally {
      if (stateDir) rmSync(dirname(stateDir), { recursive: true, force: true });
    }
  }, 120_000);
});
