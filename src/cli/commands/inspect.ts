/**
 * `first-run inspect [--port N] [--host 127.0.0.1] [--json]` (SPEC IN-2): serves the offline live
 * viewer on a loopback address until SIGINT/SIGTERM. Processes stream to the printed URL with
 * `first-run launch --inspect-viewer URL` (or `demo --inspect-viewer URL`).
 */
import { resolveBindOptions, startViewerServer } from '../../inspect/viewer-server.js';
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
 * Run `first-run inspect`. Prints the URL (with `--json`, one line `{"url": …, "host", "port"}`),
 * serves until SIGINT/SIGTERM, and exits 0.
 *
 * @throws {UsageError} (exit 2) for a non-loopback `--host` or a bad `--port`.
 */
export async function runInspect(cli: ParsedCLI, io: CliIO, hooks: RunInspectHooks = {}): Promise<number> {
  const json = cli.options.json === true;
  // Listen for the stop signal before serving, so a signal during start-up is not lost.
  const until = hooks.until ?? nextSignal();
  const server = await startViewerServer(resolveBindOptions({ host: cli.options.host, port: cli.options.port }));
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
