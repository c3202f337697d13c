import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Starts test/browser/serve.ts (seeded SQLite + loopback transport) once for the whole suite. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = path.resolve(import.meta.dirname, '../..');
  if (!fs.existsSync(path.join(process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'), 'index.html')))
    throw new Error('Build the renderer first: npm run build:renderer (npm run test:browser does)');
  const info = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-info-')), 'info.json');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/browser/serve.ts', info], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(info)) {
    if (child.exitCode !== null) throw new Error(`serve.ts exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('serve.ts did not start within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  process.env.BACKOFFICE_INFO = info;
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(path.dirname(info), { recursive: true, force: true });
  };
}
