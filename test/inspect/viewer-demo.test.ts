/**
 * The offline viewer (`first-run inspect`) sees the whole first run, with the same guarantees as the
 * Stately inspector (issue 12): `first-run demo --inspect-viewer` (two processes: one real relaunch)
 * streams to a viewer server on loopback, which must end with two sessions with distinct ids and
 * pids, each orchestrator root kept under its own session, the first process's last root state
 * handed off (past the restart request), the successor's COMPLETED, and both streams closed with a
 * `bye` and nothing dropped (close flushed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startViewerServer, type ViewerServer } from '../../src/inspect/viewer-server.js';
import { assertDemoBuilt, run, waitUntil } from './helpers.js';

let server: ViewerServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('offline viewer: a whole demo run across the relaunch', () => {
  it('should keep both processes apart and receive their final states', { timeout: 180_000 }, async () => {
    assertDemoBuilt();
    server = await startViewerServer({ port: 0 });
    const demo = await run(['demo', '--inspect-viewer', server.url, '--json'], 150_000);
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    const viewer = server;
    await waitUntil(() => viewer.state().sessions.length === 2 && viewer.state().sessions.every((s) => s.ended), 5_000);

    const { sessions, actors } = viewer.state();
    console.log(`offline viewer: per process: ${sessions.map((s) => `pid ${s.pid} ${s.messages} messages, ${s.dropped} dropped`).join('; ')}`);
    expect(sessions).toHaveLength(2);
    const [first, second] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
    expect(first.session).not.toBe(second.session);
    expect(first.pid).not.toBe(second.pid);
    for (const session of sessions) {
      expect(session.ended, `pid ${session.pid} said bye: its close() flushed`).toBe(true);
      expect(session.dropped).toBe(0);
    }
    const roots = actors.filter((actor) => actor.machine === 'orchestrator' && actor.parent === undefined);
    expect(roots.map((root) => root.session).sort()).toEqual([first.session, second.session].sort());
    expect(new Set(actors.map((actor) => actor.key)).size).toBe(actors.length);
    const rootOf = (session: string) => roots.find((root) => root.session === session)!;
    expect(rootOf(first.session).value, "the first process's last state").toEqual({ RESTART_REQUESTED: 'handedOff' });
    expect(rootOf(second.session).value, "the successor's last state").toBe('COMPLETED');
  });
});
