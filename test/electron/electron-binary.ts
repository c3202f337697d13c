import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Electron's binary if it is installed, else why not. Never requires the `electron` package
 * itself: its index.js throws (and its installer downloads) when the binary is missing, and on
 * these machines it cannot be downloaded. Mirrors bin/start.js.
 */
export function findElectronBinary(): { binary: string } | { missing: string } {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { missing: 'the electron package is not installed' };
  }
  const pathFile = path.join(dir, 'path.txt');
  const relative = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8').trim() : '';
  const binary = process.env.ELECTRON_OVERRIDE_DIST_PATH
    ? path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron')
    : relative && path.join(dir, 'dist', relative);
  if (binary && fs.existsSync(binary)) return { binary };
  return { missing: binary ? `no file at ${binary}` : `${path.join(dir, 'dist')} was never downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD, or no network)` };
}

export const notRunMessage = (missing: string) => `Electron binary not installed here (${missing}): the _electron smoke test did not run`;
