import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createWebSocketReceiver } from '@statelyai/inspect';
import { createActor, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { createInspectionHooks } from '../../src/inspect/index.js';
import { packageRoot } from '../../src/inspect/package-root.js';
import { createStatelyInspection, startStatelyRelay } from '../../src/inspect/stately.js';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const toggle = createMachine({ id: 'toggle', initial: 'off', states: { off: { on: { flip: 'on' } }, on: { on: { flip: 'off' } } } });

describe('Stately inspector', () => {
  it('should refuse a URL that is not ws(s)', () => {
    expect(() => createStatelyInspection({ url: 'http://localhost:5678' })).toThrow(UsageError);
    expect(() => createInspectionHooks({ stately: { url: 'nope' } })).toThrow(UsageError);
  });

  it('should stream inspection events through the @statelyai/inspect relay', async () => {
    const port = await freePort();
    const relay = await startStatelyRelay({ port });
    expect(relay.wsUrl).toBe(`ws://localhost:${port}`);
    try {
      const received: { type: string; snapshot?: { value?: unknown } }[] = [];
      const receiver = createWebSocketReceiver({ server: relay.wsUrl });
      receiver.subscribe((event) => received.push(event as never));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const warnings: string[] = [];
      const stately = createStatelyInspection({ url: relay.wsUrl, onWarning: (m) => warnings.push(m) });
      const actor = createActor(toggle, { inspect: stately.inspect }).start();
      actor.send({ type: 'flip' });
      for (let i = 0; i < 50 && !received.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'on'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(received.some((e) => e.type === '@xstate.actor')).toBe(true);
      expect(received.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'on')).toBe(true);
      expect(warnings).toEqual([]);
      actor.stop();
      await stately.close();
    } finally {
      relay.stop();
    }
  });

  it('should warn once about an unreachable relay and not throw', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const stately = createStatelyInspection({ url: `ws://localhost:${port}`, onWarning: (m) => warnings.push(m), connectTimeoutMs: 300 });
    const actor = createActor(toggle, { inspect: stately.inspect }).start();
    for (let i = 0; i < 20; i++) actor.send({ type: 'flip' });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not reachable/);
    expect(actor.getSnapshot().value).toBe('off');
    await stately.close();
  });

  it('should let the process exit after close() even when the relay never answered', async () => {
    const port = await freePort();
    const module = join(packageRoot(), 'dist', 'src', 'inspect', 'stately.js');
    const script = `
      import { createStatelyInspection } from ${JSON.stringify(module)};
      const stately = createStatelyInspection({ url: 'ws://localhost:${port}', onWarning: () => {} });
      stately.inspect({ type: '@xstate.event', event: { type: 'x' }, actorRef: { sessionId: 'x:0' }, rootId: 'x:0' });
      await new Promise((resolve) => setTimeout(resolve, 600)); // let a connection attempt fail first
      await stately.close();
      console.log('closed');
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(child.stdout.trim()).toBe('closed');
    expect(child.status).toBe(0);
    // 0.7.2's own 5 s reconnect timer would hold the process; ours is unref'd and stops at close().
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
