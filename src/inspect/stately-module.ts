/**
 * The one place that loads `@statelyai/inspect`, an **optional peer dependency**: only the Stately
 * inspector needs it (the offline viewer does not), so it is imported lazily, when asked for, and a
 * missing package is an {@link OptionalDependencyError} naming the package and the install command —
 * never a bare `ERR_MODULE_NOT_FOUND` from deep inside a run.
 *
 * The WebSocket implementation (`ws`) is `@statelyai/inspect`'s own dependency: it is resolved from
 * that package's location, so whatever version it installed is the one used, and nothing else has
 * to be installed for the Stately inspector.
 */
import { join } from 'node:path';
import { OptionalDependencyError } from '../errors.js';
import { packageRoot } from './package-root.js';

/** The package name, as users install it. */
export const STATELY_PACKAGE = '@statelyai/inspect';

/** One message of the Stately inspection protocol (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`). */
export type StatelyMessage = { type: string; sessionId?: string; [key: string]: unknown };

/** Where `createInspector` hands its converted messages. */
export interface StatelyAdapter {
  start(): void;
  stop(): void;
  send(message: StatelyMessage): void;
}

/** What the Stately inspector uses from `@statelyai/inspect` (typed here so our types never need the package). */
export interface StatelyInspectModule {
  createInspector(
    adapter: StatelyAdapter,
    options?: { serialize?: (message: StatelyMessage) => StatelyMessage; autoStart?: boolean },
  ): { inspect: { next?: (event: import('xstate').InspectionEvent) => void }; start(): void; stop(): void };
}

/** The parts of `ws` the inspector uses (typed here: `@types/ws` is not a dependency). */
export interface WsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'open' | 'close', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'message', listener: (data: Buffer | string) => void): this;
}

/** The `ws` module: a client class and the server class. */
export interface WsModule {
  new (url: string): WsSocket;
  readonly OPEN: number;
  readonly WebSocketServer: new (options: { server: import('node:http').Server; maxPayload?: number }) => WsServer;
}

/** The parts of `ws`'s `WebSocketServer` the relay uses. */
export interface WsServer {
  readonly clients: Set<WsSocket>;
  on(event: 'connection', listener: (socket: WsSocket) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  close(callback?: () => void): void;
}

/**
 * How a module is imported. Injectable so a test (or a host with its own loader) can resolve
 * differently; the default is Node's own `import()`.
 */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** How a CommonJS package is located relative to `@statelyai/inspect`. Injectable like {@link ModuleImporter}. */
export type PackageResolver = (specifier: string) => string;

/**
 * `module.createRequire` through `process.getBuiltinModule`, and an `import()` webpack is told to leave
 * alone: webpack turns an imported `createRequire(…)` it cannot evaluate into `undefined`, and a variable
 * `import()` into a module context that finds nothing (SPEC HE-4).
 */
const createRequire = (base: string): NodeJS.Require => process.getBuiltinModule('node:module').createRequire(base);
const defaultImporter: ModuleImporter = (specifier) => import(/* webpackIgnore: true */ specifier);
const defaultResolver: PackageResolver = (specifier) => createRequire(join(packageRoot(), 'package.json')).resolve(specifier);

function isMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = error instanceof Error ? error.message : String(error);
  return message.includes(packageName);
}

function wrapMissing(error: unknown, feature: string): never {
  if (isMissing(error, STATELY_PACKAGE)) throw new OptionalDependencyError(STATELY_PACKAGE, feature, { cause: error });
  throw error;
}

/**
 * Imports `@statelyai/inspect`.
 * @throws {OptionalDependencyError} (`ERR_OPTIONAL_DEPENDENCY`) when it is not installed.
 */
export async function loadStatelyInspect(
  feature = 'The Stately inspector (--inspect)',
  importer: ModuleImporter = defaultImporter,
): Promise<StatelyInspectModule> {
  try {
    const module = (await importer(STATELY_PACKAGE)) as StatelyInspectModule;
    return { createInspector: module.createInspector };
  } catch (error) {
    return wrapMissing(error, feature);
  }
}

/**
 * Loads `ws`, the WebSocket implementation `@statelyai/inspect` depends on, from that package's location.
 * @throws {OptionalDependencyError} (`ERR_OPTIONAL_DEPENDENCY`) when `@statelyai/inspect` is not installed.
 */
export function loadWebSocketModule(feature = 'The Stately inspector (--inspect)', resolver: PackageResolver = defaultResolver): WsModule {
  let statelyEntry: string;
  try {
    statelyEntry = resolver(STATELY_PACKAGE);
  } catch (error) {
    return wrapMissing(error, feature);
  }
  const ws = createRequire(statelyEntry)('ws') as WsModule & { default?: WsModule };
  return ws.default ?? ws;
}
