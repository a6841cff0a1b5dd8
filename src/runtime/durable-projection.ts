/**
 * What of the orchestrator's persisted snapshot must be durable. The ledger store skips a commit whose
 * projection equals the last durable one — or that is `undefined`, "nothing new" — when the restart
 * count is the same (`durableProjection`, src/ledger/ledger-store.ts). So a warm launch that changes
 * nothing a later launch needs writes nothing, and a first run commits only at the moments that change
 * what a later launch would do. The argument that this keeps "never a second restart" is in
 * docs/architecture.md, "Durable only when it matters"; in one line: a skipped snapshot S always has a
 * durable predecessor D with the same restart count such that a later launch restoring D does what it
 * would do restoring S — so a crash after a skip leaves exactly what a crash right after D's commit
 * would have left, a case the argument already covers.
 *
 * The rules (each a fact of the machines in `machines/`, which own the shapes; `snapshot.ts` validates
 * them):
 * 1. **Per-process fields** are left out, each overwritten by `runtime.booted` before anything reads it:
 *    the root's and the relaunch gate's `bootId`, and the root's `boots` counter (which only makes a
 *    `requestId` unique next to the boot id). Values *derived* from a boot id and kept for later launches
 *    (`screenCapturePromptedIn`, a request's `armedBy` and id) stay in.
 * 2. **Wait/read churn inside a step** is folded: a running step's `rechecking`, `pollWait` and
 *    `pollRead` are one state `awaiting`, `confirmWait`/`confirmRead` one state `confirmingRead`, and the
 *    invoked children those states imply (`wait`, `readStatus`; the root's `precheck`, `verify`) are
 *    left out — restored into any of them, a step reads the status again and goes on; only reads happen
 *    there, and what was read (status, confirmations left, time left in the timebox) is in the context, which stays in.
 * 3. **Nothing new yet**: `PRECHECK`, and `PIPELINE` before its first step has asked for anything
 *    (no result yet, the step still reading or routing, nothing requested in it) → `undefined`. Such a
 *    state is only reached from a durable `COMPLETED`/`FAILED`/fresh ledger through a precheck in this
 *    process (`startRun` clears the results), and restoring that durable state makes a later launch run
 *    the same precheck. Nothing was requested, nothing counted.
 * 4. **A restored restart request**: `RESTART_REQUESTED.*` and `POST_RESTART_VERIFY.checking` project to
 *    the same value: a later launch restored into `RESTART_REQUESTED` goes to `POST_RESTART_VERIFY`
 *    at once (`runtime.booted`), so the successor's first snapshot adds nothing over its predecessor's
 *    last one — unless its context differs (a `restart_unverified` warning, another outcome).
 */

/** Paths (property names from the snapshot root) of the per-process fields (rule 1). */
const PER_PROCESS: readonly (readonly string[])[] = [
  ['context', 'bootId'],
  ['context', 'boots'],
  ['children', 'relaunchGate', 'snapshot', 'context', 'bootId'],
];

/** Invoked children implied by their parent's state (rule 2). */
const IMPLIED_ROOT_CHILDREN = ['precheck', 'verify'];
const IMPLIED_STEP_CHILDREN = ['wait', 'readStatus'];
const FOLDED_STEP_STATES: Record<string, string> = {
  rechecking: 'awaiting',
  pollWait: 'awaiting',
  pollRead: 'awaiting',
  confirmWait: 'confirmingRead',
  confirmRead: 'confirmingRead',
};

import { isRecord } from '../safe-json.js';

type Json = Record<string, unknown>;


/**
 * The orchestrator snapshot as far as a later launch depends on it, or `undefined` when it adds nothing
 * to the last durable state (rule 3). Copies only what it changes; a snapshot of another shape is
 * returned with whatever of the rules apply to it.
 */
export function orchestratorDurableProjection(snapshot: unknown): unknown {
  if (!isRecord(snapshot)) return snapshot;
  if (addsNothing(snapshot)) return undefined;
  let result: unknown = snapshot;
  for (const fieldPath of PER_PROCESS) result = without(result, fieldPath);
  const projected = { ...(result as Json) };
  projected.value = foldRootValue(projected.value);
  if (isRecord(projected.children)) {
    const children = withoutKeys(projected.children, IMPLIED_ROOT_CHILDREN);
    if (isRecord(children.step)) children.step = foldStep(children.step);
    projected.children = children;
  }
  return projected;
}

/** Rule 3: a precheck, or a pipeline whose first step has not asked for anything yet. */
function addsNothing(snapshot: Json): boolean {
  const value = snapshot.value;
  if (value === 'PRECHECK') return true;
  if (!isRecord(value) || value.PIPELINE === undefined) return false;
  const context = isRecord(snapshot.context) ? snapshot.context : {};
  if (!isRecord(context.results) || Object.keys(context.results).length > 0) return false;
  if (value.PIPELINE !== 'step') return false;
  const step = isRecord(snapshot.children) && isRecord(snapshot.children.step) ? snapshot.children.step.snapshot : undefined;
  if (!isRecord(step) || !isRecord(step.context)) return false;
  const stepValue = step.value;
  const early = stepValue === 'reading' || (isRecord(stepValue) && stepValue.running === 'routing');
  return early && step.context.requestedNow !== true && step.context.promptedNow !== true;
}

/** Rule 4: every `RESTART_REQUESTED` state and a verify that has only just begun are one value. */
function foldRootValue(value: unknown): unknown {
  if (isRecord(value) && (value.RESTART_REQUESTED !== undefined || value.POST_RESTART_VERIFY === 'checking')) {
    return 'RESTART_REQUESTED|POST_RESTART_VERIFY.checking';
  }
  return value;
}

/** Rule 2 on the `step` child (`{ snapshot, src, … }`). */
function foldStep(step: Json): Json {
  if (!isRecord(step.snapshot)) return step;
  const snapshot = { ...step.snapshot };
  if (isRecord(snapshot.value) && typeof snapshot.value.running === 'string') {
    const folded = FOLDED_STEP_STATES[snapshot.value.running];
    if (folded) snapshot.value = { ...snapshot.value, running: folded };
  }
  if (isRecord(snapshot.children)) snapshot.children = withoutKeys(snapshot.children, IMPLIED_STEP_CHILDREN);
  return { ...step, snapshot };
}

function withoutKeys(value: Json, keys: readonly string[]): Json {
  const copy = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}

function without(value: unknown, fieldPath: readonly string[]): unknown {
  if (!isRecord(value)) return value;
  const [head, ...rest] = fieldPath;
  if (head === undefined || !(head in value)) return value;
  const copy: Json = { ...value };
  if (rest.length === 0) delete copy[head];
  else copy[head] = without(copy[head], rest);
  return copy;
}
