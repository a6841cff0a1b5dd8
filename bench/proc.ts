/** Timing child processes: to exit, and to their first line of output. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/**
 * The environment every measured child gets. `NODE_EXTRA_CA_CERTS` makes Node read and parse a CA bundle
 * at start-up (~90 ms here), and `NODE_OPTIONS` can preload anything: both add the same constant to the
 * process and to its baseline, which would flatter every ratio, so they are removed unless `keep`.
 */
export function childEnv(keep: boolean, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!keep) {
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.NODE_OPTIONS;
  }
  return env;
}

/** Run `node args` to completion; wall time in ms. Throws when it fails. */
export function timeToExit(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
  const elapsed = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status ?? result.signal}: ${String(result.stderr).slice(0, 500)}`);
  }
  return elapsed;
}

/**
 * Start `node args` and resolve with the ms from `spawn()` to the first complete stdout line that
 * `match` accepts, and the child (still running, or exited).
 */
export function timeToLine(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  match: (line: string) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<{ ms: number; line: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no matching line from node ${args.join(' ')} within ${timeoutMs} ms; stderr: ${stderr.slice(0, 500)}`)), timeoutMs);
    const finish = (error: Error | null, line = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) {
        child.kill('SIGKILL');
        reject(error);
      } else resolve({ ms: performance.now() - start, line, child });
    };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (match(line)) return finish(null, line);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => finish(error));
    child.on('exit', (code, signal) => finish(new Error(`node ${args.join(' ')} exited (${code ?? signal}) before the line; stderr: ${stderr.slice(0, 500)}`)));
  });
}

/** Resolve once `child` has exited and been reaped (its `exit` event). */
export function reaped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
