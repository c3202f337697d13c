/**
 * Bundles the shell for Electron: main as ESM (better-sqlite3 and electron stay external), the
 * preload as one CommonJS file (a sandboxed preload loads nothing else). Output: dist/electron.
 */
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/electron');
await build({
  entryPoints: [path.join(import.meta.dirname, 'main.ts')],
  outfile: path.join(out, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  logLevel: 'warning',
});
await build({
  entryPoints: [path.join(import.meta.dirname, 'preload.ts')],
  outfile: path.join(out, 'preload.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['electron'],
  logLevel: 'warning',
});
