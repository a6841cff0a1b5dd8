/**
 * `first-run inspect [--port N] [--host 127.0.0.1] [--json]` (SPEC IN-2): serves the offline live
 * viewer on a loopback address until SIGINT/SIGTERM. Processes stream to the printed URL with
 * `first-run launch --inspect-viewer URL` (or `demo --inspect-viewer URL`).
 */
import { resolveBindOptions, startViewerServer } from '../../inspect/viewer-server.js';
import { InspectorRelayError } from '../../errors.js';
import { EXIT, type CliIO } from '../io.js';
import type { ParsedCLI } from '../parse-cli.js';

/** Options for tests: how the command waits for its end. */
export interface RunInspectHooks {
  /** Resolves when the server should stop. @default the first SIGINT or SIGTERM */
  until?: Promise<unknown>;
  /** Called with the URL once serving. */
  onListening?: (url: string) => void;
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/**
 * A bind failure in one line that names the address and what to do (exit 1: the arguments were valid,
 * the machine's state is the problem), never a stack. The viewer is an inspection server, as the Stately
 * relay is: the same error class and code (`ERR_INSPECTOR_RELAY`).
 */
export function cannotListen(bind: { host: string; port: number }, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const where = `${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`;
  const why =
    code === 'EADDRINUSE'
      ? `port ${bind.port} is already in use (another \`first-run inspect\` or another program listens there). Stop it, or pass --port N (--port 0 picks a free port)`
      : code === 'EACCES'
        ? `permission denied for port ${bind.port} (ports below 1024 need privileges). Pass --port N above 1023 (--port 0 picks a free port)`
        : `${code}. Pass another --port N (--port 0 picks a free port) or --host`;
  return new InspectorRelayError(bind.host, bind.port, `The viewer cannot listen on ${where}: ${why}.`, { cause: error });
}

/**
 * Run `first-run inspect`. Prints the URL (with `--json`, one line `{"url": …, "host", "port"}`),
 * serves until SIGINT/SIGTERM, and exits 0.
 *
 * @throws {UsageError} (exit 2) for a non-loopback `--host` or a bad `--port`.
 * @throws {InspectorRelayError} (exit 1) when the address cannot be bound (the port is taken, …).
 */
export async function runInspect(cli: ParsedCLI, io: CliIO, hooks: RunInspectHooks = {}): Promise<number> {
  const json = cli.options.json === true;
  // Listen for the stop signal before serving, so a signal during start-up is not lost.
  const until = hooks.until ?? nextSignal();
  const bind = resolveBindOptions({ host: cli.options.host, port: cli.options.port });
  const server = await startViewerServer(bind).catch((error: unknown) => {
    throw cannotListen(bind, error);
  });
  if (json) io.stdout(JSON.stringify({ url: server.url, host: server.host, port: server.port }));
  else {
    io.stdout(
      [
        `first-run viewer: ${server.url}  (loopback only; works offline)`,
        `  stream a run to it:  npx first-run launch --inspect-viewer ${server.url}`,
        `                 or:  npx first-run demo --inspect-viewer ${server.url}`,
        '  Ctrl-C to stop.',
      ].join('\n'),
    );
  }
  hooks.onListening?.(server.url);
  const signal = await until;
  await server.close();
  if (!json) io.stderr(`first-run viewer: stopped${typeof signal === 'string' ? ` (${signal})` : ''}.`);
  return EXIT.ok;
}
