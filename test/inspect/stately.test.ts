import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createWebSocketReceiver } from '@statelyai/inspect';
import { createActor, createMachine } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { InspectorRelayError, UsageError } from '../../src/errors.js';
import { createInspectionHooks } from '../../src/inspect/index.js';
import { loadWebSocketModule } from '../../src/inspect/stately-module.js';
import { createStatelyInspection, prefixSessionIds, startStatelyRelay, type StatelyRelay } from '../../src/inspect/stately.js';
import { freePort, ROOT, waitUntil } from './helpers.js';

const toggle = createMachine({ id: 'toggle', initial: 'off', states: { off: { on: { flip: 'on' } }, on: { on: { flip: 'off' } } } });
type Message = { type: string; sessionId?: string; rootId?: string; snapshot?: { value?: unknown } };

const relays: StatelyRelay[] = [];
afterEach(async () => {
  for (const relay of relays.splice(0)) await relay.stop();
});

async function relay(): Promise<StatelyRelay> {
  const started = await startStatelyRelay({ port: 0 });
  relays.push(started);
  return started;
}

/** A viewer of the relay, recording every message (listening before 'open': the relay replays at once). */
async function viewer(url: string): Promise<{ messages: Message[]; close(): void }> {
  const WebSocket = loadWebSocketModule();
  const socket = new WebSocket(url);
  const messages: Message[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('error', reject);
  });
  return { messages, close: () => socket.terminate() };
}

const lastValue = (messages: Message[]) => messages.filter((m) => m.type === '@xstate.snapshot').at(-1)?.snapshot?.value;

describe('Stately inspector', () => {
  it('should refuse a URL that is not ws(s)', () => {
    expect(() => createStatelyInspection({ url: 'http://localhost:5678' })).toThrow(UsageError);
    expect(() => createInspectionHooks({ stately: { url: 'nope' } })).toThrow(UsageError);
  });

  it('should stream inspection events through the relay to a @statelyai/inspect receiver', async () => {
    const started = await relay();
    const { wsUrl } = started;
    expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const received: Message[] = [];
    createWebSocketReceiver({ server: wsUrl }).subscribe((event) => received.push(event as never));
    expect(await waitUntil(() => started.stats().clients >= 1, 5_000)).toBe(true); // the receiver is connected
    const warnings: string[] = [];
    const stately = createStatelyInspection({ url: wsUrl, onWarning: (m) => warnings.push(m) });
    const actor = createActor(toggle, { inspect: stately.inspect }).start();
    actor.send({ type: 'flip' });
    expect(await waitUntil(() => lastValue(received) === 'on', 5_000)).toBe(true);
    expect(received.some((e) => e.type === '@xstate.actor')).toBe(true);
    expect(warnings).toEqual([]);
    actor.stop();
    await stately.close();
  });

  it('should deliver every event emitted before close(), the last state included', async () => {
    const { wsUrl } = await relay();
    const seen = await viewer(wsUrl);
    const stately = createStatelyInspection({ url: wsUrl });
    const actor = createActor(toggle, { inspect: stately.inspect }).start();
    for (let i = 0; i < 301; i++) actor.send({ type: 'flip' });
    // No waiting: close() straight after the last transition, as a process does before it exits.
    await stately.close();
    expect(stately.stats).toEqual({ sent: expect.any(Number), dropped: 0, undelivered: 0 });
    expect(await waitUntil(() => seen.messages.length >= stately.stats.sent, 5_000)).toBe(true);
    expect(lastValue(seen.messages)).toBe('on');
    // 1 registration, 302 snapshots (start + 301 flips), 302 events.
    expect(seen.messages.filter((m) => m.type === '@xstate.snapshot')).toHaveLength(302);
    seen.close();
  });

  it('should prefix every session id with a per-process id, so two processes never share one', async () => {
    expect(prefixSessionIds({ type: '@xstate.event', sessionId: 'x:1', rootId: 'x:0', sourceId: 'x:2' }, 'p1-ab')).toEqual({
      type: '@xstate.event',
      sessionId: 'p1-ab:x:1',
      rootId: 'p1-ab:x:0',
      sourceId: 'p1-ab:x:2',
    });
    const { wsUrl } = await relay();
    const seen = await viewer(wsUrl);
    // Two "processes": each numbers its actors from x:0.
    for (const prefix of ['first', 'second']) {
      const stately = createStatelyInspection({ url: wsUrl, sessionPrefix: prefix });
      createActor(toggle, { inspect: stately.inspect }).start().send({ type: 'flip' });
      await stately.close();
    }
    await waitUntil(() => seen.messages.filter((m) => m.type === '@xstate.actor').length >= 2, 5_000);
    const roots = seen.messages.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId);
    expect(roots).toEqual([expect.stringMatching(/^first:x:\d+$/), expect.stringMatching(/^second:x:\d+$/)]);
    seen.close();
  });

  it('should give a late viewer every actor\'s registration and latest snapshot, however many messages came before', async () => {
    const started = await relay();
    const stately = createStatelyInspection({ url: started.wsUrl, sessionPrefix: 'app' });
    const root = createActor(toggle, { inspect: stately.inspect }).start();
    for (let i = 0; i < 500; i++) root.send({ type: 'flip' });
    const other = createActor(toggle, { inspect: stately.inspect }).start();
    await stately.close();
    // Sent is on the wire; the viewer comes once the relay has read it all.
    expect(await waitUntil(() => started.stats().received === stately.stats.sent, 5_000)).toBe(true);
    expect(stately.stats.dropped).toBeGreaterThan(0); // the queue overflowed before the relay answered…
    const late = await viewer(started.wsUrl);
    await waitUntil(() => late.messages.length >= 4, 5_000);
    const [first, second] = [`app:${root.sessionId}`, `app:${other.sessionId}`];
    expect(late.messages.map((m) => [m.type, m.sessionId, m.snapshot?.value])).toEqual([
      ['@xstate.actor', first, 'off'],
      ['@xstate.snapshot', first, 'off'], // after 500 flips: the latest, not the first
      ['@xstate.actor', second, 'off'],
      ['@xstate.snapshot', second, 'off'],
    ]);
    expect(root.getSnapshot().value).toBe('off');
    other.stop();
    late.close();
  });

  it('should reject a busy port with ERR_INSPECTOR_RELAY and keep the process alive', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await startStatelyRelay({ port }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InspectorRelayError);
      expect((error as InspectorRelayError).code).toBe('ERR_INSPECTOR_RELAY');
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      expect((error as Error).message).toContain('already in use');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('should resolve only once the port is bound, and refuse a host that is not loopback', async () => {
    const started = await relay();
    const probe = await fetch(started.pageUrl);
    expect(probe.status).toBe(200);
    expect(await probe.text()).toContain('https://stately.ai/inspect');
    await expect(startStatelyRelay({ host: '0.0.0.0', port: 0 })).rejects.toThrow(UsageError);
  });

  it('should refuse a page from a foreign origin', async () => {
    const { wsUrl } = await relay();
    const WebSocket = loadWebSocketModule() as unknown as new (url: string, options: { headers: Record<string, string> }) => ReturnType<typeof loadWebSocketModule> extends new (...a: never[]) => infer S ? S : never;
    const socket = new WebSocket(wsUrl, { headers: { Origin: 'https://evil.example' } });
    const code = await new Promise<number>((resolve) => (socket as unknown as { on(e: 'close', l: (code: number) => void): void }).on('close', resolve));
    expect(code).toBe(1008);
  });

  it('should warn once about an unreachable relay, then report what it could not deliver, and not throw', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const stately = createStatelyInspection({ url: `ws://127.0.0.1:${port}`, onWarning: (m) => warnings.push(m), connectTimeoutMs: 300, closeTimeoutMs: 200 });
    const actor = createActor(toggle, { inspect: stately.inspect }).start();
    for (let i = 0; i < 20; i++) actor.send({ type: 'flip' });
    await waitUntil(() => warnings.length > 0, 2_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not reachable/);
    expect(actor.getSnapshot().value).toBe('off');
    await stately.close();
    expect(warnings).toHaveLength(2);
    // 1 registration, 21 snapshots and 21 events (the init and 20 flips).
    expect(warnings[1]).toMatch(/^43 Stately inspection message\(s\) could not be delivered/);
    expect(stately.stats.undelivered).toBe(43);
  });

  it('should let the process exit after close() even when the relay never answered', async () => {
    const port = await freePort();
    const module = join(ROOT, 'dist', 'src', 'inspect', 'stately.js');
    const script = `
      import { createStatelyInspection } from ${JSON.stringify(module)};
      let failed;
      const warned = new Promise((resolve) => (failed = resolve));
      const stately = createStatelyInspection({ url: 'ws://127.0.0.1:${port}', onWarning: failed, connectTimeoutMs: 300 });
      stately.inspect({ type: '@xstate.event', event: { type: 'x' }, actorRef: { sessionId: 'x:0' }, rootId: 'x:0' });
      const keepAlive = setInterval(() => {}, 1000); // the link's own timers are unref'd
      await warned; // a connection attempt failed first
      clearInterval(keepAlive);
      await stately.close();
      // Nothing may keep the process alive after close(): no referenced timer (a retry), no socket.
      console.log(JSON.stringify(process.getActiveResourcesInfo()));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(child.status, child.stderr).toBe(0);
    const resources = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as string[];
    expect(resources.filter((r) => r === 'Timeout' || r.startsWith('TCP'))).toEqual([]);
  });
});
