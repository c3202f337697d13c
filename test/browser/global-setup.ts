import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** Starts a server script (node --import tsx <script> <info.json>) and waits for its info file. */
async function startServer(script: string, what: string): Promise<{ info: string; stop: () => Promise<void> }> {
  const info = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-info-')), 'info.json');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, info], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const deadline = Date.now() + 90_000;
  while (!fs.existsSync(info)) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`${what} did not start within 90 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    info,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(path.dirname(info), { recursive: true, force: true });
    },
  };
}

/**
 * Starts, once for the whole suite and side by side, test/browser/serve.ts (the seeded back office:
 * BACKOFFICE_INFO) and test/browser/serve-large.ts (100,000 invoices for tables.spec.ts:
 * BACKOFFICE_LARGE_INFO). Both use the real loopback transport and a real SQLite file.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!fs.existsSync(path.join(process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'), 'index.html')))
    throw new Error('Build the renderer first: npm run build:renderer (npm run test:browser does)');
  const started = await Promise.allSettled([startServer('test/browser/serve.ts', 'serve.ts'), startServer('test/browser/serve-large.ts', 'serve-large.ts')]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  const [normal, large] = servers;
  process.env.BACKOFFICE_INFO = normal.info;
  process.env.BACKOFFICE_LARGE_INFO = large.info;
  return async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
}
