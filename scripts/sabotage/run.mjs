#!/usr/bin/env node
/**
 * `npm run sabotage` (issue 19): apply each named mutation of `catalogue.mjs`, alone, to a scratch copy of
 * this checkout, run the tests that must catch it, and fail when one survives. Prints a line a sabotage
 * and `N sabotages, N caught`, and which safety invariants the model-caught ones refuted.
 *
 *   npm run sabotage                          # the whole catalogue
 *   npm run sabotage -- --only writer-check-off,backup-dropped
 *   npm run sabotage -- --list
 *
 * A sabotage counts as caught only when a test *fails* (vitest reports failed tests); a mutation that
 * no longer applies (its text is not in its file exactly once) fails the run as stale. The scratch copy
 * holds the tracked and untracked (not ignored) files, `dist/` for an incremental build, and a link to
 * `node_modules`; it is removed at the end.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SABOTAGES } from './catalogue.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAFETY = ['one-lock-holder', 'one-ledger-writer', 'restart-count-once', 'restart-count-monotonic', 'one-relaunch', 'no-phantom-successor', 'no-lockout'];

function parseArgs(argv) {
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
  return { list: argv.includes('--list'), only: only ? only.split(',') : null };
}

function selected({ only }) {
  if (!only) return SABOTAGES;
  const unknown = only.filter((name) => !SABOTAGES.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`Unknown sabotage(s): ${unknown.join(', ')}. Known: ${SABOTAGES.map((s) => s.name).join(', ')}`);
  return SABOTAGES.filter((s) => only.includes(s.name));
}

/** A copy of the checkout to break: what git tracks or would track, dist/ (incremental builds), node_modules linked. */
function makeScratch() {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'first-run-sabotage-'));
  const listed = spawnSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${root}: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = path.join(root, file);
    if (!fs.existsSync(from) || fs.lstatSync(from).isDirectory()) continue; // deleted in the work tree, or a submodule
    fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
    fs.copyFileSync(from, path.join(scratch, file));
  }
  if (fs.existsSync(path.join(root, 'dist'))) fs.cpSync(path.join(root, 'dist'), path.join(scratch, 'dist'), { recursive: true, preserveTimestamps: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
  return scratch;
}

function run(command, args, cwd, env = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env }, maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function applyOne(scratch, sabotage) {
  const file = path.join(scratch, sabotage.file);
  const original = fs.readFileSync(file, 'utf8');
  const count = original.split(sabotage.find).length - 1;
  if (count !== 1) return { original: null, problem: `stale: its text is in ${sabotage.file} ${count} times (expected once)` };
  fs.writeFileSync(file, original.replace(sabotage.find, sabotage.replace));
  return { original, problem: null };
}

function tryOne(scratch, sabotage) {
  const started = Date.now();
  const { original, problem } = applyOne(scratch, sabotage);
  if (problem) return { caught: false, why: problem, ms: Date.now() - started };
  try {
    if (sabotage.build) {
      const built = run('npm', ['run', '-s', 'build'], scratch);
      if (built.status !== 0) return { caught: false, why: `the sabotaged copy does not build:\n${built.output.slice(-2000)}`, ms: Date.now() - started };
    }
    const tested = run(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...sabotage.tests], scratch, {
      FIRST_RUN_SABOTAGE: '1',
      FIRST_RUN_SABOTAGE_EXPECT: (sabotage.expect ?? []).join(','),
    });
    const failedTests = /Tests\s+(\d+) failed/.exec(tested.output) ?? /^\s*FAIL\s/m.exec(tested.output);
    const invariants = [...new Set([...tested.output.matchAll(/VIOLATION of ([a-z-]+)/g)].map((m) => m[1]))];
    if (tested.status === 0) return { caught: false, why: 'every test passed', ms: Date.now() - started };
    if (!failedTests) return { caught: false, why: `the tests did not run (exit ${tested.status}):\n${tested.output.slice(-2000)}`, ms: Date.now() - started };
    return { caught: true, invariants, ms: Date.now() - started };
  } finally {
    if (original !== null) fs.writeFileSync(path.join(scratch, sabotage.file), original);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const chosen = selected(args);
  if (args.list) {
    for (const s of chosen) console.log(`${s.name.padEnd(36)} ${s.by.padEnd(9)} ${s.guard}`);
    return 0;
  }
  const scratch = makeScratch();
  let caught = 0;
  const refuted = new Set();
  try {
    for (const sabotage of chosen) {
      const result = tryOne(scratch, sabotage);
      const where = sabotage.by === 'model' ? 'by the model alone' : `by ${sabotage.tests.join(', ')}`;
      if (result.caught) {
        caught++;
        if (sabotage.by === 'model') for (const inv of result.invariants) refuted.add(inv);
        const missed = (sabotage.expect ?? []).filter((inv) => !result.invariants.includes(inv));
        const what = result.invariants.length > 0 ? ` (refutes ${result.invariants.join(', ')})` : '';
        if (missed.length > 0) console.log(`note      ${sabotage.name}: expected to refute ${missed.join(', ')} too, and did not`);
        console.log(`caught    ${sabotage.name}: ${where}${what} [${(result.ms / 1000).toFixed(1)} s]`);
      } else {
        console.log(`SURVIVED  ${sabotage.name}: ${sabotage.guard} — ${result.why} [${(result.ms / 1000).toFixed(1)} s]`);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const safety = SAFETY.filter((inv) => refuted.has(inv));
  console.log(`safety invariants refuted by a model-caught sabotage: ${safety.length} of ${SAFETY.length} (${safety.join(', ') || 'none'})`);
  console.log(`${chosen.length} sabotages, ${caught} caught`);
  return caught === chosen.length ? 0 : 1;
}

process.exitCode = main();
