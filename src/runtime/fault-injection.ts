/**
 * A fault-injection hook for the kill -9 sweep (test/process/kill-sweep.test.ts), in the spirit of
 * proper-lockfile's swappable `fs`: with `FIRST_RUN_FAULT_KILL_AFTER=<role>:<n>` in the environment, the
 * process of that role (`first` — a plain launch — or `successor`) SIGKILLs itself right after its n-th
 * journal line is written. Nothing happens without the variable. It exists so that "a crash right after
 * event n" is exact instead of a race against a watcher.
 */
export type ProcessRole = 'first' | 'successor';

export function createFaultHook(role: ProcessRole, env: NodeJS.ProcessEnv = process.env): () => void {
  const spec = env.FIRST_RUN_FAULT_KILL_AFTER;
  if (!spec) return () => {};
  const match = /^(first|successor):(\d+)$/.exec(spec);
  if (!match) throw new Error(`FIRST_RUN_FAULT_KILL_AFTER must be first:N or successor:N, got ${JSON.stringify(spec)}`);
  if (match[1] !== role) return () => {};
  const killAt = Number(match[2]);
  let written = 0;
  return () => {
    written += 1;
    if (written === killAt) process.kill(process.pid, 'SIGKILL');
  };
}
