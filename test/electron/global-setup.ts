import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findElectronBinary, notRunMessage } from './electron-binary.js';

/** Builds the app (renderer + bundles) where Electron can run it; says so plainly where it cannot. */
export default function globalSetup(): void {
  const found = findElectronBinary();
  if ('missing' in found) {
    console.log(notRunMessage(found.missing));
    return;
  }
  const root = path.resolve(import.meta.dirname, '../..');
  for (const script of ['build:renderer', 'build:electron']) {
    const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) throw new Error(`npm run ${script} failed`);
  }
}
