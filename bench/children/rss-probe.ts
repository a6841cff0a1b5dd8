/**
 * Preloaded with `node --import rss-probe.js …` into a measured process: on `exit`, writes the process's
 * peak resident set size (`process.resourceUsage().maxRSS`, KiB) and the CPU time it used (user + system,
 * ms) as JSON to the file named by `BENCH_RSS_FILE`. (`/usr/bin/time -v` is not installed everywhere; this
 * needs nothing but Node.)
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKiB: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
  });
}
