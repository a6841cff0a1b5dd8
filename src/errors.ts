/**
 * Every error the library throws, in one module (house style 6). Each has a stable `code`, a `name`,
 * passes `cause` through, and says what was wrong, where, and what to do.
 */

export type ErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_SCENARIO'
  | 'ERR_USAGE'
  | 'ERR_LOCK_ACQUISITION'
  | 'ERR_LOCK_FILE'
  | 'ERR_LOCK_COMPROMISED'
  | 'ERR_LEDGER'
  | 'ERR_LEDGER_CONFLICT'
  | 'ERR_JOURNAL'
  | 'ERR_BACKEND_UNAVAILABLE'
  | 'ERR_BACKEND'
  | 'ERR_RELAUNCH'
  | 'ERR_SERVICE'
  | 'ERR_DEV_RESTART'
  | 'ERR_STATE_DIR'
  | 'ERR_HANDOFF'
  | 'ERR_OPTIONAL_DEPENDENCY'
  | 'ERR_INSPECTOR_RELAY';

/** One problem found in an input file: where (a key path such as `integrations.permissions_v2.order[2]`) and what. */
export interface InputProblem {
  /** Dotted key path inside the file, `(root)` for the whole document. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

/** Base class: a stable `code`, the `cause` passed through. */
export class FirstRunError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

function listProblems(file: string, problems: readonly InputProblem[]): string {
  return problems.map((p) => `  - ${file}: ${p.path}: ${p.message}`).join('\n');
}

/** The config file is invalid (CF-2). Lists every problem by key path; nothing has run. */
export class ConfigError extends FirstRunError {
  readonly file: string;
  readonly problems: readonly InputProblem[];
  constructor(file: string, problems: readonly InputProblem[], options?: { cause?: unknown }) {
    super(
      'ERR_CONFIG',
      `Invalid config ${file} (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was run:\n${listProblems(file, problems)}`,
      options,
    );
    this.file = file;
    this.problems = problems;
  }
}

/** The simulated TCC database (scenario) is invalid. Lists every problem by key path. */
export class ScenarioError extends FirstRunError {
  readonly file: string;
  readonly problems: readonly InputProblem[];
  constructor(file: string, problems: readonly InputProblem[], options?: { cause?: unknown }) {
    super(
      'ERR_SCENARIO',
      `Invalid simulated TCC database ${file} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${listProblems(file, problems)}`,
      options,
    );
    this.file = file;
    this.problems = problems;
  }
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
  }
}

/** The instance lock is held by another live process (LK-1). Carries the holder when known. */
export class LockAcquisitionError extends FirstRunError {
  readonly lockPath: string;
  readonly holder: { pid: number; host: string; startedAt: string } | null;
  constructor(lockPath: string, holder: LockAcquisitionError['holder'], message: string, options?: { cause?: unknown }) {
    super('ERR_LOCK_ACQUISITION', message, options);
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

/** The lock's files cannot be created, read or removed (permissions, not a directory, …). */
export class LockFileError extends FirstRunError {
  readonly lockPath: string;
  constructor(lockPath: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LOCK_FILE', message, options);
    this.lockPath = lockPath;
  }
}

/** Our lock was taken or removed by someone else while we held it. We must stop writing. */
export class LockCompromisedError extends FirstRunError {
  readonly lockPath: string;
  constructor(lockPath: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LOCK_COMPROMISED', message, options);
    this.lockPath = lockPath;
  }
}

/** The ledger cannot be read, validated or written. */
export class LedgerError extends FirstRunError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LEDGER', message, options);
    this.file = file;
  }
}

/** A ledger write lost a compare-and-set: another writer committed a newer generation. */
export class LedgerConflictError extends FirstRunError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_LEDGER_CONFLICT', message, options);
    this.file = file;
  }
}

/** A permission backend cannot be used here (the macOS backend off macOS, or its package missing). */
export class BackendUnavailableError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/** A permission backend call failed. */
export class BackendError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND', message, options);
  }
}

/** Starting the successor process failed, or it never proved itself alive. */
export class RelaunchError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_RELAUNCH', message, options);
  }
}

/** The service was used wrongly (started twice, input after stop, …). */
export class ServiceError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SERVICE', message, options);
  }
}

/** Dev mode (DV-1): the dev module failed to load, the dev-restart state file is unusable, or a bad option. */
export class DevRestartError extends FirstRunError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DEV_RESTART', message, options);
  }
}

/** Describe a value for an error message: `` `0` (number) ``, `` `"x"` (string) ``. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return '`null`';
  const type = Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `\`${shown}\` (${type})`;
}

/** The event journal (`events.ndjson`) cannot be opened, appended to (closed, disk full, …) or read. */
export class JournalError extends FirstRunError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_JOURNAL', message, options);
    this.file = file;
  }
}

/**
 * The state dir cannot be used: it is a file, lies under a file, is too long, or is not safely ours
 * (owned by another user, or under a directory others can write). Exit code 2; nothing was written.
 */
export class StateDirError extends FirstRunError {
  readonly stateDir: string;
  constructor(stateDir: string, message: string, options?: { cause?: unknown }) {
    super('ERR_STATE_DIR', message, options);
    this.stateDir = stateDir;
  }
}

/** The relaunch hand-off's files cannot be used (the `handoff` path is not a directory of ours, …). */
export class HandoffError extends FirstRunError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_HANDOFF', message, options);
    this.file = file;
  }
}

/**
 * An optional peer dependency is not installed (e.g. `@statelyai/inspect` for the Stately inspector).
 * The message names the package, the feature that needs it and the command that installs it.
 */
export class OptionalDependencyError extends FirstRunError {
  /** The package that is missing, e.g. `@statelyai/inspect`. */
  readonly packageName: string;
  constructor(packageName: string, feature: string, options?: { cause?: unknown }) {
    super(
      'ERR_OPTIONAL_DEPENDENCY',
      `${feature} needs the optional package \`${packageName}\`, which is not installed. ` +
        `Install it next to first-run-orchestrator: \`npm install ${packageName}\`.`,
      options,
    );
    this.packageName = packageName;
  }
}

/** The Stately inspector relay could not start (its port is taken, or it could not bind). */
export class InspectorRelayError extends FirstRunError {
  /** The host and port it tried to bind. */
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, message: string, options?: { cause?: unknown }) {
    super('ERR_INSPECTOR_RELAY', message, options);
    this.host = host;
    this.port = port;
  }
}
