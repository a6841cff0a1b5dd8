/**
 * The process relauncher (RS-7, RS-8): starts the successor with the chosen strategy — no shell, an
 * argv array composed for the successor — and resolves once it proved itself alive (the hand-off
 * protocol: `src/handoff/handoff-protocol.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RelaunchStrategy } from '../../machines/types.js';
import { RelaunchError } from '../errors.js';
import { awaitSuccessorProof, cancelHandoff, ensureHandoffDir, HANDOFF_TOKEN_PATTERN, tokenForRequest } from '../handoff/index.js';
import { channelEnv, predecessorChannel, type PredecessorChannel } from '../handoff/handoff-channel.js';
import { buildBundleRelaunchCommand, buildNodeRelaunchCommand, canExecve, type RelaunchCommand } from '../relaunch/bundle-command.js';
import { killChild, spawnOutcome, watchChildErrors } from '../relaunch/child-process.js';
import { HANDOFF_CWD_ENV, openSuccessorLog, SUCCESSOR_CWD, successorStdio, type SuccessorOutput } from '../relaunch/successor-environment.js';
import type { Relauncher, RelaunchRequest } from '../service/create-first-run-service.js';
import { giveUpPlan, type GiveUpAction } from '../protocol/decisions.js';

/** How to start this app again. */
export type RelaunchPlan =
  | {
      strategy: 'node';
      execPath: string;
      execArgv: string[];
      entry: string;
      args: string[];
      /**
       * The entry blocks on its hand-off channel until `go` when `FIRST_RUN_HANDOFF_HOLD=1` (`holdForGo`,
       * src/handoff/handoff-channel.ts) — the CLI's `launch` does — so the successor may be started before
       * the RS-3 commit and boot meanwhile (`prepare`). Leave it unset for any other entry: one that does
       * not hold would run before the commit. @default false
       */
      holdsForGo?: boolean;
      /** The successor's stdout/stderr (src/relaunch/successor-environment.ts). @default 'inherit' */
      output?: SuccessorOutput;
    }
  | { strategy: 'bundle'; appPath: string; args: string[]; opener?: string; /** The opener's stdout/stderr. @default 'inherit' */ output?: SuccessorOutput }
  | { strategy: 'execve'; execPath: string; execArgv: string[]; entry: string; args: string[] };

export interface ProcessRelauncherOptions {
  stateDir: string;
  plan: RelaunchPlan;
  /** How long the successor has to prove itself alive. */
  handoffTimeoutMs: number;
  /** Fallback poll period for the proof (the channel and `fs.watch` are the fast paths). @default 50 */
  pollMs?: number;
  /** Called with what happens (for the journal). */
  onEvent?: (type: string, payload: Record<string, unknown>) => void;
  /** Called right before `execve` replaces this process (release the lock, flush the ledger). */
  beforeExecve?: () => void;
  /**
   * This run may still relaunch (see {@link mayRelaunch}): load the spawn machinery at the next idle
   * moment instead of between the RS-3 commit and the spawn (~1–1.5 ms of the hand-off's critical path).
   * @default false
   */
  warmUp?: boolean;
}

/**
 * Whether a run that starts from this ledger summary can still relaunch: no ledger yet, or a run not
 * settled whose restart is unspent. A warm launch (COMPLETED or FAILED, or the restart spent) never
 * pays for warming the spawn path.
 */
export function mayRelaunch(summary: { phase: string; restart_count: number } | null): boolean {
  return summary === null || (summary.restart_count === 0 && summary.phase !== 'COMPLETED' && summary.phase !== 'FAILED');
}

/** Load `node:child_process` (lazy in the CLI bundle) now; `true` when `spawn` is there. */
function warmSpawnPath(): boolean {
  return typeof spawn === 'function';
}

/** The relauncher of a process: {@link Relauncher} plus telling the successor the lock is free. */
export interface ProcessRelauncher extends Relauncher {
  /** The lock is released: wake the successor now (it would otherwise notice our exit). */
  notifyReleased(): void;
}

/** The arguments that tell a process it is the successor. Stripped from the argv we copy. */
export const SUCCESSOR_FLAGS = ['--successor-of', '--handoff-token'] as const;

/**
 * `args` without the given options — each as `--name value` or `--name=value` — and flags (`--name`).
 * @example withoutOptions(['--a', '1', '--b=2', '--c', '--d'], ['--a', '--b'], ['--c']) // ['--d']
 */
export function withoutOptions(args: readonly string[], options: readonly string[], flags: readonly string[] = []): string[] {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const option = options.find((name) => arg === name || arg.startsWith(`${name}=`));
    if (option) {
      if (arg === option) i++; // its value
      continue;
    }
    if (!flags.includes(arg)) kept.push(arg);
  }
  return kept;
}

/** The argv of the successor: ours, minus any earlier successor flags, plus the new ones. */
export function successorArgs(args: readonly string[], predecessorPid: number, token: string): string[] {
  return [...withoutOptions(args, SUCCESSOR_FLAGS, ['--dev-restart']), '--successor-of', String(predecessorPid), '--handoff-token', token];
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

/** Where a pinned plan keeps the working directory of its run's start (for `FIRST_RUN_HANDOFF_CWD`). */
const RUN_CWD = Symbol('runCwd');

/**
 * `plan` with its paths absolute (HE-3: pinned when the run starts; the successor starts in `/`), and the
 * run's working directory remembered for a successor's relative state dir (`FIRST_RUN_HANDOFF_CWD`). A
 * copy that keeps the plan's getters lazy (`holdsForGo`). Arguments are passed as they are: a host that
 * puts relative paths in `args` must make them absolute itself.
 */
export function pinRelaunchPlan(plan: RelaunchPlan): RelaunchPlan {
  const fields = plan as unknown as Record<string, unknown>;
  // A bare command name (`node`, `open`) is looked up in PATH, not in the cwd: left as it is.
  const relative = (plan.strategy === 'bundle' ? ['appPath', 'opener'] : ['execPath', 'entry']).filter((key) => {
    const value = fields[key];
    return typeof value === 'string' && !value.startsWith('/') && (key === 'appPath' || key === 'entry' || value.includes('/'));
  });
  const pinned = Object.create(Object.getPrototypeOf(plan) as object, Object.getOwnPropertyDescriptors(plan)) as Record<PropertyKey, unknown>;
  for (const key of relative) pinned[key] = resolvePlanPath(fields[key] as string);
  pinned[RUN_CWD] = currentDirOrNull();
  return pinned as unknown as RelaunchPlan;
}

function currentDirOrNull(): string | null {
  try {
    return process.cwd();
  } catch {
    return null; // deleted already: a successor then resolves nothing against it
  }
}

/** The successor's environment: the hand-off's variables, and the run's starting directory when known. */
function successorEnv(plan: Exclude<RelaunchPlan, { strategy: 'execve' }>, token: string, held: boolean): NodeJS.ProcessEnv {
  const env = plan.strategy === 'node' ? channelEnv(process.env, token, held) : { ...process.env };
  const cwd = runCwdOf(plan);
  if (cwd !== null) env[HANDOFF_CWD_ENV] = cwd;
  else delete env[HANDOFF_CWD_ENV];
  return env;
}

/** The run's starting directory a pinned plan remembers (`pinRelaunchPlan`), or `null`. */
function runCwdOf(plan: RelaunchPlan): string | null {
  const cwd = (plan as unknown as Record<symbol, unknown>)[RUN_CWD];
  return typeof cwd === 'string' ? cwd : null;
}

function resolvePlanPath(value: string): string {
  try {
    return resolve(process.cwd(), value);
  } catch (error) {
    throw new RelaunchError(`The relaunch plan's relative path ${JSON.stringify(value)} cannot be resolved: the working directory no longer exists. Give absolute paths.`, { cause: error });
  }
}

/** Check that a strategy can run here, before anything starts (so a bad config fails at launch, not at restart). */
export function assertStrategyAvailable(strategy: RelaunchStrategy): void {
  if (strategy === 'execve' && !canExecve()) {
    throw new RelaunchError(
      `restart.strategy "execve" needs process.execve (Node ≥ 23.11); this is Node ${process.versions.node}. Use "node" or "bundle".`,
    );
  }
}

/** LaunchServices starts a `bundle` successor with none of our environment: the run's directory goes by `open --env`. */
function handoffCwdEnv(plan: RelaunchPlan): { env?: Record<string, string> } {
  const cwd = runCwdOf(plan);
  return cwd === null ? {} : { env: { [HANDOFF_CWD_ENV]: cwd } };
}

function commandFor(plan: Exclude<RelaunchPlan, { strategy: 'execve' }>, token: string): RelaunchCommand {
  const args = successorArgs(plan.args, process.pid, token);
  return plan.strategy === 'bundle'
    ? buildBundleRelaunchCommand({ appPath: plan.appPath, args, ...(plan.opener ? { opener: plan.opener } : {}), ...handoffCwdEnv(plan) })
    : buildNodeRelaunchCommand({ ...plan, args });
}

function execveInto(plan: Extract<RelaunchPlan, { strategy: 'execve' }>, token: string, options: ProcessRelauncherOptions): never {
  const command = buildNodeRelaunchCommand({ ...plan, args: successorArgs(plan.args, process.pid, token) });
  options.beforeExecve?.();
  options.onEvent?.('restart.handoff_started', { strategy: 'execve', command: command.command });
  // The successor is this process: it starts where every successor does (HE-1), not in a cwd that may be gone.
  process.chdir(SUCCESSOR_CWD);
  // Replaces this process: the successor keeps our PID, so the lock was released just before.
  return (process as unknown as { execve(file: string, args: string[], env: NodeJS.ProcessEnv): never }).execve(
    command.command,
    [command.command, ...command.args],
    { ...process.env, ...handoffCwdEnv(plan).env },
  );
}

/**
 * Start the successor (`node`: our child with a channel; `bundle`: the opener, which exits at once);
 * `held`: a `node` successor that waits for `go` on its channel before it runs anything of ours. It gets
 * its own environment (HE-1): `/` as its cwd, no stdin, its output per `plan.output`.
 * @throws what `spawn` throws; a spawn that fails later shows as a child without a PID (`spawnOutcome`).
 */
function spawnSuccessor(plan: Exclude<RelaunchPlan, { strategy: 'execve' }>, token: string, stateDir: string, held = false): ChildProcess {
  const command = commandFor(plan, token);
  const withChannel = plan.strategy === 'node';
  const output = plan.output ?? 'inherit';
  const logFd = output === 'log' ? openSuccessorLog(stateDir) : null;
  try {
    return spawn(command.command, command.args, {
      detached: true,
      shell: false,
      cwd: SUCCESSOR_CWD,
      stdio: successorStdio(output, logFd, withChannel ? ['pipe'] : []),
      env: successorEnv(plan, token, held),
    });
  } finally {
    if (logFd !== null) closeSync(logFd); // the child has its own copy
  }
}

/** A successor started held (`prepare`), for the request whose token it carries. */
interface HeldSuccessor {
  token: string;
  child: ChildProcess;
  channel: PredecessorChannel | null;
}

export function createProcessRelauncher(options: ProcessRelauncherOptions): ProcessRelauncher {
  const emit = options.onEvent ?? (() => {});
  if (options.warmUp) setImmediate(warmSpawnPath).unref();
  let child: ChildProcess | null = null;
  let channel: PredecessorChannel | null = null;
  let token: string | null = null;
  let used = false;
  let held: HeldSuccessor | null = null;

  /** The held successor for `successorToken`, when it is still there to be told `go`. */
  const takeHeld = (successorToken: string): HeldSuccessor | null => {
    const taken = held;
    held = null;
    if (!taken) return null;
    if (taken.token === successorToken && taken.channel && taken.child.exitCode === null && taken.child.signalCode === null) return taken;
    dropHeld(taken);
    return null;
  };
  const dropHeld = (h: HeldSuccessor) => {
    h.channel?.close(); // its channel closes: it exits without running anything
    reportKill(killChild(h.child));
  };
  /** A `kill` that failed is journaled; one never sent (no live child of ours) is nothing to report. */
  const reportKill = (killed: ReturnType<typeof killChild>) => {
    if (killed instanceof Error) emit('restart.child_kill_failed', { code: (killed as NodeJS.ErrnoException).code ?? null, message: killed.message });
  };
  /** Every child of ours keeps an `error` listener: a late error (a failed `kill`) is journaled, never uncaught. */
  const watched = (started: ChildProcess) =>
    watchChildErrors(started, (error) => emit('restart.child_error', { child_pid: started.pid ?? null, code: error.code ?? null, message: error.message }));

  /** Spawn a successor, watched for errors and unreferenced (it never keeps this process alive). */
  const startSuccessor = (plan: Exclude<RelaunchPlan, { strategy: 'execve' }>, successorToken: string, holdIt = false): ChildProcess => {
    const started = watched(spawnSuccessor(plan, successorToken, options.stateDir, holdIt));
    started.unref();
    return started;
  };

  /**
   * The relauncher's part of giving up (`giveUpPlan`, src/protocol/decisions.ts): the host records the
   * give-up in the ledger first (the service does), then asks for these, in the plan's order.
   */
  const giveUpStep = (successorToken: string, action: Exclude<GiveUpAction, 'record'>) => {
    if (action === 'kill-child') {
      // Our own child: once it is SIGKILLed no late successor of ours can exist, whatever happens to us next.
      // `killChild` signals only a live child of ours with a positive PID (never `kill(0)`; HE-2).
      if (options.plan.strategy === 'node') reportKill(killChild(child));
      return;
    }
    channel?.cancelled();
    const failed = cancelHandoff(options.stateDir, successorToken);
    if (failed) emit('restart.handoff_cancel_failed', { message: failed.message });
  };

  async function relaunch(request: RelaunchRequest): Promise<{ newPid: number }> {
    if (used) throw new RelaunchError('This process already relaunched once; it never relaunches twice.');
    used = true;
    // The token names the request (in the ledger since RS-3): the successor checks the restart is its own.
    const successorToken = tokenForRequest(request.requestId) ?? randomUUID();
    token = successorToken;
    try {
      ensureHandoffDir(options.stateDir);
    } catch (error) {
      throw new RelaunchError(`The hand-off directory is not usable, so no successor was started: ${(error as Error).message}`, { cause: error });
    }
    const plan = options.plan;
    if (plan.strategy === 'execve') execveInto(plan, successorToken, options);
    const prepared = takeHeld(successorToken);
    try {
      if (prepared) {
        ({ child, channel } = prepared);
        channel!.go();
      } else {
        child = startSuccessor(plan, successorToken);
        const started = await spawnOutcome(child);
        if (!started.ok) throw started.error;
        channel = predecessorChannel(child);
      }
    } catch (error) {
      // Given up by the host, in the order of `giveUpPlan` (the ledger first): see `abort`.
      const code = (error as NodeJS.ErrnoException).code;
      throw new RelaunchError(`The successor could not be started${code ? ` (${code})` : ''}: ${(error as Error).message}`, { cause: error });
    }
    emit('restart.handoff_started', { strategy: plan.strategy, child_pid: child.pid ?? null, channel: channel !== null, held: prepared !== null });
    const outcome = await awaitSuccessorProof({
      stateDir: options.stateDir,
      token: successorToken,
      timeoutMs: options.handoffTimeoutMs,
      child,
      childIsSuccessor: plan.strategy === 'node',
      channel,
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    });
    if (!outcome.ok) {
      // Given up by the host, in the order of `giveUpPlan` (the ledger first): see `abort`.
      throw new RelaunchError(`The relaunch was given up: ${outcome.reason}.`);
    }
    emit('restart.successor_alive', { new_pid: outcome.pid, request_id: request.requestId });
    return { newPid: outcome.pid };
  }

  /**
   * The restart is decided and about to be committed: start the `node` successor now, held (it boots
   * Node while the RS-3 commit is written, and runs nothing of ours before `go`, which `relaunch` says
   * where it would otherwise spawn). Only for an entry that holds (`holdsForGo`). Never throws: a
   * successor that cannot be started now is started by `relaunch` as before.
   */
  function prepare(request: RelaunchRequest): void {
    const plan = options.plan;
    if (used || held || plan.strategy !== 'node' || plan.holdsForGo !== true) return;
    const successorToken = tokenForRequest(request.requestId);
    if (!successorToken) return;
    try {
      const heldChild = startSuccessor(plan, successorToken, true);
      // No PID: the spawn failed (EMFILE, EAGAIN…; its `error` is journaled): `relaunch` spawns afresh.
      if (heldChild.pid === undefined) return;
      held = { token: successorToken, child: heldChild, channel: predecessorChannel(heldChild) };
    } catch {
      held = null;
      return;
    }
    emit('restart.handoff_prepared', { child_pid: held.child.pid ?? null });
  }

  return {
    relaunch,
    prepare,
    abandon() {
      const h = held;
      held = null;
      if (h) dropHeld(h);
    },
    notifyReleased() {
      channel?.released();
    },
    abort(_requestId, action) {
      if (!token) return;
      for (const step of action ? [action] : giveUpPlan()) if (step !== 'record') giveUpStep(token, step);
    },
  };
}
