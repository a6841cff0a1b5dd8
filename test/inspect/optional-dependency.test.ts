/**
 * `@statelyai/inspect` is an optional peer dependency: a host without it must get a clear coded error
 * (ERR_OPTIONAL_DEPENDENCY, naming the package and `npm install @statelyai/inspect`) when it asks for
 * the Stately inspector, and nothing else may need it.
 *
 * Real, not mocked: the built package is copied into a temp project whose node_modules has the
 * package's dependencies but no @statelyai/inspect, and run there by Node's own resolution.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDemoBuilt, ROOT } from './helpers.js';

let project: string;
let installed: string;

beforeAll(() => {
  assertDemoBuilt();
  project = mkdtempSync(join(tmpdir(), 'first-run-no-stately-'));
  installed = join(project, 'node_modules', 'first-run-orchestrator');
  mkdirSync(installed, { recursive: true });
  for (const entry of ['package.json', 'bin', 'dist', 'machines', 'statecharts']) cpSync(join(ROOT, entry), join(installed, entry), { recursive: true });
  // src/inspect/viewer-page is read at run time by the viewer; the rest of src/ is not needed.
  cpSync(join(ROOT, 'src', 'inspect', 'viewer-page'), join(installed, 'src', 'inspect', 'viewer-page'), { recursive: true });
  // The package's own dependencies, as npm would install them; @statelyai/inspect is a peer, left out.
  const { dependencies = {} } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dependency of Object.keys(dependencies)) {
    symlinkSync(join(ROOT, 'node_modules', dependency), join(project, 'node_modules', dependency), 'dir');
  }
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

describe('without @statelyai/inspect installed', () => {
  it('should really be missing there (the premise of this test)', () => {
    const probe = node(['--input-type=module', '-e', "import('@statelyai/inspect').then(() => console.log('found'), (e) => console.log(e.code))"]);
    expect(probe.stdout.trim()).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('should reject startStatelyRelay and warn from createStatelyInspection with ERR_OPTIONAL_DEPENDENCY', () => {
    const entry = join(installed, 'dist', 'src', 'inspect', 'index.js');
    const script = `
      const inspect = await import(${JSON.stringify(entry)});
      const out = {};
      try { await inspect.startStatelyRelay({ port: 0 }); out.relay = 'started'; } catch (e) { out.relay = { code: e.code, name: e.name, message: e.message }; }
      try { await inspect.loadStatelyInspect(); out.load = 'loaded'; } catch (e) { out.load = e.code; }
      const warnings = [];
      const stately = inspect.createStatelyInspection({ url: 'ws://127.0.0.1:9', onWarning: (m) => warnings.push(m) });
      await stately.close();
      out.warnings = warnings;
      console.log(JSON.stringify(out));
    `;
    const child = node(['--input-type=module', '-e', script]);
    expect(child.stderr).toBe('');
    const out = JSON.parse(child.stdout) as { relay: { code: string; name: string; message: string }; load: string; warnings: string[] };
    expect(out.relay.code).toBe('ERR_OPTIONAL_DEPENDENCY');
    expect(out.relay.name).toBe('OptionalDependencyError');
    expect(out.relay.message).toContain('`@statelyai/inspect`');
    expect(out.relay.message).toContain('npm install @statelyai/inspect');
    expect(out.load).toBe('ERR_OPTIONAL_DEPENDENCY');
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toContain('npm install @statelyai/inspect');
  });

  it('should make `launch --inspect` fail before running, naming the package, and run without it otherwise', () => {
    const db = join(project, 'tcc.json');
    writeFileSync(db, JSON.stringify({ permissions: { microphone: { status: 'granted' }, accessibility: { status: 'granted' }, input_monitoring: { status: 'granted' }, screen_capture: { status: 'granted' } } }));
    const bin = join(installed, 'bin', 'first-run.js');
    const common = ['launch', '--backend', 'sim', '--sim-db', db, '--json'];
    const inspected = node([bin, ...common, '--state-dir', join(project, 'a'), '--inspect']);
    expect(inspected.status).not.toBe(0);
    const error = (JSON.parse(inspected.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('ERR_OPTIONAL_DEPENDENCY');
    expect(error.message).toContain('npm install @statelyai/inspect');

    const plain = node([bin, ...common, '--state-dir', join(project, 'b')]);
    expect(plain.status, plain.stderr).toBe(0);
    expect((JSON.parse(plain.stdout) as { phase: string }).phase).toBe('COMPLETED');
  });
});
