/**
 * The browser suite's back office (test support): a fresh SQLite file in a temp folder, seeded
 * through core's own functions (staff, merchants with KYB waiting, an FX rate, a contract with
 * usage in ended months), served by the real loopback transport with the built renderer and the
 * real clock. Writes what the tests need (URL, staff credentials, TOTP secrets) to the file named
 * by the first argument, then runs until SIGTERM.
 * Usage: node --import tsx test/browser/serve.ts <info.json>
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDF_BYTES } from '../../core/backoffice/testing/harness.js';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { createContext } from '../../core/context/index.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { signup } from '../../core/merchants/accounts.js';
import { submitKyb } from '../../core/merchants/kyb.js';
import { createStaff } from '../../core/staff/index.js';
import { insertUsageRowForTest } from '../../core/usage/testing.js';
import { startBackOfficeWeb } from '../../server/backoffice-web/app.js';
import { SEEDS } from './seeds/index.js';

const infoFile = process.argv[2];
if (!infoFile) throw new Error('usage: serve.ts <info.json>');
const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-'));
const db = openDatabase(path.join(dir, 'buffmoney.db'), { durable: false });
await migrateToLatest(db);
const ctx = createContext({ db, bcryptCost: 4, secrets: { jwtSecret: randomBytes(32), dataKey: randomBytes(32) } });

// One admin per browser test: each step-up code is accepted once per staff member, so tests
// that run side by side never wait for each other's next TOTP window.
const password = 'browser-suite correct horse';
const staff: Record<string, { email: string; password: string; totpSecret: string }> = {};
// Spare names for later tests: a test takes one name of its own (see the note above).
for (const name of [
  'signin',
  'kyb',
  'fx',
  'invoices',
  'ledger',
  'enrol',
  'settings',
  'lang',
  'merchants',
  'staff',
  'audit',
  'kybdetail',
  'home',
  'fximport',
  'void',
  'unbilled',
  'ledgertx',
  'table',
  'spare1',
  'spare2',
  'spare3',
]) {
  const email = `${name}.admin@buffmoney.test`;
  const created = await createStaff(ctx, { email, role: 'admin', password }, null);
  staff[name] = { email, password, totpSecret: created.totpSecret };
}
{
  const email = 'finance@buffmoney.test';
  const created = await createStaff(ctx, { email, role: 'finance', password }, null);
  staff.finance = { email, password, totpSecret: created.totpSecret };
}

for (const [company, country, email] of [
  ['Acme AI Pte Ltd', 'SG', 'ops@acme-ai.test'],
  ['Lotus Robotics Ltd', 'HK', 'finance@lotus-robotics.test'],
]) {
  const m = await signup(ctx, { name: company.replace(/ (Pte )?Ltd$/, ''), email, password: 'merchant password 1' } as never);
  await submitKyb(
    ctx,
    m.id,
    { companyName: company, registrationNumber: `REG-${country}-2026-0001`, country },
    (['companyRegistration', 'ownerId', 'bankProof'] as const).map((kind) => ({
      kind,
      originalName: `${kind}.pdf`,
      content: Buffer.concat([PDF_BYTES, Buffer.from(`${company} ${kind}`)]),
    })),
  );
}

// A billing merchant: USD pricing, settled in USD, usage in the month that began three months ago.
const now = new Date();
const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1));
const month = (d: Date, days: number) => new Date(d.getTime() + days * 86_400_000).toISOString();
await setFxRate(ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1234', effectiveAt: month(start, -30), source: 'PBoC central parity' }), null);
const billing = await signup(ctx, { name: 'Nimbus Agents', email: 'billing@nimbus.test', password: 'merchant password 2' } as never);
const scope = { merchantId: billing.id, environment: 'live' as const };
const product = await createProduct(ctx, scope, { key: 'agents', name: 'Agents API' } as never);
const card = await createRateCard(ctx, scope, product.id, {
  currency: 'USD',
  prices: [
    { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002', dimensions: { model: 'gpt-5' } },
    { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00005' },
    { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '25' },
  ],
} as never);
await publishRateCard(ctx, scope, card.id);
let eventNo = 0;
for (const [customer, runs] of [
  ['cus-northwind', '1234'],
  ['cus-contoso', '87'],
] as const) {
  await createCustomer(ctx, scope, { externalId: customer, name: customer } as never);
  const contract = await createContract(ctx, scope, {
    customerExternalId: customer,
    rateCardId: card.id,
    billingCycle: 'monthly_calendar',
    startsAt: start.toISOString(),
    endsAt: new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1)).toISOString(),
    settlementCurrency: 'USD',
  } as never);
  const usage = (metric: string, quantity: string, day: number, dimensions = '{}') =>
    insertUsageRowForTest(db, {
      ...scope,
      customerId: contract.customerId,
      idempotencyKey: `e${++eventNo}`,
      metric: metric as never,
      quantity,
      occurredAt: month(start, day),
      dimensions,
    });
  await usage('tokens_input', '18500000', 2, '{"model":"gpt-5"}');
  await usage('tokens_input', '4200000', 5);
  await usage('agent_run', runs, 9);
}

// Each screen family's own seed (test/browser/seeds/), after the shared one above.
for (const seed of SEEDS) await seed({ ctx, db, staff, password });

// Every spec signs in from 127.0.0.1, two workers at a time: far more than a person's 10 a
// minute. The limit itself is tested in server/backoffice-web and test/replicas.
const web = await startBackOfficeWeb({
  ctx,
  staticDir: process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'),
  signInPerMinute: 1_000,
  onUnexpectedError: (e) => console.error(e),
});
fs.writeFileSync(infoFile, JSON.stringify({ url: web.url, staff, dbDir: dir }));

const stop = async () => {
  await web.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
