/**
 * The embedding docs cannot drift from the library:
 * 1. `docs/examples/node-main.ts` type-checks against the real source (`docs/examples/tsconfig.json`) —
 *    a library API change that breaks the example fails here, listing the compiler's diagnostics.
 *    `docs/examples/electron-main.ts` needs Electron's own type declarations, which this checkout does
 *    not install (Electron's postinstall downloads its binary): test/package/doc-samples.test.ts compiles
 *    it against the installed tarball with the real `electron@33` declarations;
 * 2. every TypeScript block in `docs/embedding.md` is a region of a checked example file, quoted
 *    verbatim under a first line saying it is an excerpt, so what the page shows is what the compiler
 *    checked.
 *
 * A TypeScript block in the page is written as
 *
 *     <!-- include: docs/examples/electron-main.ts#region-name -->
 *     ```ts excerpt
 *     // excerpt of docs/examples/electron-main.ts (region-name)
 *     …the lines between `// #region region-name` and `// #endregion region-name`, de-indented…
 *     ```
 *
 * After editing the example, `UPDATE_DOCS=1 npx vitest run test/docs` rewrites the quoted blocks.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readBlocks, TS_LANGS } from './doc-blocks.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLES_TSCONFIG = join(ROOT, 'docs/examples/tsconfig.json');
const EMBEDDING_MD = join(ROOT, 'docs/embedding.md');

/** Checked by test/package/doc-samples.test.ts against the installed tarball and the real Electron types. */
const CHECKED_WITH_ELECTRON = ['docs/examples/electron-main.ts'];

function typeCheck(tsconfigPath: string): { files: string[]; diagnostics: string[] } {
  const read = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
  if (read.error) return { files: [], diagnostics: [format([read.error])] };
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfigPath), undefined, tsconfigPath);
  if (parsed.errors.length > 0) return { files: [], diagnostics: parsed.errors.map((d) => format([d])) };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => format([d]));
  return { files: parsed.fileNames.map((f) => relative(ROOT, f)), diagnostics };
}

function format(diagnostics: readonly ts.Diagnostic[]): string {
  return ts
    .formatDiagnostics(diagnostics, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    })
    .trim();
}

/** `// #region name` … `// #endregion name` of a source file, de-indented. */
function readRegions(file: string): Map<string, string> {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const regions = new Map<string, string>();
  const open = new Map<string, number>();
  lines.forEach((line, index) => {
    const start = /^\s*\/\/ #region ([\w-]+)\s*$/.exec(line);
    const end = /^\s*\/\/ #endregion ([\w-]+)\s*$/.exec(line);
    if (start?.[1]) {
      if (open.has(start[1]) || regions.has(start[1])) throw new Error(`${file}:${index + 1}: region ${start[1]} opened twice`);
      open.set(start[1], index);
    } else if (end?.[1]) {
      const from = open.get(end[1]);
      if (from === undefined) throw new Error(`${file}:${index + 1}: #endregion ${end[1]} without its #region`);
      open.delete(end[1]);
      regions.set(end[1], dedent(lines.slice(from + 1, index).filter((l) => !/^\s*\/\/ #(end)?region /.test(l))));
    }
  });
  if (open.size > 0) throw new Error(`${file}: region(s) never closed: ${[...open.keys()].join(', ')}`);
  return regions;
}

function dedent(lines: string[]): string {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n').replace(/^\n+|\n+$/g, '');
}

/** The first line of a quoted region: it says the block is an excerpt, and of what. */
function excerptHeader(file: string, region: string): string {
  return `// excerpt of ${file} (${region})`;
}

describe('docs/examples (the plain-Node embedding example)', () => {
  it('should type-check against the library source with no diagnostics', () => {
    const { files, diagnostics } = typeCheck(EXAMPLES_TSCONFIG);
    expect(files).toContain('docs/examples/node-main.ts');
    // The whole list, so a CI log says what broke where.
    expect(diagnostics.join('\n\n'), `npx tsc -p docs/examples/tsconfig.json reports:\n${diagnostics.join('\n\n')}`).toBe('');
  }, 120_000);
});

describe('docs/embedding.md', () => {
  const markdown = readFileSync(EMBEDDING_MD, 'utf8');
  const blocks = readBlocks(markdown, 'docs/embedding.md');
  const tsBlocks = blocks.filter((b) => TS_LANGS.has(b.lang));
  const checkedFiles = new Set([...typeCheckedFiles(), ...CHECKED_WITH_ELECTRON]);

  function typeCheckedFiles(): string[] {
    const read = ts.readConfigFile(EXAMPLES_TSCONFIG, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(EXAMPLES_TSCONFIG));
    return parsed.fileNames.map((f) => relative(ROOT, f));
  }

  it('should have TypeScript blocks to check', () => {
    expect(tsBlocks.length).toBeGreaterThan(3);
  });

  it('should quote every TypeScript block from a type-checked example region', () => {
    const problems: string[] = [];
    const regionsByFile = new Map<string, Map<string, string>>();
    const updated = markdown.split('\n');
    // Rewrite from the bottom so earlier line indexes stay valid.
    for (const block of [...tsBlocks].reverse()) {
      const where = `docs/embedding.md:${block.line}`;
      if (!block.include) {
        problems.push(`${where}: a \`\`\`${block.lang} block without an <!-- include: docs/examples/<file>.ts#<region> --> line above it`);
        continue;
      }
      const { file, region } = block.include;
      if (!checkedFiles.has(file)) {
        problems.push(`${where}: ${file} is not type-checked (docs/examples/tsconfig.json, test/package/doc-samples.test.ts)`);
        continue;
      }
      let regions = regionsByFile.get(file);
      if (!regions) regionsByFile.set(file, (regions = readRegions(file)));
      const quoted = regions.get(region);
      if (quoted === undefined) {
        problems.push(`${where}: ${file} has no region "${region}" (it has: ${[...regions.keys()].join(', ')})`);
        continue;
      }
      const expected = `${excerptHeader(file, region)}\n${quoted}`;
      if (block.body !== expected) {
        problems.push(`${where}: the block differs from ${file}#${region}; run UPDATE_DOCS=1 npx vitest run test/docs`);
        updated.splice(block.bodyStart, block.bodyEnd - block.bodyStart, ...expected.split('\n'));
      }
    }
    if (process.env.UPDATE_DOCS === '1' && problems.every((p) => p.includes('UPDATE_DOCS'))) {
      writeFileSync(EMBEDDING_MD, updated.join('\n'));
      return;
    }
    expect(problems).toEqual([]);
  });

  it('should quote every region of the example at least once', () => {
    const quoted = new Set(tsBlocks.flatMap((b) => (b.include ? [`${b.include.file}#${b.include.region}`] : [])));
    const unquoted = [...readRegions('docs/examples/electron-main.ts').keys()]
      .map((region) => `docs/examples/electron-main.ts#${region}`)
      .filter((key) => !quoted.has(key));
    expect(unquoted).toEqual([]);
  });

  it('should list every event of the contract (src/service/events.ts) in the events table', () => {
    const source = readFileSync(join(ROOT, 'src/service/events.ts'), 'utf8');
    const body = /export interface FirstRunEventPayloads \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const types = [...body.matchAll(/^\s*'([\w.]+)':/gm)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThan(10);
    const missing = types.filter((type) => !markdown.includes(`| \`${type}\``));
    expect(missing).toEqual([]);
  });
});
