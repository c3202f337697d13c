import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres } from '../core/testing/database.js';
import { tempDir } from '../test/helpers.js';

const root = path.resolve(import.meta.dirname, '..');

/** Starts `server/main.ts` as `npm start` does and waits for its "listening on" line. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited, output: () => output };
}

describe('the server process', () => {
  it.skipIf(onPostgres)('sqlite: creates its database on first run, logs its URL, keeps sessions valid across restarts, and exits cleanly on SIGTERM', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const env = { BUFFMONEY_DB: path.join(dir, 'nested', 'buffmoney.db'), PORT: '0' };
      const first = startMain(env);
      const url = await first.ready;
      const signup = await fetch(`${url}/api/v1/merchants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Proc', email: 'proc@example.com', password: 'supersecret' }),
      });
      expect(signup.status).toBe(201);
      const { token } = (await signup.json()) as { token: string };
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain('SIGTERM received, shutting down');

      const second = startMain(env);
      const url2 = await second.ready;
      const me = await fetch(`${url2}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(200); // the generated JWT secret was kept in the data directory
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('refuses a database it cannot open, and never turns a URL into a folder', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const [db, reason] of [
        ['mysql://user@127.0.0.1/buffmoney', /Unsupported database URL scheme "mysql:"/],
        // Nothing listens on port 1: the first contact (migrating) fails and the process exits.
        ['postgres://nobody@127.0.0.1:1/buffmoney', /ECONNREFUSED/],
      ] as const) {
        const run = startMain({ BUFFMONEY_DB: db, BUFFMONEY_DATA_DIR: path.join(dir, 'data'), PORT: '0' });
        await expect(run.ready).rejects.toThrow(reason);
        expect(await run.exited).not.toBe(0);
      }
      // The old failure: a folder named after the scheme, with a SQLite file in it.
      for (const folder of ['mysql:', 'postgres:']) expect(fs.existsSync(path.join(root, folder)), folder).toBe(false);
    } finally {
      cleanup();
    }
  });

  it.skipIf(!onPostgres)('postgres: serves from BUFFMONEY_DB=postgres://…, secrets in BUFFMONEY_DATA_DIR, the password kept out of the log', async () => {
    const database = await createTestDatabase();
    const url = new URL(database.url);
    url.password = 'not-checked-by-the-test-cluster';
    try {
      const run = startMain({ BUFFMONEY_DB: url.toString(), BUFFMONEY_DATA_DIR: database.dir, BUFFMONEY_DB_POOL: '3', PORT: '0' });
      const base = await run.ready;
      expect(run.output()).toContain('(database postgres://postgres:***@');
      expect(run.output()).not.toContain('not-checked-by-the-test-cluster');
      const signup = await fetch(`${base}/api/v1/merchants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Proc', email: 'proc@example.com', password: 'supersecret' }),
      });
      expect(signup.status).toBe(201);
      expect(fs.existsSync(path.join(database.dir, 'secrets.json'))).toBe(true);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      await database.cleanup();
    }
  });
});
