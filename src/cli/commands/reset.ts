/**
 * `first-run reset` — clear the ledger and flags so the next launch is a first run again. Nothing is
 * deleted: the files move to `quarantine/`. Refused (exit 3) while a live process holds the instance lock
 * or a relaunched successor is waiting for it.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../../errors.js';
import { resetFirstRun } from '../../runtime/reset-first-run.js';
import { resolveStateDir, stateDirExists, tightenedLine } from '../common.js';
import { EXIT, type Command } from '../io.js';

export const runReset: Command = async (cli, io) => {
  const stateDir = resolveStateDir(cli, io);
  // Nothing to reset in a dir that does not exist, and nothing to create: `reset` never makes a state dir.
  if (!stateDirExists(stateDir)) {
    if (cli.options.json === true) io.stdout(JSON.stringify({ state_dir: stateDir, state_dir_exists: false, moved: [] }));
    else io.stdout(`nothing to reset: ${stateDir} does not exist (check --state-dir or $FIRST_RUN_STATE_DIR for a typo)`);
    return EXIT.ok;
  }
  if (cli.options.yes !== true) {
    if (!process.stdin.isTTY) throw new UsageError(`\`first-run reset\` asks before it clears ${stateDir}; pass --yes when there is no terminal.`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Clear the ledger and flags in ${stateDir} (moved to quarantine/)? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stdout('nothing changed');
      return EXIT.ok;
    }
  }
  const { moved, tightenedFrom } = await resetFirstRun({ stateDir });
  if (tightenedFrom !== null) io.stderr(tightenedLine(stateDir, `0${tightenedFrom.toString(8)}`));
  if (cli.options.json === true) io.stdout(JSON.stringify({ state_dir: stateDir, state_dir_exists: true, moved }));
  else if (moved.length === 0) io.stdout(`nothing to reset in ${stateDir}`);
  else for (const { from, to } of moved) io.stdout(`moved ${from} → ${to}`);
  return EXIT.ok;
};
