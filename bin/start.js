#!/usr/bin/env node
// `npm start`: the desktop back office where Electron is installed; where it is not, one line says
// so and the companion server starts with the back office's browser build on loopback instead.
// Either way the companion server runs on the same database (the README's walk-through needs it):
// the desktop shell starts it itself, as a utility process (electron/main.ts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// tsx from this package, wherever npm start is run from.
const tsx = import.meta.resolve('tsx');

/** Electron's binary if it is installed; never downloads it (requiring the package would try). */
function electronBinary() {
  let dir;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = path.join(dir, 'path.txt');
  const relative = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : '';
  const binary = process.env.ELECTRON_OVERRIDE_DIST_PATH
    ? path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron')
    : relative && path.join(dir, 'dist', relative);
  return binary && fs.existsSync(binary) ? binary : null;
}

function run(script) {
  const r = spawnSync(npm, ['run', '--silent', script], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function forward(child) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const binary = electronBinary();
run('build:renderer');
if (binary) {
  run('build:electron');
  // The same database as `npm run server` (./data by default), so the README's walk-through sees
  // one set of data whichever way it is started.
  const env = { ...process.env, BUFFMONEY_DB: path.resolve(process.env.BUFFMONEY_DB ?? './data/buffmoney.db') };
  forward(spawn(binary, [root], { cwd: root, env, stdio: 'inherit' }));
} else {
  console.log('Electron is not installed here, so the back office opens in your browser instead: starting the server and the back office on loopback.');
  forward(spawn(process.execPath, ['--import', tsx, path.join(root, 'server/backoffice-web/main.ts')], { cwd: process.cwd(), stdio: 'inherit' }));
}
