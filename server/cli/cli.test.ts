import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../core/auth/totp.js';
import { backOffice } from '../../core/backoffice/index.js';
import { PDF_BYTES } from '../../core/backoffice/testing/harness.js';
import { createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { signup } from '../../core/merchants/accounts.js';
import { submitKyb } from '../../core/merchants/kyb.js';
import { loadSecrets } from '../config.js';

/** The real `buffmoney` process, against a SQLite file in a temp folder. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/buffmoney.js');

// Each spawn costs 1–3 s (tsx compiles on the fly); a busy machine needs more than the default.
describe('buffmoney CLI', { timeout: 90_000 }, () => {
  let dir: string;
  let dbFile: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-cli-'));
    dbFile = path.join(dir, 'buffmoney.db');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function cli(args: string[], env: Record<string, string> = {}) {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('BUFFMONEY_') || k === 'NODE_OPTIONS' || k === 'DATABASE_URL') delete base[k];
    const res = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env: { ...base, BUFFMONEY_DB: dbFile, ...env }, encoding: 'utf8', timeout: 25_000 });
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

    const unknown = cli(['kyb:nope', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.json()).toMatchObject({ ok: false, error: 'usage' });
  });

  let admin: { email: string; password: string; secret: string };
  let session: string;
  let merchants: string[];

  it('bootstraps the first admin once, printing the TOTP secret and a generated password', () => {
    const first = cli(['staff:bootstrap', '--email', 'root@buffmoney.test', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const out = first.json();
    expect(out.staff).toMatchObject({ email: 'root@buffmoney.test', role: 'admin' });
    expect(out.otpauthUri).toContain(out.totpSecret);
    admin = { email: out.staff.email, password: out.generatedPassword, secret: out.totpSecret };
    // production cost, as the brief says
    const raw = new BetterSqlite3(dbFile, { readonly: true });
    expect((raw.prepare('select password_hash from staff').get() as { password_hash: string }).password_hash).toMatch(/^\$2b\$12\$/);
    raw.close();

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

  it('audit:verify names an entry altered directly in the database file', () => {
    const raw = new BetterSqlite3(dbFile);
    const target = raw.prepare("select seq, id from audit_log where command = 'kyb:approve' and outcome = 'ok'").get() as { seq: number; id: string };
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("update audit_log set actor_email = 'someone.else@buffmoney.test' where seq = ?").run(target.seq);
    raw.close();
    const res = cli(['audit:verify', '--json'], { BUFFMONEY_SESSION: session });
    expect(res.code).toBe(1);
    const body = res.json();
    expect(body).toMatchObject({ ok: false, error: 'audit_chain_broken', details: { firstBroken: { seq: target.seq, id: target.id } } });
    expect(body.message).toContain(`seq ${target.seq} (${target.id})`);
  });
});
