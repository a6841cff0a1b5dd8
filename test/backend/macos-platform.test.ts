import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { currentPlatform, isMacOS } from '../../src/platform.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(?:ts|mts|cts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Code (not comments or strings) that reads `process.platform`, as `file:line`. */
function platformReads(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isPropertyAccessExpression(node) && node.name.text === 'platform' && node.expression.getText(source) === 'process') ||
      (ts.isElementAccessExpression(node) && node.expression.getText(source) === 'process' && node.argumentExpression.getText(source).slice(1, -1) === 'platform')
    ) {
      found.push(`${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('platform (house style 5)', () => {
  it('should report process.platform', () => {
    expect(currentPlatform()).toBe(process.platform);
  });

  it.each([
    ['darwin', true],
    ['linux', false],
    ['win32', false],
  ] as const)('should say isMacOS(%j) is %j', (platform, expected) => {
    expect(isMacOS(platform)).toBe(expected);
  });

  it('should default isMacOS() to the current platform', () => {
    expect(isMacOS()).toBe(process.platform === 'darwin');
  });

  it('should be the only module in src/, machines/ and bin/ that reads process.platform', () => {
    const reads = ['src', 'machines', 'bin'].flatMap((dir) => sourceFiles(join(ROOT, dir))).flatMap(platformReads);
    expect(reads.filter((at) => !at.startsWith(join('src', 'platform.ts') + ':'))).toEqual([]);
    expect(reads.length).toBeGreaterThanOrEqual(1);
  });
});
