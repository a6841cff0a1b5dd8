import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { runCli } from '../../src/cli/main.js';
import { runInspect } from '../../src/cli/commands/inspect.js';
import {
  isLoopbackHost,
  isLoopbackHostHeader,
  resolveBindOptions,
  startViewerServer,
  type ViewerServer,
} from '../../src/inspect/viewer-server.js';
import { packageRoot } from '../../src/inspect/package-root.js';

function request(
  server: ViewerServer,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers ?? {}, setHost: !options.headers?.host },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: {} }, out, err };
};

describe('viewer server', () => {
  let server: ViewerServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  describe('loopback only', () => {
    it.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost', 'LOCALHOST'])('should accept %s as loopback', (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    });

    it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', 'localhost.evil.example', '128.0.0.1', ''])(
      'should refuse to bind %j with a UsageError',
      (host) => {
        expect(() => resolveBindOptions({ host })).toThrow(UsageError);
        expect(() => resolveBindOptions({ host })).toThrow(/loopback/);
      },
    );

    it('should refuse a non-loopback host before binding anything', async () => {
      await expect(startViewerServer({ host: '0.0.0.0', port: 0 })).rejects.toBeInstanceOf(UsageError);
    });

    it.each(['-1', '65536', 'abc', '1.5'])('should refuse --port %s', (port) => {
      expect(() => resolveBindOptions({ port })).toThrow(/--port/);
    });

    it('should exit 2 from `first-run inspect --host 0.0.0.0`, naming the option', async () => {
      const { io, err } = capture();
      expect(await runCli(['inspect', '--host', '0.0.0.0', '--port', '0'], io)).toBe(2);
      expect(err.join('\n')).toMatch(/--host.*loopback/);
    });

    it('should print one JSON line {"url"} with --json, serve, and stop with exit 0', async () => {
      const { io, out } = capture();
      let stop!: () => void;
      const until = new Promise<void>((resolve) => (stop = resolve));
      let served = 0;
      const code = runInspect({ command: 'inspect', options: { port: '0', json: true } }, io, {
        until,
        onListening: (url) => {
          void fetch(`${url}state`).then((res) => {
            served = res.status;
            stop();
          });
        },
      });
      expect(await code).toBe(0);
      expect(served).toBe(200);
      expect(out).toHaveLength(1);
      expect(JSON.parse(out[0]!)).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/), host: '127.0.0.1' });
    });

    it.each([
      ['127.0.0.1:5680', true],
      ['localhost:5680', true],
      ['[::1]:5680', true],
      ['127.0.0.1:5681', false],
      ['evil.example:5680', false],
      ['evil.example', false],
      ['127.0.0.1.nip.io:5680', false],
      [undefined, false],
      ['', false],
    ] as const)('should judge the Host header %j → %s', (header, ok) => {
      expect(isLoopbackHostHeader(header, 5680)).toBe(ok);
    });

    it('should answer a loopback Host and refuse a foreign one (DNS rebinding)', async () => {
      server = await startViewerServer({ port: 0 });
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const ok = await request(server, { path: '/state' });
      expect(ok.status).toBe(200);
      const local = await request(server, { path: '/state', headers: { host: `localhost:${server.port}` } });
      expect(local.status).toBe(200);
      for (const host of [`evil.example:${server.port}`, 'evil.example', `127.0.0.1:${server.port + 1}`]) {
        const refused = await request(server, { path: '/state', headers: { host } });
        expect(refused.status).toBe(403);
        expect(refused.body).toMatch(/Host header/);
        const ingest = await request(server, { method: 'POST', path: '/ingest', headers: { host }, body: '' });
        expect(ingest.status).toBe(403);
      }
    });

    it('should refuse a stream posted from a foreign web origin', async () => {
      server = await startViewerServer({ port: 0 });
      const res = await request(server, { method: 'POST', path: '/ingest', headers: { origin: 'https://evil.example' }, body: '' });
      expect(res.status).toBe(403);
    });
  });

  describe('ingest', () => {
    it('should keep valid messages and ignore garbage without failing', async () => {
      server = await startViewerServer({ port: 0 });
      const good = { v: 1, kind: 'hello', pid: 42, session: 's1', seq: 0, t: 1, startedAt: 1 };
      const snapshot = {
        v: 1,
        kind: 'snapshot',
        pid: 42,
        session: 's1',
        seq: 1,
        t: 2,
        actor: { id: 'x:0', name: 'orchestrator', machine: 'orchestrator' },
        value: { PIPELINE: 'step' },
        status: 'active',
        event: 'x',
      };
      const body = [JSON.stringify(good), '{not json', '[]', 'null', JSON.stringify({ v: 2 }), JSON.stringify({ ...good, pid: -1 }), JSON.stringify(snapshot)].join('\n');
      const res = await request(server, { method: 'POST', path: '/ingest', headers: { 'content-type': 'application/x-ndjson' }, body });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ accepted: 2, rejected: 5 });
      const state = server.state();
      expect(state.phase?.phase).toBe('PIPELINE');
      expect(state.actors[0]?.active).toEqual(['orchestrator', 'orchestrator.PIPELINE', 'orchestrator.PIPELINE.step']);
    });

    it('should keep the transitions of the last macrostep that took any, bounded and validated', async () => {
      server = await startViewerServer({ port: 0 });
      const snapshot = (seq: number, event: string, transitions?: unknown) => ({
        v: 1,
        kind: 'snapshot',
        pid: 42,
        session: 's1',
        seq,
        t: seq,
        actor: { id: 'x:0', name: 'tray', machine: 'tray' },
        value: 'following',
        status: 'active',
        event,
        ...(transitions === undefined ? {} : { transitions }),
      });
      const taken = [{ source: 'tray.firstRun', targets: ['tray.following'], event: 'permissions.first_run_completed' }];
      const garbage = [null, 'x', { source: '', targets: [], event: 'a' }, { source: 'tray', targets: 'tray.following', event: 'a' }, { source: 'tray', targets: [], event: 5 }];
      const post = (...messages: unknown[]) =>
        request(server!, { method: 'POST', path: '/ingest', headers: { 'content-type': 'application/x-ndjson' }, body: messages.map((m) => JSON.stringify(m)).join('\n') });
      await post(snapshot(1, 'permissions.first_run_completed', [...garbage, ...taken]));
      expect(server.state().actors[0]?.transitions).toEqual(taken);
      // An event that took no transition (here the actor's stop) leaves the last transition shown.
      await post(snapshot(2, 'xstate.stop', []), snapshot(3, 'xstate.stop'));
      expect(server.state().actors[0]?.transitions).toEqual(taken);
      const many = Array.from({ length: 100 }, (_, i) => ({ source: 'tray.following', targets: [], event: `e${i}` }));
      await post(snapshot(4, 'e', many));
      expect(server.state().actors[0]?.transitions).toHaveLength(32);
    });

    it('should refuse a batch over the size limit with 413', async () => {
      server = await startViewerServer({ port: 0 });
      const res = await request(server, { method: 'POST', path: '/ingest', body: 'x'.repeat(3 * 1024 * 1024) }).catch(() => ({ status: 413, body: '', headers: {} }));
      expect(res.status).toBe(413);
      expect((await request(server, { path: '/state' })).status).toBe(200);
    });
  });

  describe('page', () => {
    it('should serve the page, its assets and the SVG of every machine', async () => {
      server = await startViewerServer({ port: 0 });
      const page = await request(server, { path: '/' });
      expect(page.status).toBe(200);
      expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
      expect(page.body).toContain('/viewer.js');
      expect((await request(server, { path: '/viewer.js' })).status).toBe(200);
      expect((await request(server, { path: '/viewer.css' })).status).toBe(200);
      for (const machine of ['orchestrator', 'permissionStep', 'relaunchGate', 'quitIntent', 'tray']) {
        const svg = await request(server, { path: `/statecharts/${machine}.svg` });
        expect(svg.status).toBe(200);
        expect(svg.body).toMatch(/^<svg /);
      }
      expect((await request(server, { path: '/statecharts/../../etc/passwd.svg' })).status).toBe(404);
      expect((await request(server, { path: '/../package.json' })).status).toBe(404);
    });

    it('should ship the page with no reference to any other host (works offline)', () => {
      const dir = join(packageRoot(), 'src', 'inspect', 'viewer-page');
      for (const file of readdirSync(dir)) {
        const text = readFileSync(join(dir, file), 'utf8');
        expect(text, file).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
      }
    });

    it('should send the whole state to a page that connects, then patches', async () => {
      server = await startViewerServer({ port: 0 });
      const events: string[] = [];
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/events' });
      const got = new Promise<void>((resolve) => {
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            events.push(chunk);
            if (events.join('').includes('event: patch')) resolve();
          });
          void request(server!, { method: 'POST', path: '/ingest', body: JSON.stringify({ v: 1, kind: 'hello', pid: 7, session: 's', seq: 0, t: 1, startedAt: 1 }) });
        });
      });
      await got;
      req.destroy();
      const text = events.join('');
      expect(text).toContain('event: reset');
      expect(text).toMatch(/event: patch\ndata: .*"pid":7/);
    });
  });
});
