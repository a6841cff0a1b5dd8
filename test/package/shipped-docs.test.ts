/**
 * The package explains itself (issue 21): the docs it ships (README.md, docs/*.md, CHANGELOG.md) are
 * read in `node_modules/first-run-orchestrator/`, without this repository. So
 * - every relative link and image of a shipped doc points at a file the tarball holds;
 * - an adopter's doc names no path of the repository (`src/…`, `test/…`, `bench/…`, `scripts/…`,
 *   `machines/…`) that the tarball does not hold, and no id of the project's own specification (RS-10,
 *   FR-3, …); "seed 00N" (the product specification the flow follows) only on the page that says what
 *   the seeds are. Shell blocks are the reader's commands (`--watch src` is their `src/`), not checked;
 * - the maintainer docs (architecture, performance) ship too, and say at the top that they are
 *   maintainer docs whose paths are the repository's;
 * - CHANGELOG.md has an entry for the version in package.json, and README.md says what semver means here.
 */
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBlocks, shippedDocs } from '../docs/doc-blocks.js';
import { REPO_ROOT, runCommand } from './packed.js';

/** Docs for the project's maintainers: they may name the repository's paths and the spec's ids. */
const MAINTAINER_DOCS: ReadonlySet<string> = new Set(['docs/architecture.md', 'docs/performance.md']);
/** The one page that says what the seeds are; other pages link to it instead of naming a seed. */
const SEED_PAGE = 'docs/first-run-flow.md';

const REPO_PATH_RE = /(?<![\w./-])((?:src|test|bench|scripts|machines)\/[\w./*-]*)/g;
const SPEC_ID_RE = /\b(?:[A-Z]{2,3}-\d{1,2}(?:\.\.\d+)?)\b(?![\w-])|\bSPEC\b|MACOS-NOTES|STYLE\.md/g;
const SEED_RE = /\bseed[ -]?0\d\d\b/gi;
const LINK_RE = /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

let tarball: Set<string> = new Set();

beforeAll(async () => {
  const result = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], REPO_ROOT);
  expect(result.code, result.stderr).toBe(0);
  tarball = new Set((JSON.parse(result.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
}, 60_000);

const docs = [...shippedDocs(REPO_ROOT), 'CHANGELOG.md'];

/** The doc's text without its shell blocks (the reader's own commands), as [line number, text]. */
function proseLines(file: string): Array<[number, string]> {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const lines = text.split('\n');
  const skipped = new Set<number>();
  for (const block of readBlocks(text, file)) {
    if (['sh', 'bash', 'shell', 'console'].includes(block.lang)) for (let i = block.bodyStart; i < block.bodyEnd; i++) skipped.add(i);
  }
  return lines.flatMap((line, i) => (skipped.has(i) ? [] : [[i + 1, line] as [number, string]]));
}

/** A path named in a doc is fine when the tarball holds it (a file, or a directory some file is under). */
function inTarball(path: string): boolean {
  const clean = path.replace(/[*.]+$/, '').replace(/\/$/, '');
  return tarball.has(clean) || [...tarball].some((f) => f.startsWith(`${clean}/`));
}

describe('the shipped docs', () => {
  it('should be in the tarball, with the examples and the picture they link to and CHANGELOG.md', () => {
    expect(docs.filter((doc) => !tarball.has(doc))).toEqual([]);
    expect([...tarball]).toEqual(expect.arrayContaining(['docs/examples/electron-main.ts', 'docs/examples/node-main.ts', 'docs/viewer.png', 'CHANGELOG.md']));
  });

  it('should link only to files the tarball holds', () => {
    const broken: string[] = [];
    for (const doc of docs) {
      for (const [line, text] of proseLines(doc)) {
        for (const match of text.matchAll(LINK_RE)) {
          const target = match[1]!.replace(/#.*$/, '');
          if (target === '' || /^[a-z]+:/i.test(target)) continue;
          const resolved = normalize(join(doc.includes('/') ? doc.slice(0, doc.lastIndexOf('/')) : '.', target));
          if (!inTarball(resolved)) broken.push(`${doc}:${line}: ${match[1]} (${resolved} is not in the tarball)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('should name no repository path the tarball lacks and no spec id in an adopter’s doc; seeds only on the page that explains them', () => {
    const problems: string[] = [];
    for (const doc of docs.filter((d) => !MAINTAINER_DOCS.has(d))) {
      for (const [line, text] of proseLines(doc)) {
        for (const match of text.matchAll(REPO_PATH_RE)) if (!inTarball(match[1]!)) problems.push(`${doc}:${line}: repository path ${match[1]}`);
        for (const match of text.matchAll(SPEC_ID_RE)) problems.push(`${doc}:${line}: spec id ${match[0]}`);
        if (doc !== SEED_PAGE) for (const match of text.matchAll(SEED_RE)) problems.push(`${doc}:${line}: "${match[0]}" (link to ${SEED_PAGE}#where-the-rules-come-from instead)`);
      }
    }
    expect(problems).toEqual([]);
    expect(readFileSync(join(REPO_ROOT, SEED_PAGE), 'utf8')).toMatch(/^## Where the rules come from$/m);
  });

  it('should say at the top of each maintainer doc that it is one, its paths the repository’s', () => {
    for (const doc of MAINTAINER_DOCS) {
      const top = readFileSync(join(REPO_ROOT, doc), 'utf8').split('\n').slice(0, 8).join('\n');
      expect(top, doc).toMatch(/maintainer doc/i);
      expect(top, doc).toMatch(/repository/i);
    }
  });

  it('should have a CHANGELOG entry for this version and a versioning promise in the README', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(readFileSync(join(REPO_ROOT, 'CHANGELOG.md'), 'utf8')).toMatch(new RegExp(`^## ${version.replace(/\./g, '\\.')}\\b`, 'm'));
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/^### Versioning: what is public API$/m);
  });
});
