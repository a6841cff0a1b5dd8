/**
 * docs/testing.md tells an adopter what the check of its example configuration does: how many paths
 * and replays, per model. Those numbers are checked here against a real run of that configuration (the
 * JSON block of the page), so the page cannot go stale again (issue 21: it said 14041 replays, the
 * check ran 14455). The example itself runs from the packed package in test/testing/adopter-fixture.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFirstRun, settingsFromConfig } from '../../src/testing/index.js';

const PAGE = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'testing.md'), 'utf8');
const number = (text: string) => Number(text.replace(/\s/g, ''));

describe('docs/testing.md', () => {
  it('should state the paths and replays the check of its example configuration really gives', () => {
    const json = /With this configuration[^]*?```json\n([^]*?)```/.exec(PAGE)?.[1];
    expect(json, 'the example configuration block').toBeDefined();
    const stated = /generates (\d[\d ]*) paths and runs (\d[\d ]*) replays \(orchestrator (\d+) paths \/ (\d+) replays;\s+six permission-step variants, (\d+) paths \/ (\d+) replays together; the relaunch gate twice, (\d+) paths \/\s+(\d+) replays each\)/.exec(PAGE);
    expect(stated, 'the sentence with the numbers').not.toBeNull();
    const [, paths, replays, rootPaths, rootReplays, stepPaths, stepReplays, gatePaths, gateReplays] = stated!.map(number);
    const result = checkFirstRun(settingsFromConfig(JSON.parse(json!)));
    const [root, ...rest] = result.models;
    const steps = rest.filter((m) => m.model.startsWith('permissionStep'));
    const gates = rest.filter((m) => m.model.startsWith('relaunchGate'));
    expect(result.failures).toEqual([]);
    expect({ paths: result.paths, replays: result.replays }).toEqual({ paths, replays });
    expect({ paths: root!.paths, replays: root!.replays }).toEqual({ paths: rootPaths, replays: rootReplays });
    expect(steps).toHaveLength(6);
    expect({ paths: steps.reduce((n, m) => n + m.paths, 0), replays: steps.reduce((n, m) => n + m.replays, 0) }).toEqual({ paths: stepPaths, replays: stepReplays });
    expect(gates.map((m) => [m.paths, m.replays])).toEqual([[gatePaths, gateReplays], [gatePaths, gateReplays]]);
  }, 240_000);

  it('should name only functions the kit exports in its examples', async () => {
    const kit = (await import('../../src/testing/index.js')) as Record<string, unknown>;
    const blocks = [...PAGE.matchAll(/```ts[^\n]*\n([^]*?)```/g)].map((m) => m[1]!);
    const imported = blocks.flatMap((code) => [...code.matchAll(/import \{([^}]*)\} from 'first-run-orchestrator\/testing'/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter(Boolean)));
    expect(imported.length).toBeGreaterThan(5);
    for (const name of imported) expect(typeof kit[name], name).toBe('function');
    // The kit's own TSDoc examples call only what it exports (one called `generateModelPaths`).
    const sources = ['check.ts', 'replay.ts', 'model.ts', 'inert.ts', 'settings.ts', 'models/orchestrator.ts', 'models/relaunch-gate.ts', 'models/permission-step.ts'];
    for (const file of sources) {
      const text = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'testing', file), 'utf8');
      for (const example of text.matchAll(/@example\n \* ```ts\n([^]*?) \* ```/g)) {
        for (const call of example[1]!.matchAll(/\b([a-z][A-Za-z]+)\(/g)) {
          const name = call[1]!;
          if (['expect', 'toEqual', 'log', 'push', 'createActor', 'provide', 'map', 'filter', 'parse', 'toContain'].includes(name)) continue;
          expect(typeof kit[name], `${file}: ${name}(…) in an @example`).toBe('function');
        }
      }
    }
  });
});
