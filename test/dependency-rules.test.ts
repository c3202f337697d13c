import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of docs/architecture.md, checked mechanically on every import of every
 * source file: a wrong import fails CI.
 */
const root = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(path.join(root, dir))) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) {
      const full = path.join(entry.parentPath, entry.name);
      if (!full.includes('node_modules')) out.push(path.relative(root, full));
    }
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  return specs;
}

/** Top-level folder an import lands in ('core', 'server', …) or the package name. */
function target(file: string, spec: string): { folder?: string; pkg?: string } {
  if (spec.startsWith('.')) {
    const resolved = path.relative(root, path.resolve(root, path.dirname(file), spec));
    return { folder: resolved.split(path.sep)[0] };
  }
  const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return { pkg };
}

interface Rule {
  from: string;
  forbidFolders?: string[];
  forbidPackages?: RegExp;
  why: string;
}

const rules: Rule[] = [
  { from: 'core', forbidFolders: ['server', 'electron', 'renderer'], forbidPackages: /^(express|electron|react|react-dom|multer)$/, why: 'core knows nothing of transports or UI' },
  {
    from: 'renderer',
    forbidFolders: ['server', 'electron', 'migrations'],
    forbidPackages: /^(node:.*|better-sqlite3|kysely|pg|express|electron)$/,
    why: 'renderer talks only to the preload bridge',
  },
  { from: 'server', forbidFolders: ['electron', 'renderer'], why: 'server and electron never import each other' },
  { from: 'electron', forbidFolders: ['server', 'renderer'], why: 'server and electron never import each other' },
  { from: 'migrations', forbidFolders: ['core', 'server', 'electron', 'renderer'], why: 'a migration is frozen in time' },
];

/** Build tooling that runs in Node, not in the renderer's bundle. */
const BUILD_TOOLING = new Set(['renderer/vite.config.ts', 'renderer/tsconfig.json']);

/**
 * The only core modules the renderer may import: the bridge contract (types from the registry,
 * no runtime imports), the desktop shell's contract (types) and the currency table (plain data).
 */
const RENDERER_CORE = /core\/(backoffice\/(bridge|shell-api)|money\/currencies)(\.js)?$/;

/** Imports that load code at run time (`import type` and `export type` are erased). */
function runtimeImportsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const re = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]);
}

describe('dependency rules', () => {
  for (const rule of rules) {
    it(`${rule.from}/ — ${rule.why}`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(rule.from).filter((f) => !BUILD_TOOLING.has(f))) {
        for (const spec of importsOf(file)) {
          const t = target(file, spec);
          if (t.folder && rule.forbidFolders?.includes(t.folder)) violations.push(`${file} imports ${spec}`);
          if (t.pkg && rule.forbidPackages?.test(t.pkg)) violations.push(`${file} imports ${spec}`);
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it('renderer imports from core only the bridge and shell contracts and the currency table', () => {
    const violations: string[] = [];
    for (const file of sourceFiles('renderer')) {
      for (const spec of importsOf(file)) {
        const t = target(file, spec);
        if (t.folder === 'core' && !RENDERER_CORE.test(spec)) violations.push(`${file} imports ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the core modules the renderer may import load no other code at run time (nothing of the database reaches the bundle)', () => {
    for (const file of ['core/backoffice/bridge.ts', 'core/backoffice/shell-api.ts', 'core/money/currencies.ts']) {
      expect(runtimeImportsOf(file), file).toEqual([]);
    }
    expect(runtimeImportsOf('core/backoffice/index.ts')).toContain('./commands/index.js');
  });

  it('the checker itself catches a forbidden import', () => {
    expect(target('core/x/y.ts', '../../server/app.js')).toEqual({ folder: 'server' });
    expect(target('core/x/y.ts', 'express')).toEqual({ pkg: 'express' });
    expect(importsOf('test/dependency-rules.test.ts')).toContain('vitest');
  });
});
