/**
 * The code blocks of the shipped docs (README.md and docs/*.md), and what each claims to be.
 *
 * A TypeScript or JavaScript block says what it is in its info string, after the language:
 *
 *     ```ts runnable    a complete program: CI compiles it against the installed tarball and runs it
 *                       (`node`, in an empty working directory; a test file that imports `vitest`:
 *                       `vitest run`, with vitest's defaults), which must exit 0
 *     ```ts compile     complete, but it needs what CI has not (macOS, Electron, a host app's objects):
 *                       CI compiles it against the installed tarball, with the real `electron` types
 *     ```ts excerpt     part of a program; its first line is a comment saying so (`// excerpt …`), so a
 *                       reader sees it, and it names where the whole lives when there is such a file
 *
 * (GitHub and editors highlight by the first word only.) A block quoted from a checked example file
 * (`<!-- include: docs/examples/<file>.ts#<region> -->` above it, test/docs/embedding-example.test.ts)
 * is an excerpt whose first line is written by that test.
 *
 * Used by test/docs/embedding-example.test.ts (the quoted regions) and test/package/doc-samples.test.ts
 * (compiling and running the blocks against the packed package).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type SampleMarker = 'runnable' | 'compile' | 'excerpt';
const MARKERS: ReadonlySet<string> = new Set<SampleMarker>(['runnable', 'compile', 'excerpt']);

/** Languages whose blocks must carry a marker. */
export const TS_LANGS: ReadonlySet<string> = new Set(['ts', 'typescript', 'tsx', 'mts', 'cts']);
export const JS_LANGS: ReadonlySet<string> = new Set(['js', 'javascript', 'mjs', 'cjs']);

const INCLUDE_RE = /^<!-- include: (\S+?)#([\w-]+) -->$/;
const FENCE_RE = /^```([\w-]*)(?:[ \t]+(.*?))?[ \t]*$/;

export interface DocBlock {
  /** The markdown file, relative to the repository root (`docs/embedding.md`). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The marker of the info string, or null when there is none. */
  marker: SampleMarker | null;
  /** Words of the info string after the language that are not a known marker. */
  unknownWords: string[];
  body: string;
  /** The `<!-- include: … -->` directly above the fence, if any. */
  include: { file: string; region: string } | null;
  /** Line indexes (0-based) of the body, for rewriting: `[bodyStart, bodyEnd)`. */
  bodyStart: number;
  bodyEnd: number;
}

/** The shipped markdown files: README.md and docs/*.md (package.json `files`), sorted. */
export function shippedDocs(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

/** Every fenced block of a markdown text. */
export function readBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE_RE.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    const words = (fence[2] ?? '').split(/\s+/).filter((w) => w !== '');
    const above = i > 0 ? INCLUDE_RE.exec(lines[i - 1]!.trim()) : null;
    blocks.push({
      file,
      line: i + 1,
      lang: fence[1] ?? '',
      marker: (words.find((w) => MARKERS.has(w)) as SampleMarker | undefined) ?? null,
      unknownWords: words.filter((w) => !MARKERS.has(w)),
      body: lines.slice(i + 1, end).join('\n'),
      include: above ? { file: above[1]!, region: above[2]! } : null,
      bodyStart: i + 1,
      bodyEnd: end,
    });
    i = end;
  }
  return blocks;
}

export function readDocBlocks(root: string, file: string): DocBlock[] {
  return readBlocks(readFileSync(join(root, file), 'utf8'), file);
}

/** A block of code (TypeScript or JavaScript), which must say what it is. */
export function isCode(block: DocBlock): boolean {
  return TS_LANGS.has(block.lang) || JS_LANGS.has(block.lang);
}

/** The first line of an excerpt, a comment with the word "excerpt". */
export function saysExcerpt(body: string): boolean {
  const first = body.split('\n').find((line) => line.trim() !== '') ?? '';
  return /^\s*(\/\/|\/\*).*\bexcerpt\b/i.test(first);
}

/** Why a code block breaks the rules above, or null when it keeps them. */
export function markerProblem(block: DocBlock): string | null {
  const where = `${block.file}:${block.line}`;
  if (block.unknownWords.length > 0) return `${where}: unknown word(s) in the info string: ${block.unknownWords.join(', ')} (expected runnable, compile or excerpt)`;
  if (!block.marker) return `${where}: a \`\`\`${block.lang} block without a marker: \`\`\`${block.lang} runnable, compile or excerpt`;
  if (block.marker === 'excerpt' && !saysExcerpt(block.body)) return `${where}: an excerpt must begin with a comment saying so (// excerpt …)`;
  if (block.include && block.marker !== 'excerpt') return `${where}: a block quoted from ${block.include.file} is an excerpt: \`\`\`${block.lang} excerpt`;
  return null;
}
