#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`; `npm start` and `npm test` build first).
// A closed stdout (`first-run status | head`) ends the output quietly instead of crashing.
process.stdout.on('error', (error) => {
  if (error && error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2)));
