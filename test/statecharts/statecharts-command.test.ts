import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { defaultStatechartsDir, statechartMachines } from '../../src/cli/commands/statecharts.js';
import { generateStatecharts } from '../../src/statecharts/index.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: {} }, out, err };
};

describe('first-run statecharts', () => {
  const dirs: string[] = [];
  const tempOut = () => {
    const dir = mkdtempSync(join(tmpdir(), 'first-run-statecharts-'));
    dirs.push(dir);
    return join(dir, 'out');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('should name the files after the machine modules (kebab-case)', () => {
    expect(Object.keys(statechartMachines()).sort()).toEqual(['orchestrator', 'permission-step', 'quit-intent', 'relaunch-gate', 'tray']);
  });

  it('should write every file, then find the folder current', async () => {
    const out = tempOut();
    const write = capture();
    expect(await runCli(['statecharts', '--out', out], write.io)).toBe(0);
    const files = readdirSync(out).sort();
    for (const name of ['orchestrator', 'permission-step', 'quit-intent', 'relaunch-gate', 'tray']) {
      for (const ext of ['md', 'mmd', 'svg', 'json']) expect(files).toContain(`${name}.${ext}`);
    }
    expect(files).toContain('index.md');
    expect(write.out.join('\n')).toMatch(/wrote 21 file\(s\)/);

    const check = capture();
    expect(await runCli(['statecharts', '--out', out, '--check'], check.io)).toBe(0);
    expect(check.out.join('\n')).toMatch(/up to date \(21 files\)/);
  });

  it('should exit 1 with --check, naming every stale and missing file and the fix', async () => {
    const out = tempOut();
    await runCli(['statecharts', '--out', out], capture().io);
    writeFileSync(join(out, 'tray.mmd'), 'stateDiagram-v2\n');
    rmSync(join(out, 'relaunch-gate.svg'));
    const check = capture();
    expect(await runCli(['statecharts', '--out', out, '--check'], check.io)).toBe(1);
    const text = check.err.join('\n');
    expect(text).toMatch(/stale\s+\S*tray\.mmd/);
    expect(text).toMatch(/missing\s+\S*relaunch-gate\.svg/);
    expect(text).toContain(`Run \`npx first-run statecharts --out ${out}\``);
    expect(readFileSync(join(out, 'tray.mmd'), 'utf8')).toBe('stateDiagram-v2\n');
  });

  it('should default --out to statecharts/ of the working directory, never the package', () => {
    expect(defaultStatechartsDir('/some/app')).toBe('/some/app/statecharts');
  });

  it('should print one JSON object with --json', async () => {
    const out = tempOut();
    const json = capture();
    expect(await runCli(['statecharts', '--out', out, '--check', '--json'], json.io)).toBe(1);
    const result = JSON.parse(json.out.join('')) as { ok: boolean; missing: string[]; stale: string[] };
    expect(result.ok).toBe(false);
    expect(result.missing).toHaveLength(21);
  });

  it('should keep the checked-in statecharts/ current with machines/ (run `npm run statecharts`)', async () => {
    const { stale } = await generateStatecharts({ machines: statechartMachines(), outDir: defaultStatechartsDir(), check: true });
    expect(stale).toEqual([]);
  });
});
