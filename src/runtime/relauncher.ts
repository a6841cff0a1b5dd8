/**
 * The process relauncher (RS-7, RS-8): starts the successor with the chosen strategy — no shell, an
 * argv array — and resolves once it proved itself alive through the hand-off files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { RelaunchStrategy } from '../../machines/types.js';
import { RelaunchError } from '../errors.js';
import { buildBundleRelaunchCommand, buildNodeRelaunchCommand, canExecve } from '../relaunch/bundle-command.js';
import type { Relauncher, RelaunchRequest } from '../service/create-first-run-service.js';
import { cancelHandoff, HANDOFF_TOKEN_PATTERN, readAliveProof } from './handoff.js';
import { isPidAlive } from './process-alive.js';

/** How to start this app again. */
export type RelaunchPlan =
  | { strategy: 'node'; execPath: string; execArgv: string[]; entry: string; args: string[] }
  | { strategy: 'bundle'; appPath: string; args: string[] }
  | { strategy: 'execve'; execPath: string; execArgv: string[]; entry: string; args: string[] };

export interface ProcessRelauncherOptions {
  stateDir: string;
  plan: RelaunchPlan;
  /** How long the successor has to prove itself alive. */
  handoffTimeoutMs: number;
  /** How often the proof is looked for. @default 10 */
  pollMs?: number;
  /** Called with what happens (for the journal). */
  onEvent?: (type: string, payload: Record<string, unknown>) => void;
  /** Called right before `execve` replaces this process (release the lock, flush the ledger). */
  beforeExecve?: () => void;
}

/** The arguments that tell a process it is the successor. Stripped from the argv we copy. */
export const SUCCESSOR_FLAGS = ['--successor-of', '--handoff-token'] as const;

/** The argv of the successor: ours, minus any earlier successor flags, plus the new ones. */
export function successorArgs(args: readonly string[], predecessorPid: number, token: string): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = SUCCESSOR_FLAGS.find((name) => arg === name || arg.startsWith(`${name}=`));
    if (flag) {
      if (arg === flag) i++;
      continue;
    }
    if (arg === '--dev-restart') continue;
    kept.push(arg);
  }
  return [...kept, '--successor-of', String(predecessorPid), '--handoff-token', token];
}

/**
 * Read the successor flags back from an argv (what `successorArgs` wrote): the host passes the result to
 * `runFirstRun({ successor })`. `undefined` when this process was not started by a relaunch.
 * @throws RelaunchError when only one of the two flags is there, or a value is malformed.
 */
export function readSuccessorInfo(argv: readonly string[]): { predecessorPid: number; token: string } | undefined {
  const value = (name: string) => {
    const index = argv.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
    if (index === -1) return undefined;
    const arg = argv[index]!;
    return arg === name ? argv[index + 1] : arg.slice(name.length + 1);
  };
  return parseSuccessorFlags(value('--successor-of'), value('--handoff-token'));
}

/**
 * Check the values of `--successor-of` and `--handoff-token` (from argv or a parsed command line).
 * @throws RelaunchError when only one is there, or a value is malformed.
 */
export function parseSuccessorFlags(of: unknown, token: unknown): { predecessorPid: number; token: string } | undefined {
  if (of === undefined && token === undefined) return undefined;
  if (typeof of !== 'string' || !/^\d+$/.test(of) || typeof token !== 'string' || !HANDOFF_TOKEN_PATTERN.test(token)) {
    throw new RelaunchError(
      `Expected \`--successor-of PID\` and \`--handoff-token TOKEN\` together (they are set by a relaunch), got ${JSON.stringify([of, token])}.`,
    );
  }
  return { predecessorPid: Number(of), token };
}

/** Check that a strategy can run here, before anything starts (so a bad config fails at launch, not at restart). */
export function assertStrategyAvailable(strategy: RelaunchStrategy): void {
  if (strategy === 'execve' && !canExecve()) {
    throw new RelaunchError(
      `restart.strategy "execve" needs process.execve (Node ≥ 23.11); this is Node ${process.versions.node}. Use "node" or "bundle".`,
    );
  }
}

export function createProcessRelauncher(options: ProcessRelauncherOptions): Relauncher {
  const pollMs = options.pollMs ?? 10;
  const emit = options.onEvent ?? (() => {});
  let child: ChildProcess | null = null;
  let token: string | null = null;
  let used = false;

  function start(plan: RelaunchPlan, successorToken: string): void {
    if (plan.strategy === 'execve') {
      const command = buildNodeRelaunchCommand({ ...plan, args: successorArgs(plan.args, process.pid, successorToken) });
      options.beforeExecve?.();
      emit('restart.handoff_started', { strategy: 'execve', command: command.command });
      // Replaces this process: the successor keeps our PID, so the lock was released just before.
      (process as unknown as { execve(file: string, args: string[], env: NodeJS.ProcessEnv): never }).execve(
        command.command,
        [command.command, ...command.args],
        process.env,
      );
    }
    const command =
      plan.strategy === 'bundle'
        ? buildBundleRelaunchCommand({ appPath: plan.appPath, args: successorArgs(plan.args, process.pid, successorToken) })
        : buildNodeRelaunchCommand({ ...plan, args: successorArgs(plan.args, process.pid, successorToken) });
    child = spawn(command.command, command.args, { detached: true, stdio: 'inherit', shell: false });
    child.unref();
    emit('restart.handoff_started', { strategy: plan.strategy, command: command.command, child_pid: child.pid ?? null });
  }

  return {
    relaunch(request: RelaunchRequest) {
      if (used) return Promise.reject(new RelaunchError('This process already relaunched once; it never relaunches twice.'));
      used = true;
      const successorToken = randomUUID();
      token = successorToken;
      return new Promise<{ newPid: number }>((resolve, reject) => {
        let settled = false;
        const fail = (message: string) => {
          if (settled) return;
          settled = true;
          clearInterval(poll);
          clearTimeout(timer);
          cancelHandoff(options.stateDir, successorToken);
          if (child?.pid && isPidAlive(child.pid)) child.kill('SIGKILL');
          reject(new RelaunchError(message));
        };
        const poll = setInterval(() => {
          const pid = readAliveProof(options.stateDir, successorToken);
          if (pid === null || settled) return;
          settled = true;
          clearInterval(poll);
          clearTimeout(timer);
          emit('restart.successor_alive', { new_pid: pid, request_id: request.requestId });
          resolve({ newPid: pid });
        }, pollMs);
        const timer = setTimeout(
          () => fail(`No successor proved itself alive within ${options.handoffTimeoutMs} ms (restart.handoff_timeout_s).`),
          options.handoffTimeoutMs,
        );
        try {
          start(options.plan, successorToken);
        } catch (error) {
          fail(`The successor could not be started: ${(error as Error).message}`);
          return;
        }
        child?.once('error', (error) => fail(`The successor could not be started: ${error.message}`));
        child?.once('exit', (code, signal) => {
          // A `bundle` launcher (`open`) exits at once by design; a node successor must not.
          if (options.plan.strategy === 'node') {
            setTimeout(() => fail(`The successor exited before the hand-off (code ${code}, signal ${signal}).`), pollMs * 3);
          }
        });
      });
    },
    abort() {
      if (!token) return;
      cancelHandoff(options.stateDir, token);
      if (child?.pid && isPidAlive(child.pid)) child.kill('SIGKILL');
    },
  };
}
