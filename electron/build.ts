/**
 * Bundles the desktop app for Electron (Electron runs no TypeScript). Output:
 * - dist/electron/main.js: the main process, ESM;
 * - dist/electron/preload.cjs: the preload, one CommonJS file (a sandboxed preload loads nothing else);
 * - dist/server/: the bundled server (server/main.ts), which the shell starts as a utility
 *   process, with its two worker threads beside it, where `new URL('./…', import.meta.url)`
 *   finds them: the WAL checkpointer (plain JavaScript, copied) and the usage writer (bundled;
 *   in development a .mjs shim loads it through tsx, which a packaged app does not have).
 * Packages stay external (node_modules ships with the app; better-sqlite3 and bcrypt are native
 * and rebuilt for Electron by electron-builder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { type BuildOptions, build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist/electron');
const serverOut = path.join(root, 'dist/server');
const node: BuildOptions = { bundle: true, platform: 'node', target: 'node22', logLevel: 'warning' };

await Promise.all([
  build({ ...node, entryPoints: [path.join(import.meta.dirname, 'main.ts')], outfile: path.join(out, 'main.js'), format: 'esm', packages: 'external' }),
  build({ ...node, entryPoints: [path.join(import.meta.dirname, 'preload.ts')], outfile: path.join(out, 'preload.cjs'), format: 'cjs', external: ['electron'] }),
  build({ ...node, entryPoints: [path.join(root, 'server/main.ts')], outfile: path.join(serverOut, 'main.js'), format: 'esm', packages: 'external' }),
  build({
    ...node,
    entryPoints: [path.join(root, 'core/usage/writer-thread.ts')],
    outfile: path.join(serverOut, 'writer-thread-entry.mjs'),
    format: 'esm',
    packages: 'external',
  }),
]);
fs.copyFileSync(path.join(root, 'core/db/checkpointer-thread.mjs'), path.join(serverOut, 'checkpointer-thread.mjs'));
