import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDevRestarter } from '../../src/dev/dev-restarter.js';
import { createFileWatcher, type FileWatcher } from '../../src/dev/file-watcher.js';
import { DevRestartError } from '../../src/errors.js';
import { waitUntil } from './helpers.js';

const dirs: string[] = [];
const watchers: FileWatcher[] = [];
afterEach(() => {
  for (const watcher of watchers.splice(0)) watcher.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree() {
  const dir = mkdtempSync(path.join(tmpdir(), 'watch-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'src', 'deep'), { recursive: true });
  mkdirSync(path.join(dir, 'node_modules', 'pkg'), { recursive: true });
  mkdirSync(path.join(dir, 'state'));
  for (const file of ['src/a.ts', 'src/deep/b.ts', 'node_modules/pkg/index.js', 'state/events.ndjson']) {
    writeFileSync(path.join(dir, file), 'x');
    // Older than this process: not "changed since start".
    utimesSync(path.join(dir, file), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  }
  return dir;
}

describe('createFileWatcher', () => {
  it('should report created, modified and deleted files, and skip ignored names and paths', async () => {
    const dir = tree();
    const seen: string[] = [];
    const watcher = createFileWatcher({ roots: [dir], ignorePaths: [path.join(dir, 'state')], intervalMs: 20, onChange: (files) => seen.push(...files) });
    watchers.push(watcher);
    expect(watcher.initial).toEqual({ files: 2, changedSinceStart: [] });

    writeFileSync(path.join(dir, 'node_modules', 'pkg', 'index.js'), 'changed');
    writeFileSync(path.join(dir, 'state', 'events.ndjson'), 'changed');
    writeFileSync(path.join(dir, 'src', 'deep', 'b.ts'), 'changed!');
    writeFileSync(path.join(dir, 'src', 'c.ts'), 'new');
    unlinkSync(path.join(dir, 'src', 'a.ts'));
    await waitUntil('three changes', () => new Set(seen).size >= 3, 5_000);
    expect(new Set(seen)).toEqual(new Set(['src/deep/b.ts', 'src/c.ts', 'src/a.ts'].map((file) => path.join(dir, file))));
  });

  it('should report files changed after `since` on its first walk', () => {
    const dir = tree();
    writeFileSync(path.join(dir, 'src', 'a.ts'), 'changed after start');
    const watcher = createFileWatcher({ roots: [path.join(dir, 'src')], since: Date.now() - 5_000, onChange: () => {} });
    watchers.push(watcher);
    expect(watcher.initial.changedSinceStart).toEqual([path.join(dir, 'src', 'a.ts')]);
  });
});

describe('createDevRestarter', () => {
  const base = { saveState: () => ({ snapshot: null, app: null, phase: null, restartCount: null }), releaseLock: () => {} };

  it.each([
    [{ watch: [] }, /`watch` to name at least one/],
    [{ watch: ['/nonexistent/dir'] }, /every `watch` entry to be an existing file or directory, got `"\/nonexistent\/dir"`/],
    [{ debounceMs: -1 }, /`debounceMs` to be a whole number of milliseconds from 0/],
    [{ shutdownTimeoutMs: 1.5 }, /`shutdownTimeoutMs`.*got `1.5` \(number\)/],
  ])('should refuse %j, naming the option', (bad, message) => {
    const dir = tree();
    const create = () => createDevRestarter({ ...base, stateDir: path.join(dir, 'state'), watch: [path.join(dir, 'src')], ...bad });
    expect(create).toThrow(DevRestartError);
    expect(create).toThrow(message);
  });

  it('should deliver events while running and refuse dispatch without `deliver`', async () => {
    const dir = tree();
    const delivered: unknown[] = [];
    const restarter = createDevRestarter({ ...base, stateDir: path.join(dir, 'state'), watch: [path.join(dir, 'src')], deliver: (event) => delivered.push(event) });
    restarter.dispatch({ type: 'app.mode_changed', mode: 'LISTENING' });
    expect(delivered).toEqual([{ type: 'app.mode_changed', mode: 'LISTENING' }]);
    expect(restarter.state).toBe('watching');
    await restarter.close();
    const bare = createDevRestarter({ ...base, stateDir: path.join(dir, 'state'), watch: [path.join(dir, 'src')] });
    expect(() => bare.dispatch({ type: 'tray.quit_clicked' })).toThrow(/needs the `deliver` option/);
    await bare.close();
  });
});
