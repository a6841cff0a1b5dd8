#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`; `npm start` and `npm test` build first).
// A closed stdout (`first-run status | head`) ends the output quietly instead of crashing.
process.stdout.on('error', (error) => {
  if (error && error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
import { statSync } from 'node:fs';

// The build also bundles the CLI into dist/cli-bundle/ (bench/bundle-cli.mjs): the same modules, loaded as a
// few files instead of ~90, which is most of a warm launch (docs/performance.md). It is used only when it is
// at least as new as dist/src/cli/main.js (so a `tsc` run without the bundler never runs stale code), and
// never with FIRST_RUN_NO_BUNDLE=1.
function entry() {
  const plain = new URL('../dist/src/cli/main.js', import.meta.url);
  if (process.env.FIRST_RUN_NO_BUNDLE === '1') return plain;
  const bundled = new URL('../dist/cli-bundle/main.js', import.meta.url);
  const bundle = statSync(bundled, { throwIfNoEntry: false });
  const source = bundle && statSync(plain, { throwIfNoEntry: false });
  return bundle && source && bundle.mtimeMs >= source.mtimeMs ? bundled : plain;
}
import(entry().href).then((m) => m.main(process.argv.slice(2)));
