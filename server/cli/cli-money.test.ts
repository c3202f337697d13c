import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../core/auth/totp.js';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { createContext } from '../../core/context/index.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { openDatabase } from '../../core/db/index.js';
import { type TestDatabase, createTestDatabase } from '../../core/testing/database.js';
import { signup } from '../../core/merchants/accounts.js';
import { loadSecrets } from '../config.js';

/** The CLI over the money commands: positional arguments, --file inputs, progress of long runs. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(repoRoot, 'bin/buffmoney.js');

describe('buffmoney CLI: FX and invoices', { timeout: 120_000 }, () => {
  let dir: string;
  let dbFile: string;
  let secret: string;
  let session: string;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('buffmoney-cli-money-');
    ({ dir, url: dbFile } = database);
  });
  afterAll(() => database.cleanup());

  function cli(args: string[], env: Record<string, string> = {}) {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('BUFFMONEY_') || k === 'NODE_OPTIONS' || k === 'DATABASE_URL') delete base[k];
    const res = spawnSync(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...base, BUFFMONEY_DB: dbFile, BUFFMONEY_DATA_DIR: dir, ...(session ? { BUFFMONEY_SESSION: session } : {}), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr, json: () => JSON.parse(res.stdout) };
  }
  // Codes as an authenticator app gives them: each newer than the last one used (a code is
  // accepted once, and only if newer), never more than one step ahead of the clock (the server
  // accepts ±1 step) — waiting for the clock if need be. Never an old step: a CLI process can
  // take seconds to start on a loaded machine, and a step boundary may pass meanwhile.
  let lastStep = Number.NEGATIVE_INFINITY;
  const code = () => {
    const stepNow = () => Math.floor(Date.now() / 30_000);
    const step = Math.max(lastStep + 1, stepNow());
    while (step > stepNow() + 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    lastStep = step;
    return totpCode(secret, new Date(step * 30_000));
  };

  it('signs in an admin', () => {
    const boot = cli(['staff:bootstrap', '--email', 'fx@buffmoney.test', '--json']);
    expect(boot.code, boot.stderr).toBe(0);
    secret = boot.json().totpSecret;
    const login = cli(['login', '--json'], { BUFFMONEY_STAFF_EMAIL: 'fx@buffmoney.test', BUFFMONEY_STAFF_PASSWORD: boot.json().generatedPassword, BUFFMONEY_STAFF_OTP: code() });
    expect(login.code, login.stderr).toBe(0);
    session = login.json().session;
  });

  it('fx:set takes FROM TO RATE as arguments; stray or doubled arguments are usage errors', () => {
    const set = cli(['fx:set', 'USD', 'CNY', '7.1234', '--effective', '2026-01-01T00:00:00Z', '--source', 'PBoC', '--otp', code(), '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json()).toMatchObject({ pair: 'USD/CNY', rate: '7.1234', source: 'PBoC', effectiveAt: '2026-01-01T00:00:00.000Z' });
    expect(cli(['fx:set', 'USD', 'CNY', '7', '8', '--json']).code).toBe(2);
    expect(cli(['fx:set', 'USD', 'CNY', '7', '--rate', '8', '--json']).code).toBe(2);
    expect(cli(['kyb:list', 'extra', '--json']).code).toBe(2);
    expect(cli(['fx:set', '--help']).stdout).toContain('buffmoney fx:set FROM TO RATE');
  });

  it('fx:import reads --file; a bad row names its line; a missing file is a usage error', () => {
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'from,to,rate\nEUR,CNY,7.8\nJPY,CNY,zero\n');
    const bad = cli(['fx:import', '--file', 'bad.csv', '--otp', code(), '--json']);
    expect(bad.code).toBe(1);
    expect(bad.json()).toMatchObject({ ok: false, error: 'fx_import_invalid', message: expect.stringMatching(/^Line 3:/) });
    expect(cli(['fx:import', '--file', 'nope.csv', '--json']).code).toBe(2);
  });

  it('invoices:generate reports progress on stderr and the run report on stdout', async () => {
    const db = openDatabase(dbFile);
    const ctx = createContext({ db, secrets: loadSecrets(dir, {}), bcryptCost: 4 });
    const m = await signup(ctx, { name: 'CLI Co', email: 'cli@merchant.test', password: 'merchant password' } as never);
    const scope = { merchantId: m.id, environment: 'sandbox' as const };
    const product = await createProduct(ctx, scope, { key: 'chat', name: 'Chat' } as never);
    const card = await createRateCard(ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' }] } as never);
    await publishRateCard(ctx, scope, card.id);
    for (const c of ['a', 'b']) {
      await createCustomer(ctx, scope, { externalId: c, name: c } as never);
      await createContract(ctx, scope, { customerExternalId: c, rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-01-01T00:00:00Z' } as never);
    }
    await db.close();
    const run = cli(['invoices:generate', '--as-of', '2026-03-01T01:00:00Z', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().created).toHaveLength(4); // two customers × January, February
    expect(run.stderr).toContain('invoices:generate: 4/4');
    const listed = cli(['invoices:list', '--merchant', m.id, '--json']);
    expect(
      listed
        .json()
        .items.map((i: { invoiceNumber: string }) => i.invoiceNumber)
        .sort(),
    ).toEqual(['BM-2026-000001', 'BM-2026-000002', 'BM-2026-000003', 'BM-2026-000004']);
  });
});
