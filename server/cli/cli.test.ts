import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptTotp, newTotpSecret, totpCode } from '../../core/auth/totp.js';
import { backOffice } from '../../core/backoffice/index.js';
import { PDF_BYTES } from '../../core/backoffice/testing/harness.js';
import { createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { signup } from '../../core/merchants/accounts.js';
import { submitKyb } from '../../core/merchants/kyb.js';
import { type TestDatabase, createTestDatabase, tamperBehindTriggers } from '../../core/testing/database.js';
import { loadSecrets } from '../config.js';
import { UsageError } from './args.js';
import { TOTP_PERIOD_MS, totpHelper, totpStateFile } from './totp.js';

/** The real `buffmoney` process, against a fresh test database (a SQLite file in a temp folder, or PostgreSQL under test:pg). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/buffmoney.js');
const execFileAsync = promisify(execFile);

// Each spawn costs 1–3 s (tsx compiles on the fly); a busy machine needs more than the default.
describe('buffmoney CLI', { timeout: 90_000 }, () => {
  let dir: string;
  let dbFile: string;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('buffmoney-cli-');
    ({ dir, url: dbFile } = database);
  });
  afterAll(() => database.cleanup());

  function cli(args: string[], env: Record<string, string> = {}) {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('BUFFMONEY_') || k === 'NODE_OPTIONS' || k === 'DATABASE_URL') delete base[k];
    const res = spawnSync(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...base, BUFFMONEY_DB: dbFile, BUFFMONEY_DATA_DIR: dir, ...env },
      encoding: 'utf8',
      timeout: 25_000,
    });
    const json = () => JSON.parse(res.stdout);
    return { code: res.status, stdout: res.stdout, stderr: res.stderr, json };
  }

  it('lists every command with its roles, and describes one command’s input', () => {
    const help = cli(['help']);
    expect(help.code).toBe(0);
    for (const c of backOffice.list()) expect(help.stdout).toMatch(new RegExp(`${c.name}\\s+${c.roles.join(',')}\\s+${c.stepUp ? '\\*' : ''}`));
    expect(help.stdout).toContain('staff:bootstrap');
    expect(help.stdout).toContain('login');

    const one = cli(['kyb:reject', '--help']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('--merchant <string>');
    expect(one.stdout).toContain('--reason <string>');
    expect(one.stdout).toContain('step-up: yes');
    expect(one.stdout).toContain('roles: admin');
    expect(cli(['merchants:set-fee', '--help']).stdout).toContain('--bps <integer>');
    const refund = cli(['refunds:create', '--help']).stdout;
    for (const part of ['--invoice <string>', '--amount <string>', '--reason <string>', '--otp <code>', 'step-up: yes', 'roles: admin, finance']) expect(refund).toContain(part);

    const unknown = cli(['kyb:nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.json()).toMatchObject({ ok: false, error: 'usage' });
  });

  let admin: { email: string; password: string; secret: string };
  let session: string;
  let merchants: string[];

  it('bootstraps the first admin once, printing the TOTP secret and a generated password', async () => {
    const first = cli(['staff:bootstrap', '--email', 'root@buffmoney.test', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const out = first.json();
    expect(out.staff).toMatchObject({ email: 'root@buffmoney.test', role: 'admin' });
    expect(out.otpauthUri).toContain(out.totpSecret);
    admin = { email: out.staff.email, password: out.generatedPassword, secret: out.totpSecret };
    // production cost (12), not a test shortcut
    const db = openDatabase(dbFile);
    expect((await db.kysely.selectFrom('staff').select('password_hash').executeTakeFirstOrThrow()).password_hash).toMatch(/^\$2b\$12\$/);
    await db.close();

    const second = cli(['staff:bootstrap', '--email', 'other@buffmoney.test', '--password', 'long enough pw', '--json']);
    expect(second.code).toBe(1);
    expect(second.json()).toMatchObject({ ok: false, error: 'staff_exists' });
  });

  it('logs in from the environment and runs a read command with --json', async () => {
    const login = cli(['login', '--json'], {
      BUFFMONEY_STAFF_EMAIL: admin.email,
      BUFFMONEY_STAFF_PASSWORD: admin.password,
      BUFFMONEY_STAFF_OTP: totpCode(admin.secret, new Date()),
    });
    expect(login.code, login.stderr).toBe(0);
    session = login.json().session;
    expect(session).toMatch(/^bmst_/);

    // two merchants with KYB pending, written straight into the same file
    const db = openDatabase(dbFile, { durable: false });
    const ctx = createContext({ db, secrets: loadSecrets(dir) });
    merchants = [];
    for (const n of [1, 2]) {
      const m = await signup(ctx, { name: `CLI Merchant ${n}`, email: `cli${n}@merchant.test`, password: 'merchant password' } as never);
      await submitKyb(ctx, m.id, { companyName: `CLI Co ${n}`, registrationNumber: `R${n}`, country: 'CN' }, [
        { kind: 'companyRegistration', originalName: 'reg.pdf', content: PDF_BYTES },
        { kind: 'ownerId', originalName: 'owner id.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`owner ${n}`)]) },
        { kind: 'bankProof', originalName: 'bank.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`bank ${n}`)]) },
      ]);
      merchants.push(m.id);
    }
    await db.close();

    const list = cli(['kyb:list', '--json'], { BUFFMONEY_SESSION: session });
    expect(list.code, list.stderr).toBe(0);
    expect(list.json().items.map((i: { merchantId: string }) => i.merchantId)).toEqual(merchants);

    const noSession = cli(['kyb:list', '--json']);
    expect(noSession.code).toBe(1);
    expect(noSession.json()).toMatchObject({ ok: false, error: 'session_required' });
  });

  it('runs a step-up command with --otp and refuses the same code again', () => {
    // the next time step's code: valid now (±1 step) and newer than the one used to sign in
    const otp = totpCode(admin.secret, new Date(Date.now() + 30_000));
    const approve = cli(['kyb:approve', '--merchant', merchants[0], '--otp', otp, '--json'], { BUFFMONEY_SESSION: session });
    expect(approve.code, approve.stdout + approve.stderr).toBe(0);
    expect(approve.json()).toMatchObject({ merchantId: merchants[0], status: 'approved' });

    const replay = cli(['kyb:reject', `--merchant=${merchants[1]}`, '--reason', 'not convincing', '--otp', otp, '--json'], { BUFFMONEY_SESSION: session });
    expect(replay.code).toBe(1);
    expect(replay.json()).toMatchObject({ ok: false, error: 'otp_invalid' });
  });

  it('exports a KYB document to a file', () => {
    const out = path.join(dir, 'owner.pdf');
    const res = cli(['kyb:export-document', '--merchant', merchants[1], '--kind', 'ownerId', '--out', out, '--session', session]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`writtenTo: ${out}`);
    expect(fs.readFileSync(out).toString()).toBe(`${PDF_BYTES.toString()}owner 2`);
  });

  it('audit:verify names an entry altered directly in the database file', async () => {
    const db = openDatabase(dbFile);
    const row = await db.kysely.selectFrom('audit_log').select(['seq', 'id']).where('command', '=', 'kyb:approve').where('outcome', '=', 'ok').executeTakeFirstOrThrow();
    await db.close();
    const target = { seq: Number(row.seq), id: row.id };
    await tamperBehindTriggers(dbFile, `update audit_log set actor_email = 'someone.else@buffmoney.test' where seq = ${target.seq}`);
    const res = cli(['audit:verify', '--json'], { BUFFMONEY_SESSION: session });
    expect(res.code).toBe(1);
    const body = res.json();
    expect(body).toMatchObject({ ok: false, error: 'audit_chain_broken', details: { firstBroken: { seq: target.seq, id: target.id } } });
    expect(body.message).toContain(`seq ${target.seq} (${target.id})`);
  });
});

describe('buffmoney totp (the helper the README uses for 2FA codes)', () => {
  /** A fake clock and sleep: waiting advances the clock. */
  function fakeTime(startMs: number) {
    let now = startMs;
    const sleeps: number[] = [];
    return {
      now: () => now,
      advance: (ms: number) => (now += ms),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      sleeps,
    };
  }
  let stateDir: string;
  beforeAll(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-totp-test-'))));
  afterAll(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  const window = (n: number) => n * TOTP_PERIOD_MS;

  it('prints the current code, and with --wait-fresh never the same window twice', async () => {
    const secret = newTotpSecret(randomBytes);
    const t = fakeTime(window(59_000_000) + 10_000); // 10 s into a window
    const opts = { secret, stateDir, now: t.now, sleep: t.sleep };

    const first = await totpHelper({ ...opts, waitFresh: true });
    expect(first).toMatchObject({ code: totpCode(secret, new Date(t.now())), step: 59_000_000, secondsLeft: 20, waitedMs: 0 });

    // same window: plain mode repeats the code, --wait-fresh waits for the next window to begin
    expect((await totpHelper({ ...opts, waitFresh: false })).code).toBe(first.code);
    const second = await totpHelper({ ...opts, waitFresh: true });
    expect(second.step).toBe(59_000_001);
    expect(second.waitedMs).toBeGreaterThanOrEqual(20_000);
    expect(second.waitedMs).toBeLessThan(21_000);
    expect(second.code).toBe(totpCode(secret, new Date(window(59_000_001))));

    // a later window than the last printed one: no wait
    t.advance(45_000);
    const third = await totpHelper({ ...opts, waitFresh: true });
    expect(third).toMatchObject({ step: 59_000_002, waitedMs: 0 });
    expect(t.sleeps).toHaveLength(1);
  });

  it('gives codes the server accepts one after the other (each newer than the last accepted)', async () => {
    const secret = newTotpSecret(randomBytes);
    const t = fakeTime(window(60_000_000) + 29_000);
    let last: number | null = null;
    for (let i = 0; i < 4; i++) {
      const { code } = await totpHelper({ secret, stateDir, now: t.now, sleep: t.sleep, waitFresh: true });
      t.advance(1_500); // the request reaches the server a moment later
      const step = acceptTotp(secret, code, new Date(t.now()), last);
      expect(step, `code ${i + 1}`).not.toBeNull();
      last = step;
    }
  });

  it('keeps each secret apart, and stores a window number under a hash, never the secret', async () => {
    const a = newTotpSecret(randomBytes);
    const b = newTotpSecret(randomBytes);
    const t = fakeTime(window(61_000_000));
    await totpHelper({ secret: a, stateDir, now: t.now, sleep: t.sleep, waitFresh: true });
    expect((await totpHelper({ secret: b, stateDir, now: t.now, sleep: t.sleep, waitFresh: true })).waitedMs).toBe(0);
    const file = totpStateFile(a, stateDir);
    expect(path.basename(file)).not.toContain(a);
    expect(fs.readFileSync(file, 'utf8')).toBe('61000000\n');
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it('reads secrets as authenticator apps show them and refuses anything else', async () => {
    const secret = newTotpSecret(randomBytes);
    const t = fakeTime(window(62_000_000));
    const spaced = secret.toLowerCase().replace(/(.{4})/g, '$1 ');
    expect((await totpHelper({ secret: spaced, stateDir, now: t.now, waitFresh: false })).code).toBe(totpCode(secret, new Date(t.now())));
    await expect(totpHelper({ secret: 'not base32!', stateDir, waitFresh: false })).rejects.toThrow(UsageError);
    await expect(totpHelper({ secret: 'ABCD', stateDir, waitFresh: false })).rejects.toThrow(UsageError);
  });

  it('runs as `buffmoney totp`: the code alone on stdout, --json, the secret from the environment, usage errors', { timeout: 120_000 }, async () => {
    const secret = newTotpSecret(randomBytes);
    // async, so the test worker stays responsive while the CLI starts (tsx compiles on the fly)
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const base = { ...process.env };
      for (const k of Object.keys(base)) if (k.startsWith('BUFFMONEY_') || k === 'NODE_OPTIONS') delete base[k];
      const before = Date.now();
      const res = await execFileAsync(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...base, ...env }, encoding: 'utf8', timeout: 25_000 }).then(
        (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code?: number; stdout: string; stderr: string }) => ({ status: typeof e.code === 'number' ? e.code : null, stdout: e.stdout, stderr: e.stderr }),
      );
      // the codes of every window the run may have seen
      const codes = [before, Date.now()].map((ms) => totpCode(secret, new Date(ms)));
      return { ...res, codes };
    };
    try {
      const plain = await run(['totp', '--secret', secret]);
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout).toMatch(/^\d{6}\n$/);
      expect(plain.codes).toContain(plain.stdout.trim());

      const json = await run(['totp', '--json'], { BUFFMONEY_TOTP_SECRET: secret });
      expect(json.status, json.stderr).toBe(0);
      const out = JSON.parse(json.stdout);
      expect(json.codes).toContain(out.code);
      expect(out).toMatchObject({ step: expect.any(Number), secondsLeft: expect.any(Number), waitedMs: 0 });

      const missing = await run(['totp', '--json']);
      expect(missing.status).toBe(2);
      expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, error: 'usage', message: expect.stringContaining('--secret') });
      const bad = await run(['totp', '--secret', 'nope', '--json']);
      expect(bad.status).toBe(2);
      expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: 'usage' });
      expect((await run(['totp', '--secret', secret, '--wait-fresh=yes'])).status).toBe(2);
      expect((await run(['totp', '--secret', secret, '--merchant', 'x'])).status).toBe(2);

      const help = await run(['help']);
      expect(help.stdout).toMatch(/totp\s+Print the current TOTP code/);
    } finally {
      fs.rmSync(totpStateFile(secret), { force: true });
    }
  });
});
