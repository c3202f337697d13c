#!/usr/bin/env node
// `npm start`: the desktop back office where Electron is installed; where it is not, one line says
// so and the companion server starts with the back office's browser build on loopback instead.
// Either way the companion server runs on the same database (the README's walk-through needs it).
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
  const env = { ...process.env, BUFFMONEY_DB: path.resolve(process.env.BUFFMONEY_DB ?? './data/buffmoney.db') };
  env.BUFFMONEY_DATA_DIR = path.dirname(env.BUFFMONEY_DB);
  // Until the shell starts the bundled server itself (issue 11), it runs beside the app.
  const server = spawn(process.execPath, ['--import', tsx, path.join(root, 'server/main.ts')], { cwd: process.cwd(), env, stdio: 'inherit' });
  const desktop = spawn(binary, [root], { cwd: root, env, stdio: 'inherit' });
  desktop.on('exit', () => server.kill('SIGTERM'));
  forward(server);
} else {
  console.log('Electron is not installed here, so the back office opens in your browser instead: starting the server and the back office on loopback.');
  forward(spawn(process.execPath, ['--import', tsx, path.join(root, 'server/backoffice-web/main.ts')], { cwd: process.cwd(), stdio: 'inherit' }));
}
