/**
 * The WebSocket from an app to a Stately inspector relay: a bounded queue that keeps actors'
 * registrations, writes acknowledged by the socket layer, reconnects on unref'd timers, and a
 * `drain` that `close()` bounds. Used by `createStatelyInspection` (stately.ts).
 */
import type { WsModule, WsSocket } from './stately-module.js';
import { monotonicClock } from '../clock-monotonic.js';

/** What happened to the messages of a link. */
export interface StatelyInspectionStats {
  /** Messages written to the relay's socket (acknowledged by the socket layer). */
  sent: number;
  /** Messages dropped from the full queue while the relay was not connected. */
  dropped: number;
  /** Messages still queued or unacknowledged when `close()` gave up. */
  undelivered: number;
}

export interface RelayLinkOptions {
  url: string;
  maxDeferred: number;
  retryMs: number;
  connectTimeoutMs: number;
  warn: (kind: string, message: string) => void;
}

export class RelayLink {
  readonly stats: StatelyInspectionStats = { sent: 0, dropped: 0, undelivered: 0 };
  /** Registrations are kept when the queue overflows: a viewer cannot show an actor it never saw registered. */
  private queue: { text: string; registration: boolean }[] = [];
  private unacknowledged = 0;
  private socket: WsSocket | null = null;
  private open = false;
  private stopped = false;
  private everOpened = false;
  private ws: WsModule | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastAttempt = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: RelayLinkOptions) {}

  /** Connect with `ws`; warn once if no connection opened within `connectTimeoutMs`. */
  start(ws: WsModule): void {
    this.ws = ws;
    this.connect();
    setTimeout(() => {
      if (!this.everOpened && !this.stopped) {
        this.options.warn(
          'unreachable',
          `The Stately inspector relay at ${this.options.url} is not reachable; inspection continues without it (the last ${this.options.maxDeferred} messages are held). ` +
            'Start the relay (see docs/inspect.md) — the app is not affected.',
        );
      }
    }, this.options.connectTimeoutMs).unref();
  }

  /** Queue one serialized message (`null`: it could not be serialized) and write what the socket can take. */
  send(text: string | null, registration: boolean): void {
    if (text === null || this.stopped) return;
    if (pushBounded(this.queue, { text, registration }, (entry) => entry.registration, this.options.maxDeferred)) this.stats.dropped++;
    this.write();
  }

  /** Wait until every message is acknowledged, or `deadline` (`monotonicClock` ms); not connected, it tries again at once. */
  async drain(deadline: number): Promise<void> {
    if (!this.ws) return;
    const done = () => this.queue.length === 0 && this.unacknowledged === 0;
    while (!done() && monotonicClock.now() < deadline) {
      // The regular retry may be seconds away: try now, at most every 100 ms.
      if (!this.open && !this.socket && Date.now() - this.lastAttempt >= 100) {
        if (this.retry) clearTimeout(this.retry);
        this.connect();
      }
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          this.waiters.delete(finish);
          resolve();
        };
        const timer = setTimeout(finish, Math.max(1, Math.min(100, deadline - monotonicClock.now())));
        this.waiters.add(finish);
      });
    }
  }

  /** Stop for good: close the socket gracefully; returns how many messages were not delivered. */
  stop(): number {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const lost = this.queue.length + this.unacknowledged;
    this.stats.undelivered += this.queue.length;
    this.queue = [];
    const current = this.socket;
    this.socket = null;
    this.open = false;
    if (current) {
      try {
        current.close(1000, 'closed');
      } catch {
        current.terminate();
      }
      // A peer that never answers the close handshake must not hold the process.
      setTimeout(() => current.terminate(), 1000).unref();
    }
    return lost;
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  private write(): void {
    while (this.open && this.socket && this.queue.length > 0) {
      const { text } = this.queue.shift()!;
      this.unacknowledged++;
      this.socket.send(text, (error) => {
        this.unacknowledged--;
        if (error) this.stats.undelivered++;
        else this.stats.sent++;
        this.wake();
      });
    }
    this.wake();
  }

  private connect(): void {
    if (this.stopped || !this.ws) return;
    this.retry = null;
    this.lastAttempt = Date.now();
    let current: WsSocket;
    try {
      current = new this.ws(this.options.url);
    } catch {
      this.schedule();
      return;
    }
    this.socket = current;
    current.on('error', () => {}); // followed by 'close'; an error without a listener would be thrown
    current.on('open', () => {
      this.open = true;
      this.everOpened = true;
      this.write();
    });
    current.on('close', () => {
      if (this.socket === current) {
        this.open = false;
        this.socket = null;
      }
      this.wake();
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => this.connect(), this.options.retryMs);
    this.retry.unref();
  }
}

/**
 * Push onto a bounded queue: past `max`, the oldest entry that is not a registration goes (an actor's
 * registration is what a viewer cannot do without). @returns whether one was dropped.
 */
export function pushBounded<T>(queue: T[], item: T, isRegistration: (entry: T) => boolean, max: number): boolean {
  queue.push(item);
  if (queue.length <= max) return false;
  const oldest = queue.findIndex((entry) => !isRegistration(entry));
  queue.splice(Math.max(0, oldest), 1);
  return true;
}
