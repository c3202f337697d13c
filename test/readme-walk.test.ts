import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from './helpers.js';
import { curlsWithoutFail, repoRoot, shellBlocks, walkScript, walkedBlocks } from './readme-walk.js';

/**
 * The README runs as written: its shell blocks, in order, in one bash shell (`set -euo
 * pipefail`) with real curl and the real `npx buffmoney`, against a fresh server on a loopback
 * port with a temp database. It waits for TOTP windows like a reader would (a fresh code at most
 * every 30 s per secret), so it takes a few minutes.
 */
const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const blocks = walkedBlocks(readme);

describe('README', () => {
  it('marks only the quick start (and the PostgreSQL setup, which needs a server) as not walked, and every curl fails on an HTTP error', () => {
    // `needs-postgres`: the block points the product at an existing PostgreSQL server, which the
    // walk (on the suite's own database) does not have; npm run test:pg covers that path.
    const skipped = shellBlocks(readme).filter((b) => b.info.includes('no-walk') && !b.info.includes('needs-postgres'));
    expect(skipped.map((b) => b.code)).toEqual([expect.stringContaining('npm install')]);
    expect(curlsWithoutFail(blocks)).toEqual([]);
    // the path the walk must cover, from signup to a live key and usage
    const all = blocks.map((b) => b.code).join('\n');
    for (const step of ['2fa/verify', '/kyb', 'staff:bootstrap', 'buffmoney login', 'kyb:approve', '"environment\\":\\"live', 'rotate-key', 'usage-events']) {
      expect(all, step).toContain(step);
    }
  });

  it('points at no file outside the repository', () => {
    expect(readme).not.toMatch(/\.\.\/shared|\bshared\/architecture/);
    for (const m of readme.matchAll(/`((?:docs|core|server|test|migrations|bin)\/[\w./-]+)`/g)) {
      expect(fs.existsSync(path.join(repoRoot, m[1])), m[1]).toBe(true);
    }
  });
});

describe('README walk-through', { timeout: 480_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    const curl = spawnSync('curl', ['--version'], { encoding: 'utf8' });
    if (curl.error) throw new Error('The README walk needs curl on PATH (apt-get install curl)');
    // The webhook endpoint the README registers (https://acme.ai/…) must pass the SSRF check,
    // which resolves its host: here every name resolves to one public address (nothing is sent:
    // test servers do not deliver webhooks).
    server = await startTestServer({ realRateLimits: true, resolveHost: async () => ['93.184.216.34'] });
  });
  afterAll(async () => server?.stop());

  it('fails on the first HTTP error, naming the README line', async () => {
    const script = walkScript([
      { line: 7, info: ['sh'], code: `B=${server.url}` },
      { line: 9, info: ['sh'], code: 'ME=$(curl -s --fail-with-body $B/api/v1/merchants/me | cat)\necho "not reached"' },
    ]);
    const res = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(res.code).not.toBe(0);
    expect(res.output).toContain('--- README.md:9');
    expect(res.output).toContain('README walk failed');
    expect(res.output).not.toContain('not reached');
  });

  it('runs every block in order against a fresh server', async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('BUFFMONEY_') && !['NODE_OPTIONS', 'DATABASE_URL', 'B', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID'].includes(k)) env[k] = v;
    }
    // TMPDIR inside the server's temp folder (removed at the end): the totp helper's state and
    // the README's mktemp output leave nothing behind
    const tmp = path.join(server.config.dataDir, 'tmp');
    fs.mkdirSync(tmp);
    Object.assign(env, { B: server.url, BUFFMONEY_DB: server.dbFile, BUFFMONEY_DATA_DIR: server.config.dataDir, TMPDIR: tmp });

    const started = Date.now();
    const child = spawn('bash', ['-c', walkScript(blocks)], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 450_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    const seconds = Math.round((Date.now() - started) / 1000);

    expect(code, `README walk exited ${code} after ${seconds} s:\n${output.slice(-6000)}`).toBe(0);
    expect(output).toContain('--- README walk: done');
    // the rerun block ran twice, and the walk reached the live key and the approval
    expect(output.match(/\(run 2\)/g)).toHaveLength(blocks.filter((b) => b.info.includes('rerun')).length);
    expect(output).toMatch(/bm_live_\w+\./);
    // the usage block's second run sent a new batch (new keys, changed body), not a replay
    const accepted = new Set([...output.matchAll(/"idempotencyKey":"(evt-\d+-1)","status":"accepted"/g)].map((m) => m[1]));
    expect(accepted.size).toBe(2);
    // what the walk did is in the database: KYB approved, a live key and a rotated sandbox key
    const db = server.db.kysely;
    const merchant = await db.selectFrom('merchants').select(['id', 'kyb_status']).where('email', '=', 'hello@acme.ai').executeTakeFirstOrThrow();
    expect(merchant.kyb_status).toBe('approved');
    const keys = await db.selectFrom('merchant_api_keys').select(['environment', 'revoked_at']).where('merchant_id', '=', merchant.id).execute();
    expect(
      keys
        .filter((k) => k.revoked_at === null)
        .map((k) => k.environment)
        .sort(),
    ).toEqual(['live', 'sandbox']);
    expect(keys.filter((k) => k.revoked_at !== null).map((k) => k.environment)).toEqual(['sandbox']);
  });
});
