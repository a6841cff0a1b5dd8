/**
 * `first-run status` — the ledger's phase and restart_count, the lock holder, the last events, and why
 * a restart did or did not happen. Read-only: it quarantines nothing and takes no lock.
 */
import { readFileSync } from 'node:fs';
import { getLockStatus } from '../../lock/index.js';
import { readJournal } from '../../journal/index.js';
import { ledgerPaths, readLedgerSummary } from '../../ledger/index.js';
import { validateOrchestratorSnapshot } from '../../runtime/snapshot.js';
import { resolveStateDir } from '../common.js';
import { EXIT, type Command } from '../io.js';
import { parseMs } from '../parse-cli.js';

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
  if (!decision) summary = 'no restart decision yet (the pipeline has not finished, or all permissions were granted at precheck)';
  else if (!decision.allowed) summary = `no restart: blocked by ${decision.blockedBy?.join(', ') || 'unknown'}`;
  else if (!last || last.kind === 'none') summary = 'restart requested; not executed yet';
  else if (last.kind === 'executed') summary = `restart executed: the successor was pid ${String(last.newPid)}`;
  else if (last.kind === 'executed_by_predecessor') summary = 'restart executed by the previous process; this ledger was resumed by its successor';
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

export const runStatus: Command = async (cli, io) => {
  const stateDir = resolveStateDir(cli, io);
  const howMany = parseMs('events', cli.options.events, 10);
  const summary = readLedgerSummary(stateDir, { validateSnapshot: validateOrchestratorSnapshot });
  const lock = getLockStatus({ stateDir });
  const journal = readJournal(`${stateDir}/events.ndjson`);
  let why: Why | null = null;
  if (summary.kind === 'ok') {
    const file = summary.source === 'ledger' ? ledgerPaths(stateDir).ledger : ledgerPaths(stateDir).backup;
    why = explainRestart((JSON.parse(readFileSync(file, 'utf8')) as { snapshot: unknown }).snapshot);
  }
  const held = lock.locked && !lock.stale;
  const status = {
    state_dir: stateDir,
    phase: summary.kind === 'ok' ? summary.phase : 'NONE',
    restart_count: summary.kind === 'ok' ? summary.restart_count : 0,
    ledger:
      summary.kind === 'ok'
        ? { source: summary.source, generation: summary.generation, writer_pid: summary.writer_pid, written_at: summary.written_at }
        : { source: null, problems: summary.kind === 'unusable' ? summary.problems : [] },
    lock: { held, pid: lock.holder?.pid ?? null, host: lock.holder?.host ?? null, stale: lock.stale, description: lock.description },
    why,
    last_events: journal.events.slice(-howMany),
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
  if (status.last_events.length > 0) {
    io.stdout('last events');
    for (const event of status.last_events) {
      const { ts, pid, type, ...rest } = event as { ts: string; pid: number; type: string };
      io.stdout(`  ${ts} [${pid}] ${type} ${JSON.stringify(rest)}`);
    }
  }
  return EXIT.ok;
};
