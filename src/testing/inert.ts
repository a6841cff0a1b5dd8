/**
 * Inert effects: every effect a machine declares, bound to an implementation that does nothing but
 * report the call — so the production machines (or an adopter's variant of them) run in a test, are
 * traversed by `xstate/graph`, persisted and restored, without a backend, a clock, a disk or a process.
 *
 * Generic over the machine: the effects are found in `machine.implementations`, not listed here.
 * - an actor slot that is a machine (the orchestrator's children) is made inert in turn, recursively;
 * - any other actor slot (a promise or callback placeholder) becomes a callback actor that never sends
 *   anything (a read that never answers, a timer that never fires): the test model delivers the
 *   `xstate.done.actor.*` events and ticks itself;
 * - an action that is a plain function (`publish`, `activatePermission`, `executeRelaunch`, …: the host's
 *   effects) records the call; XState's own actions (`assign`, `enqueueActions`, `sendTo`, …) stay;
 * - with `detachParent`, the actions that talk to the parent (`notifyParent`) become no-ops, so a
 *   child machine can run on its own.
 */
import { fromCallback, type AnyActorLogic, type AnyStateMachine } from 'xstate';
import { orchestratorMachine } from '../../machines/orchestrator.machine.js';
import { permissionStepMachine } from '../../machines/permission-step.machine.js';
import { relaunchGateMachine } from '../../machines/relaunch-gate.machine.js';

/** One effect call reported by an inert implementation. */
export interface EffectCall {
  /** The machine's id (`permissionStep`, `relaunchGate`, …). */
  machine: string;
  /** The effect's name in `setup({ actions | actors })`. */
  effect: string;
  kind: 'action' | 'actor';
  /** The action's params, or the actor's input. */
  params: unknown;
  /** The machine's context when the action ran (actions only). */
  context?: unknown;
}

/** Options of {@link provideInert}. */
export interface InertOptions {
  /** Told every effect call (synchronously, as it happens). @default none */
  record?: (call: EffectCall) => void;
  /** Make the actions that talk to the parent no-ops (to run a child machine alone). @default false */
  detachParent?: boolean;
}

/** The actions that send to the parent: named so by the machines (house style), made no-ops by `detachParent`. */
export const PARENT_ACTIONS: readonly string[] = ['notifyParent'];

/** Whether an actor logic is a state machine (has a root node and `provide`). */
export function isMachine(logic: unknown): logic is AnyStateMachine {
  return typeof logic === 'object' && logic !== null && 'root' in logic && typeof (logic as { provide?: unknown }).provide === 'function';
}

/** XState's built-in actions carry a `type` such as `xstate.assign`; the host's effects are plain functions. */
function isBuiltInAction(action: unknown): boolean {
  const type = (action as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type.startsWith('xstate.');
}

/**
 * The machine with every effect inert (see the module comment). Children machines are inert too and
 * keep their link to the parent.
 *
 * @example
 * ```ts
 * const calls: EffectCall[] = [];
 * const step = provideInert(permissionStepMachine, { record: (c) => calls.push(c), detachParent: true });
 * ```
 */
export function provideInert<TMachine extends AnyStateMachine>(machine: TMachine, options: InertOptions = {}): TMachine {
  const id = machine.id;
  const record = options.record;
  const actors: Record<string, AnyActorLogic> = {};
  for (const [name, logic] of Object.entries(machine.implementations.actors ?? {})) {
    if (isMachine(logic)) actors[name] = provideInert(logic, { ...(record ? { record } : {}) });
    else {
      actors[name] = fromCallback(({ input }) => {
        record?.({ machine: id, effect: name, kind: 'actor', params: input });
      });
    }
  }
  const actions: Record<string, (args: { context: unknown }, params: unknown) => void> = {};
  for (const [name, action] of Object.entries(machine.implementations.actions ?? {})) {
    const detached = options.detachParent === true && PARENT_ACTIONS.includes(name);
    if (!detached && isBuiltInAction(action)) continue;
    actions[name] = ({ context }, params) => {
      if (!detached) record?.({ machine: id, effect: name, kind: 'action', params, context });
    };
  }
  return machine.provide({ actors, actions } as never) as TMachine;
}

/** The product's orchestrator with every effect inert, its children (gate, quit intent, tray, steps) included. */
export function inertOrchestrator(options: InertOptions = {}): typeof orchestratorMachine {
  return provideInert(orchestratorMachine, options);
}

/** The product's permission step with every effect inert, detached from a parent unless `detachParent: false`. */
export function inertPermissionStep(options: InertOptions = {}): typeof permissionStepMachine {
  return provideInert(permissionStepMachine, { detachParent: true, ...options });
}

/** The product's relaunch gate with every effect inert, detached from a parent unless `detachParent: false`. */
export function inertRelaunchGate(options: InertOptions = {}): typeof relaunchGateMachine {
  return provideInert(relaunchGateMachine, { detachParent: true, ...options });
}
