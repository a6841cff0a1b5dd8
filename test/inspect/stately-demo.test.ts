/**
 * The Stately inspector sees the whole first run (issue 12): `first-run demo --inspect-url` (a real
 * simulated first run with one real relaunch: two processes) streams to a relay on loopback, and a
 * WebSocket client listening as the inspector UI would must see two orchestrator roots with distinct
 * session ids, no session id registered twice, the first process's last root snapshot past the
 * restart request (handed off) and the successor's last root snapshot COMPLETED.
 *
 * Once with `@statelyai/inspect/server`'s own `createInspectorServer` (bound to loopback for the test;
 * the client listens from the start), once with ours (`startStatelyRelay`), where a viewer connecting after the run is over must
 * still get both roots' registrations and latest snapshots.
 */
import { Server } from 'node:http';
import { createInspectorServer } from '@statelyai/inspect/server';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWebSocketModule, type WsSocket } from '../../src/inspect/stately-module.js';
import { startStatelyRelay } from '../../src/inspect/stately.js';
import { assertDemoBuilt, freePort, run, waitUntil } from './helpers.js';

type Message = { type: string; name?: string; sessionId?: string; parentId?: string; snapshot?: { value?: unknown; status?: string } };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A client as the inspector page is one: connects (retrying while the relay comes up) and records every message. */
async function listen(url: string): Promise<{ messages: Message[]; socket: WsSocket }> {
  const WebSocket = loadWebSocketModule();
  const messages: Message[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    const socket = new WebSocket(url);
    // Listening before 'open': a relay may send in the same tick as the handshake completes.
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
    const opened = await new Promise<boolean>((resolve) => {
      socket.on('open', () => resolve(true));
      socket.on('error', () => resolve(false));
    });
    if (opened) {
      cleanups.push(() => socket.terminate());
      return { messages, socket };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no relay at ${url}`);
}

/**
 * `createInspectorServer` has no host option and listens on every interface; CI tests stay on loopback,
 * so its one `listen(port, callback)` call is given 127.0.0.1 while it starts.
 */
function onLoopback<T>(start: () => T): T {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    const call = listen as (...a: unknown[]) => Server;
    if (typeof args[0] === 'number' && typeof args[1] === 'function') return call.call(this, args[0], '127.0.0.1', args[1]);
    return call.apply(this, args);
  } as typeof listen;
  try {
    return start();
  } finally {
    Server.prototype.listen = listen;
  }
}

const prefixOf = (sessionId: string | undefined) => String(sessionId).replace(/:x:\d+$/, '');

/** The roots in order of registration, each with its process prefix and last snapshot. */
function analyse(messages: Message[]) {
  const registrations = messages.filter((m) => m.type === '@xstate.actor');
  const roots = registrations.filter((m) => m.name === 'orchestrator' && m.parentId === undefined);
  const perProcess = new Map<string, number>();
  for (const m of messages) perProcess.set(prefixOf(m.sessionId), (perProcess.get(prefixOf(m.sessionId)) ?? 0) + 1);
  const last = (sessionId: string | undefined) => messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === sessionId).at(-1)?.snapshot?.value;
  return {
    roots: roots.map((root) => ({ sessionId: root.sessionId!, prefix: prefixOf(root.sessionId), last: last(root.sessionId) })),
    registeredTwice: registrations.map((m) => m.sessionId).filter((id, i, all) => all.indexOf(id) !== i),
    perProcess,
  };
}

function expectWholeRun(messages: Message[], label: string) {
  const { roots, registeredTwice, perProcess } = analyse(messages);
  console.log(`${label}: ${messages.length} messages; per process: ${[...perProcess].map(([p, n]) => `${p} ${n}`).join(', ')}`);
  expect(roots).toHaveLength(2);
  expect(roots[0]!.sessionId).not.toBe(roots[1]!.sessionId);
  expect(roots[0]!.prefix, 'each process has its own session ids').not.toBe(roots[1]!.prefix);
  expect(registeredTwice, 'no session id registered twice').toEqual([]);
  expect(roots[0]!.last, "the first process's last state reached the inspector").toEqual({ RESTART_REQUESTED: 'handedOff' });
  expect(roots[1]!.last, "the successor's last state reached the inspector").toBe('COMPLETED');
  expect([...perProcess.keys()].sort()).toEqual([roots[0]!.prefix, roots[1]!.prefix].sort());
}

const doneWith = (messages: Message[]) => () => {
  const { roots } = analyse(messages);
  return roots.length === 2 && roots[1]!.last === 'COMPLETED';
};

describe('Stately inspector: a whole demo run across the relaunch', () => {
  it('should deliver both processes, final states included, through @statelyai/inspect\'s own relay', { timeout: 180_000 }, async () => {
    assertDemoBuilt();
    const port = await freePort();
    const relay = onLoopback(() => createInspectorServer({ port, autoOpen: false }));
    cleanups.push(() => relay.stop());
    const { messages } = await listen(`ws://127.0.0.1:${port}`);

    const demo = await run(['demo', '--inspect-url', `ws://127.0.0.1:${port}`, '--json'], 150_000);
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    // Both processes have exited: what is still in flight is only the relay's forwarding.
    await waitUntil(doneWith(messages), 5_000);
    expectWholeRun(messages, 'createInspectorServer');
  });

  it('should give a viewer that connects after the run every actor\'s registration and latest snapshot (our relay)', { timeout: 180_000 }, async () => {
    assertDemoBuilt();
    const relay = await startStatelyRelay({ port: 0 });
    cleanups.push(() => relay.stop());
    const live = await listen(relay.wsUrl);

    const demo = await run(['demo', '--inspect-url', relay.wsUrl, '--json'], 150_000);
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    await waitUntil(doneWith(live.messages), 5_000);
    expectWholeRun(live.messages, 'startStatelyRelay, live viewer');

    const late = await listen(relay.wsUrl);
    await waitUntil(doneWith(late.messages), 5_000);
    expectWholeRun(late.messages, 'startStatelyRelay, late viewer');
    // Every actor the live viewer saw registered is registered for the late one too.
    const ids = (messages: Message[]) => new Set(messages.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId));
    expect(ids(late.messages)).toEqual(ids(live.messages));
    expect(late.messages.length).toBeLessThan(live.messages.length);
  });
});
