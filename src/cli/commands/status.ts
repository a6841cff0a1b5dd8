/**
 * `first-run status` — the ledger's phase and restart_count, the lock holder, the last events, and why
 * a restart did or did not happen. Read-only: it quarantines nothing and takes no lock.
 */
import { inspectHandoffs, type HandoffEntry } from '../../handoff/index.js';
import { getLockStatus } from '../../lock/index.js';
import { readJournal } from '../../journal/index.js';
import { ledgerPaths, readLedgerSummary } from '../../ledger/index.js';
import { resolveLedgerFs } from '../../ledger/ledger-fs.js';
import { readLedgerFile } from '../../ledger/ledger-files.js';
import { validateOrchestratorSnapshot } from '../../runtime/snapshot.js';
import { resolveStateDir, stateDirExists } from '../common.js';
import { EXIT, type Command } from '../io.js';
import { parseEventCount } from '../parse-cli.js';

interface Why {
  decision: unknown;
  gate: unknown;
  restart_outcome: unknown;
  warnings: unknown;
  summary: string;
}

/** Explain the restart decision from the ledger's snapshot: the orchestrator's half and the gate's. */
export function explainRestart(snapshot: unknown): Why {
  const root = snapshot as {
    context?: { decision?: { allowed?: boolean; blockedBy?: string[] } | null; restartOutcome?: string | null; warnings?: string[] };
    children?: { relaunchGate?: { snapshot?: { value?: unknown; context?: { restartCount?: number; last?: { kind: string; reason?: string; message?: string; why?: string; newPid?: number } } } } };
  };
  const decision = root.context?.decision ?? null;
  const gate = root.children?.relaunchGate?.snapshot?.context;
  const last = gate?.last;
  let summary: string;
  // The gate's record outlives the decision: a later launch (all granted at precheck) decides nothing,
  // but the restart an earlier run executed is still the answer to "why".
  if (last?.kind === 'executed' && (!decision || decision.allowed)) summary = `restart executed: the successor was pid ${String(last.newPid)}`;
  else if (last?.kind === 'executed_by_predecessor' && (!decision || decision.allowed)) summary = 'restart executed by the previous process; this ledger was resumed by its successor';
  else if (!decision && (gate?.restartCount ?? 0) >= 1) summary = `restart executed by an earlier run (restart_count ${String(gate?.restartCount)}); no further automatic restart`;
  else if (!decision) summary = 'no restart decision yet (the pipeline has not finished, or all permissions were granted at precheck)';
  else if (!decision.allowed) summary = `no restart: blocked by ${decision.blockedBy?.join(', ') || 'unknown'}`;
  else if (!last || last.kind === 'none') summary = 'restart requested; not executed yet';
  else if (last.kind === 'rejected') summary = `restart rejected by the relaunch gate: ${String(last.reason)}`;
  else if (last.kind === 'cancelled') summary = 'restart cancelled: the user quit before it executed';
  else if (last.kind === 'failed') summary = `restart failed: ${String(last.message)} (verified in place; never retried)`;
  else summary = `restart budget spent without executing: ${String(last.why)}`;
  return {
    decision,
    gate: gate ? { state: root.children?.relaunchGate?.snapshot?.value, restart_count: gate.restartCount, last } : null,
    restart_outcome: root.context?.restartOutcome ?? null,
    warnings: root.context?.warnings ?? [],
    summary,
  };
}

/** The last `howMany` events; none for 0 (`slice(-0)` would be all of them). */
export function lastEvents<T>(events: readonly T[], howMany: number): T[] {
  return howMany === 0 ? [] : events.slice(-howMany);
}

export const runStatus: Command = async (cli, io) => {
  const stateDir = resolveStateDir(cli, io);
  const howMany = parseEventCount('events', cli.options.events, 10);
  if (!stateDirExists(stateDir)) return reportMissingStateDir(stateDir, cli.options.json === true, io);
  const summary = readLedgerSummary(stateDir, { validateSnapshot: validateOrchestratorSnapshot });
  const lock = getLockStatus({ stateDir });
  const journal = readJournal(`${stateDir}/events.ndjson`);
  let why: Why | null = null;
  if (summary.kind === 'ok') {
    const file = summary.source === 'ledger' ? ledgerPaths(stateDir).ledger : ledgerPaths(stateDir).backup;
    // Read again as the summary read it (lstat first, never through a link, a regular file only): the
    // file may have been replaced since, by anything.
    const read = readLedgerFile(resolveLedgerFs(), file);
    why = read.kind === 'ok' ? explainRestart(read.envelope.snapshot) : null;
  }
  const held = lock.locked && !lock.stale;
  const handoff = inspectHandoffs(stateDir);
  const status = {
    state_dir: stateDir,
    state_dir_exists: true,
    phase: summary.kind === 'ok' ? summary.phase : 'NONE',
    restart_count: summary.kind === 'ok' ? summary.restart_count : 0,
    ledger:
      summary.kind === 'ok'
        ? { source: summary.source, generation: summary.generation, writer_pid: summary.writer_pid, written_at: summary.written_at }
        : { source: null, problems: summary.kind === 'unusable' ? summary.problems : [] },
    lock: { held, pid: lock.holder?.pid ?? null, host: lock.holder?.host ?? null, stale: lock.stale, description: lock.description },
    why,
    handoff: { pending: handoff.find((entry) => entry.pending) ?? null, entries: handoff },
    last_events: lastEvents(journal.events, howMany),
    journal_problems: journal.problems.length,
  };
  if (cli.options.json === true) {
    io.stdout(JSON.stringify(status));
    return EXIT.ok;
  }
  io.stdout(`state dir      ${stateDir}`);
  io.stdout(`phase          ${status.phase}`);
  io.stdout(`restart_count  ${status.restart_count}`);
  if (summary.kind === 'ok') io.stdout(`ledger         generation ${summary.generation}, written by pid ${summary.writer_pid} at ${summary.written_at}${summary.source === 'backup' ? ' (from the backup)' : ''}`);
  else if (summary.kind === 'unusable') io.stdout(`ledger         UNUSABLE: ${summary.problems.map((p) => p.message).join('; ')}`);
  else io.stdout('ledger         none yet');
  io.stdout(`lock           ${held ? `held by pid ${status.lock.pid} on ${status.lock.host}` : lock.stale ? `stale (${lock.description})` : 'free'}`);
  if (why) io.stdout(`why            ${why.summary}`);
  for (const entry of handoff) io.stdout(`hand-off       ${describeHandoff(entry)}`);
  if (status.last_events.length > 0) {
    io.stdout('last events');
    for (const event of status.last_events) {
      const { ts, pid, type, ...rest } = event as { ts: string; pid: number; type: string };
      io.stdout(`  ${ts} [${pid}] ${type} ${JSON.stringify(rest)}`);
    }
  }
  return EXIT.ok;
};

/** One hand-off token in words (`src/handoff/handoff-protocol.ts` for the reasons). */
function describeHandoff(entry: HandoffEntry): string {
  const who = entry.pid === null ? 'no proof' : `successor pid ${entry.pid}`;
  if (entry.pending) return `${who} is waiting for the lock: launches yield to it and reset refuses`;
  return `${who}: not pending (${entry.reason}${entry.cancelled ? ', cancelled' : ''})`;
}

/**
 * A state dir that does not exist is said so, in words and in `--json` (`state_dir_exists: false`), so a
 * typo in `--state-dir` is not read as "no first run yet". Exit 0: it is an answer, not an error — a first
 * run that never started has no state dir either.
 */
function reportMissingStateDir(stateDir: string, json: boolean, io: Parameters<Command>[1]): number {
  const what = 'does not exist';
  if (json) {
    // The same shape as for an existing dir, so a consumer reads one schema.
    const lock = { held: false, pid: null, host: null, stale: false, description: `${stateDir} ${what}` };
    const status = { state_dir: stateDir, state_dir_exists: false, problem: 'missing', phase: 'NONE', restart_count: 0, ledger: { source: null, problems: [] }, lock, why: null, handoff: { pending: null, entries: [] }, last_events: [], journal_problems: 0 };
    io.stdout(JSON.stringify(status));
    return EXIT.ok;
  }
  io.stdout(`state dir      ${stateDir} ${what}: no first run has used it (check --state-dir or $FIRST_RUN_STATE_DIR for a typo)`);
  return EXIT.ok;
}
