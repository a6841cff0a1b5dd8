/**
 * `first-run reset` — clear the ledger and flags so the next launch is a first run again. Nothing is
 * deleted: the files move to `quarantine/`. Refused while a live process holds the instance lock.
 */
import { createInterface } from 'node:readline/promises';
import { openJournal } from '../../journal/index.js';
import { resetLedger } from '../../ledger/index.js';
import { acquireInstanceLock } from '../../lock/index.js';
import { UsageError } from '../../errors.js';
import { resolveStateDir } from '../common.js';
import { EXIT, type Command } from '../io.js';

export const runReset: Command = async (cli, io) => {
  const stateDir = resolveStateDir(cli, io);
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
  // Hold the lock while resetting: never pull the ledger from under a running instance.
  const lock = await acquireInstanceLock({ stateDir });
  const journal = openJournal({ stateDir });
  try {
    const { moved } = resetLedger(stateDir, { journal, assertWriter: () => lock.assertHeld() });
    if (cli.options.json === true) io.stdout(JSON.stringify({ state_dir: stateDir, moved }));
    else if (moved.length === 0) io.stdout(`nothing to reset in ${stateDir}`);
    else for (const { from, to } of moved) io.stdout(`moved ${from} → ${to}`);
  } finally {
    journal.close();
    await lock.release();
  }
  return EXIT.ok;
};
