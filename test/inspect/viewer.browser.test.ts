/**
 * The offline viewer in a real browser (Debian chromium through playwright-core): a simulated first
 * run with a real relaunch (`first-run demo --inspect-viewer URL`) streams to `first-run inspect`,
 * and the page must follow the root state PRECHECK → … → COMPLETED across the relaunch, showing
 * both pids, on the generated statechart (the SVG of statecharts/) with the active states and the last
 * transition highlighted. Saves a screenshot as `first-run-viewer.png` in the temp dir, the last run's
 * (with `UPDATE_DOCS=1`: `docs/viewer.png`, the one the docs show).
 *
 * Needs `npm run build` (the CLI runs from dist/) and /usr/bin/chromium: a missing chromium FAILS
 * this test (`apt-get install -y chromium`; `.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { assertDemoBuilt, BIN, ROOT, run } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const EXPECTED = ['PRECHECK', 'PIPELINE', 'DECISION', 'RESTART_REQUESTED', 'POST_RESTART_VERIFY', 'COMPLETED'];

const collapse = (list: readonly string[]) => list.filter((p, i) => p !== list[i - 1]);

/** Whether `list` appears in `order`'s order (each element at or after the previous one). */
function inOrder(list: readonly string[], order: readonly string[]): boolean {
  let at = 0;
  for (const item of list) {
    const i = order.indexOf(item, at);
    if (i === -1) return false;
    at = i;
  }
  return true;
}

describe('offline viewer in chromium', () => {
  let viewer: ChildProcess | null = null;
  let context: BrowserContext | null = null;
  const profile = mkdtempSync(join(tmpdir(), 'first-run-chromium-'));

  afterAll(async () => {
    await context?.close().catch(() => {});
    if (viewer?.pid !== undefined && viewer.exitCode === null) viewer.kill('SIGTERM');
    rmSync(profile, { recursive: true, force: true });
  });

  it('should follow PRECHECK → … → COMPLETED across a real relaunch, with both pids', { timeout: 180_000 }, async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (.ci/run does this when missing). This test never skips.`);
    }
    assertDemoBuilt();

    // 1. The viewer.
    viewer = spawn(process.execPath, [BIN, 'inspect', '--port', '0', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let viewerErr = '';
    viewer.stderr?.on('data', (c: Buffer) => (viewerErr += c.toString()));
    const firstLine = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: viewer!.stdout! });
      lines.once('line', resolve);
      viewer!.once('exit', (code) => reject(new Error(`first-run inspect exited ${code}: ${viewerErr}`)));
      setTimeout(() => reject(new Error(`first-run inspect printed no URL in 15 s: ${viewerErr}`)), 15_000).unref();
    });
    const { url } = JSON.parse(firstLine) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    // 2. The page, in a fresh profile.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1500, height: 1000 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForSelector('body[data-connected="true"]', { timeout: 15_000 });
    // Record every value the highlighted root phase takes.
    // (Page code is passed as strings: this project's TypeScript has no DOM lib.)
    await page.evaluate(`(() => {
      const seen = [];
      window.__phases = seen;
      new MutationObserver(() => {
        const phase = document.body.dataset.activePhase || '';
        if (seen[seen.length - 1] !== phase) seen.push(phase);
      }).observe(document.body, { attributes: true, attributeFilter: ['data-active-phase'] });
    })()`);

    // 3. A complete simulated first run with one real relaunch, streaming to the viewer.
    const demo = await run(['demo', '--inspect-viewer', url], 120_000);
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);

    // 4. The page followed it.
    await page.waitForSelector('body[data-active-phase="COMPLETED"]', { timeout: 15_000 });
    await page.waitForSelector('article[data-actor="orchestrator"] g.state.active[data-state="orchestrator.COMPLETED"]', { timeout: 15_000 });
    const observed = (await page.evaluate('window.__phases')) as string[];
    const timeline = (await page.evaluate(
      `[...document.querySelectorAll('#phase-history li[data-phase]')].map((li) => ({ phase: li.dataset.phase, pid: Number(li.dataset.pid) }))`,
    )) as { phase: string; pid: number }[];
    const pids = (await page.evaluate(`(document.body.dataset.pids || '').split(' ').filter(Boolean).map(Number)`)) as number[];
    const pidMarkers = (await page.evaluate(`document.querySelectorAll('#phase-history li.pid-change').length`)) as number;
    const ledger = (await page.evaluate(`({ phase: document.body.dataset.ledgerPhase, restartCount: document.body.dataset.restartCount })`)) as {
      phase: string;
      restartCount: string;
    };

    expect(collapse(timeline.map((e) => e.phase))).toEqual(EXPECTED);
    expect(observed.at(-1)).toBe('COMPLETED');
    expect(inOrder(collapse(observed), ['NONE', ...EXPECTED]), `observed ${observed.join(' → ')}`).toBe(true);
    // The highlighted phase was seen in the first process too, not only after the relaunch.
    expect(observed.some((p) => ['PRECHECK', 'PIPELINE', 'RESTART_REQUESTED'].includes(p))).toBe(true);

    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(viewer.pid);
    const [before, after] = [timeline.find((e) => e.phase === 'PIPELINE')?.pid, timeline.find((e) => e.phase === 'POST_RESTART_VERIFY')?.pid];
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    expect(before).not.toBe(after);
    expect(pidMarkers).toBeGreaterThanOrEqual(1);
    expect(ledger).toEqual({ phase: 'COMPLETED', restartCount: '1' });

    // The chart is the generated SVG, the very picture of statecharts/ (not a drawing of the page's).
    const served = await fetch(new URL('statecharts/orchestrator.svg', url));
    expect(await served.text()).toBe(readFileSync(join(ROOT, 'statecharts', 'orchestrator.svg'), 'utf8'));
    const drawn = (await page.evaluate(
      `[...document.querySelectorAll('article[data-actor="orchestrator"] .chart svg g.transition')].map((g) => g.dataset.edge).join(' ')`,
    )) as string;
    expect(drawn).toBe([...readFileSync(join(ROOT, 'statecharts', 'orchestrator.svg'), 'utf8').matchAll(/<g class="transition" data-edge="(e\d+)"/g)].map((m) => m[1]).join(' '));
    // The last transition is highlighted on it: the successor's last macrostep ends in COMPLETED (an
    // `always` from settling, after `done(verify)` or `done(step)`), its arrow and its label's line.
    await page.waitForSelector('article[data-actor="orchestrator"] g.transition.last[data-target="orchestrator.COMPLETED"]', { timeout: 15_000 });
    const last = (await page.evaluate(`({
      arrows: document.querySelector('article[data-actor="orchestrator"]').dataset.lastTransition.split(' '),
      lines: [...document.querySelectorAll('article[data-actor="orchestrator"] text.last')].map((t) => t.dataset.event),
      labels: document.querySelectorAll('article[data-actor="orchestrator"] g.label.last').length,
    })`)) as { arrows: string[]; lines: string[]; labels: number };
    expect(last.arrows.at(-1)).toBe('orchestrator.POST_RESTART_VERIFY.settling>orchestrator.COMPLETED');
    expect(last.labels).toBe(last.arrows.length);
    expect(last.lines).toContain('');
    // A targetless transition is its state's `↻` line: the successor's relaunch gate last took
    // `runtime.booted` in idle (recordBoot, no state change).
    const gateLines = (await page.evaluate(
      `[...document.querySelectorAll('article[data-actor="relaunchGate"] text.last')].map((t) => t.closest('g.state').dataset.state + ' ' + t.dataset.event)`,
    )) as string[];
    expect(gateLines).toEqual(['relaunchGate.idle runtime.booted']);
    expect(pageErrors).toEqual([]);

    // 5. The screenshot for the docs.
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    // Tall enough for the orchestrator's whole chart under the header and the timeline.
    await page.setViewportSize({ width: 1600, height: 1700 });
    await page.evaluate('window.scrollTo(0, 0)');
    // A test run never rewrites a tracked file; `UPDATE_DOCS=1` refreshes the docs' screenshot on purpose.
    const shot = process.env.UPDATE_DOCS === '1' ? join(ROOT, 'docs', 'viewer.png') : join(tmpdir(), 'first-run-viewer.png');
    await page.screenshot({ path: shot });
  });
});
