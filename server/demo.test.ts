import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../core/db/index.js';
import { verifyLedger } from '../core/ledger/index.js';
import { createContext } from '../core/context/index.js';
import { type DemoResult, runDemo } from './demo.js';
import { loadSecrets } from './config.js';

describe('npm run demo', { timeout: 120_000 }, () => {
  let dir: string;
  let dbPath: string;
  let first: DemoResult;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-demo-'));
    dbPath = path.join(dir, 'buffmoney.db');
    first = await runDemo({ dbPath, dataDir: dir, bcryptCost: 4, now: new Date('2026-07-15T10:00:00Z') });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fills merchants, customers, usage and six months of invoices with a balanced ledger, and prints a sign-in', async () => {
    expect(first).toMatchObject({ seeded: true, merchants: 4, customers: 12, failed: 0, invoices: 72 });
    expect(first.events).toBeGreaterThan(5_000);
    expect(first.login).toMatchObject({ email: 'demo.admin@buffmoney.demo', totpSecret: expect.stringMatching(/^[A-Z2-7]+$/) });
    expect(first.login!.otpauthUri).toContain('otpauth://totp/');

    const db = openDatabase(dbPath, { durable: false });
    try {
      const k = db.kysely;
      const kyb = await k.selectFrom('merchants').select(['name', 'kyb_status']).orderBy('name').execute();
      expect(kyb.filter((m) => m.kyb_status === 'pending_review').map((m) => m.name)).toEqual(['Yunmo Vision']);
      const months = await k.selectFrom('invoices').select('period_start').distinct().orderBy('period_start').execute();
      expect(months.map((m) => m.period_start.slice(0, 7))).toEqual(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06']);
      const nonZero = await k.selectFrom('invoices').select('id').where('subtotal_minor', '!=', '0').execute();
      expect(nonZero).toHaveLength(72);
      const ctx = createContext({ db, secrets: loadSecrets(dir) });
      const verified = await verifyLedger(ctx);
      expect(verified.ok).toBe(true);
      if (verified.ok) {
        expect(verified.transactions).toBe(72);
        for (const t of Object.values(verified.totals)) expect(t.debitsMinor).toBe(t.creditsMinor);
      }
    } finally {
      await db.close();
    }
  });

  it('changes nothing when the demo is already there', async () => {
    const again = await runDemo({ dbPath, dataDir: dir, bcryptCost: 4, now: new Date('2026-07-15T10:00:00Z') });
    expect(again).toMatchObject({ seeded: false, merchants: 0, invoices: 0 });
    expect(again.login).toBeUndefined();
  });
});
