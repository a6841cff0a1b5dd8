/**
 * The direct channel of the `node` strategy: the successor is our child, so it inherits one end of a
 * socket pair on fd 3, announced by `FIRST_RUN_HANDOFF_CHANNEL=3:<token>` in its environment. Over it
 * the successor says `alive` the moment its proof is on disk, and the predecessor says `released` the
 * moment the lock is free — so neither side polls on the critical path. The files stay the truth (a
 * message only wakes the other side up to read them), and a closed channel means "the predecessor is
 * gone: try the lock now". Messages are single JSON lines; anything else on the channel is ignored.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The environment variable that hands the channel to the successor. */
export const CHANNEL_ENV = 'FIRST_RUN_HANDOFF_CHANNEL';
/** The successor's end of the channel. */
export const CHANNEL_FD = 3;

/**
 * Set (to `1`) in the environment of a successor started *held* (`prepare`, src/runtime/relauncher.ts):
 * the CLI's `launch` boots, reads its config, opens its backend and journal, then blocks on the channel
 * ({@link holdForGo}) right before its first journal line, until the predecessor says `go` — which it says
 * exactly where it used to spawn the successor, after the RS-3 commit. Its channel closing first means
 * the predecessor is gone: it exits without doing anything.
 */
export const HOLD_ENV = 'FIRST_RUN_HANDOFF_HOLD';
/** The `go` line, byte for byte (what `send` writes for `{ type: 'go' }`). */
export const GO_LINE = `${JSON.stringify({ type: 'go' })}\n`;

/**
 * A successor started held (`HOLD_ENV` in `env`, removed here): block until the predecessor says `go` on
 * the channel — `true` — or the channel closes or says anything else — `false`: the predecessor is gone
 * or gave up, and this process must exit without doing anything. Not held: `true` at once. Reads one byte
 * at a time, so nothing after the line is taken from the channel's later reader. Synchronous on purpose:
 * the process has nothing else to do, and is not a successor until it returns.
 */
export function holdForGo(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[HOLD_ENV] === undefined) return true;
  delete env[HOLD_ENV];
  const byte = Buffer.alloc(1);
  let line = '';
  while (!line.endsWith('\n') && line.length < GO_LINE.length) {
    let read: number;
    try {
      read = fs.readSync(CHANNEL_FD, byte, 0, 1, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // a non-blocking descriptor: wait
      continue;
    }
    if (read === 0) return false;
    line += String.fromCharCode(byte[0]!);
  }
  return line === GO_LINE;
}

/** What travels on the channel. */
export type ChannelMessage = { type: 'alive'; pid: number } | { type: 'released' } | { type: 'cancelled' } | { type: 'go' };

/** `spawn` stdio for a successor with a channel: our stdio, plus a socket pair on fd 3. */
export function channelStdio(): StdioOptions {
  return ['inherit', 'inherit', 'inherit', 'pipe'];
}

/** The child's environment: ours plus the channel's announcement (and the hold, for a held start). */
export function channelEnv(env: NodeJS.ProcessEnv, token: string, held = false): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...env, [CHANNEL_ENV]: `${CHANNEL_FD}:${token}` };
  if (held) childEnv[HOLD_ENV] = '1';
  else delete childEnv[HOLD_ENV];
  return childEnv;
}

function readMessages(stream: Duplex, onMessage: (message: ChannelMessage) => void, onClose: () => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > 64 * 1024) buffered = ''; // not a peer of ours
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const message = parseMessage(line);
      if (message) onMessage(message);
    }
  });
  stream.on('error', () => {}); // a peer that died mid-write: the close below says what matters
  stream.on('close', onClose);
}

function parseMessage(line: string): ChannelMessage | null {
  try {
    const value = JSON.parse(line) as { type?: unknown; pid?: unknown };
    if (value.type === 'alive' && typeof value.pid === 'number') return { type: 'alive', pid: value.pid };
    if (value.type === 'released' || value.type === 'cancelled') return { type: value.type };
  } catch {
    // ignored: only our own JSON lines count
  }
  return null;
}

function send(stream: Duplex | null, message: ChannelMessage): void {
  if (!stream || stream.destroyed || !stream.writable) return;
  stream.write(`${JSON.stringify(message)}\n`, () => {});
}

/** The predecessor's end: wake-ups from the child, and `go` / `released` / `cancelled` to it. */
export interface PredecessorChannel {
  /** Called on every `alive` message. */
  onAlive(callback: () => void): void;
  /** A held successor may start (see {@link HOLD_ENV}). */
  go(): void;
  released(): void;
  cancelled(): void;
  close(): void;
}

/** The predecessor's end of a child's channel (`child.stdio[3]`), or `null` when it has none. */
export function predecessorChannel(child: ChildProcess): PredecessorChannel | null {
  // A spawn that failed (EMFILE) leaves `stdio` null.
  const stream = (child.stdio as unknown[] | null)?.[CHANNEL_FD] as (Duplex & { unref?: () => void }) | undefined;
  if (!stream) return null;
  stream.unref?.(); // never keep this process alive for the channel's sake
  const listeners: Array<() => void> = [];
  readMessages(stream, (message) => {
    if (message.type === 'alive') for (const listener of listeners) listener();
  }, () => {});
  return {
    onAlive: (callback) => void listeners.push(callback),
    go: () => send(stream, { type: 'go' }),
    released: () => {
      send(stream, { type: 'released' });
      stream.end();
    },
    cancelled: () => {
      send(stream, { type: 'cancelled' });
      stream.end();
    },
    close: () => stream.destroy(),
  };
}

/** The successor's end: say alive, and learn when the predecessor released or gave up. */
export interface SuccessorChannel {
  /**
   * Say `alive`: one synchronous `write` on the inherited descriptor, so it costs no `net` machinery and
   * leaves before anything else this process does (the predecessor reads the proof file on it).
   */
  sayAlive(pid: number): void;
  /**
   * Resolves at the first `released`, `cancelled` or close of the channel. Read lazily: the socket (and
   * with it `node:net`) is opened on first use — after the proof, off the hand-off's critical path — and
   * whatever the predecessor said before is still buffered in the socket pair.
   */
  readonly signal: Promise<'released' | 'cancelled' | 'closed'>;
  close(): void;
}

/**
 * Claim the channel this process inherited, when `FIRST_RUN_HANDOFF_CHANNEL` names it for `token` and
 * fd 3 really is a socket (never writes to an fd 3 that is something else). The variable is removed
 * from `env` so that no later child inherits it. `null` when there is no usable channel.
 */
export function successorChannel(token: string, env: NodeJS.ProcessEnv = process.env): SuccessorChannel | null {
  const announced = env[CHANNEL_ENV];
  delete env[CHANNEL_ENV];
  if (announced !== `${CHANNEL_FD}:${token}`) return null;
  try {
    if (!fs.fstatSync(CHANNEL_FD).isSocket()) return null;
  } catch {
    return null;
  }
  let socket: Socket | null = null;
  let signal: Promise<'released' | 'cancelled' | 'closed'> | null = null;
  const listen = (): Promise<'released' | 'cancelled' | 'closed'> =>
    new Promise((resolve) => {
      try {
        socket = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
      } catch {
        resolve('closed');
        return;
      }
      socket.unref();
      readMessages(socket, (message) => {
        if (message.type === 'released' || message.type === 'cancelled') resolve(message.type);
      }, () => resolve('closed'));
    });
  return {
    sayAlive: (pid) => {
      try {
        fs.writeSync(CHANNEL_FD, `${JSON.stringify({ type: 'alive', pid } satisfies ChannelMessage)}\n`);
      } catch {
        // a predecessor that is gone (EPIPE), a full buffer (EAGAIN): the proof file stays the truth
      }
    },
    get signal() {
      signal ??= listen();
      return signal;
    },
    close: () => socket?.destroy(),
  };
}
