/**
 * Run under `strace -f` by `syscalls_warm_start` (bench/figures/embedded-warm-start.ts): prints
 * `pid N`, then makes `rounds` embedded warm starts and as many replays of their floor, alternately,
 * each between two marker calls — `access("<marker>/start-I-start")` … `access("<marker>/start-I-end")`
 * and `floor-I-…` — of paths that do not exist, which the parent finds in the trace.
 *
 * argv: stateDir floorStateDir simDb bin markerPrefix rounds
 */
import { accessSync } from 'node:fs';
import { warmSettings, warmStart } from '../figures/embedded-warm-start.js';
import { createWarmStartFloor } from '../warm-start-floor.js';

const [stateDir, floorDir, simDb, bin, marker, roundsArg] = process.argv.slice(2);
if (!stateDir || !floorDir || !simDb || !bin || !marker || !roundsArg) throw new Error('usage: warm-start-trace.js stateDir floorStateDir simDb bin markerPrefix rounds');

const mark = (name: string): void => {
  try {
    accessSync(`${marker}/${name}`);
  } catch {
    // it never exists: the call is the mark
  }
};

process.stdout.write(`pid ${process.pid}\n`);
const settings = warmSettings();
const floor = createWarmStartFloor(floorDir, simDb);
for (let i = 0; i < Number(roundsArg); i++) {
  mark(`start-${i}-start`);
  const outcome = await warmStart(stateDir, simDb, settings, bin);
  mark(`start-${i}-end`);
  if (outcome !== 'completed without the machines') throw new Error(`a warm start ended ${outcome}`);
  mark(`floor-${i}-start`);
  floor.run();
  mark(`floor-${i}-end`);
}
