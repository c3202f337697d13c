/**
 * The Settlement screen's own world for settlement.spec.ts (a server of its own: the batch it
 * closes gathers every paid USD invoice of the month, so no other spec's data may land in it).
 *
 * A fresh SQLite file; May 2026 usage invoiced on 2026-06-02 and paid through a fake WeChat Pay on
 * 2026-06-02 (core/payments/testing.ts, on a manual clock), so June 2026 is a month that can be
 * closed. Three merchants settle in USD:
 *  - `=HYPERLINK("http://x","y")` (a name a spreadsheet would run as a formula), an IBAN account;
 *  - 北京智谱科技有限公司, a CNAPS account with a Chinese bank name;
 *  - Hollow Labs, with no bank account: held back (no_destination).
 * A CNY→USD rate in force from 2026-07-01 (the approval clears FX at it). Staff: an admin who
 * closes, two admins who approve, and a finance officer who exports and completes.
 *
 * The back office runs on the real clock (the month is long over). Writes { url, staff, merchants }
 * to the file named by the first argument, then runs until SIGTERM.
 * Usage: node --import tsx test/browser/serve-settlement.ts <info.json>
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock, createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { signup } from '../../core/merchants/accounts.js';
import { applyChannelNotification, createCheckout } from '../../core/payments/index.js';
import { fakeChannels, finalizedInvoices } from '../../core/payments/testing.js';
import { setBankAccountForTest } from '../../core/settlement/testing.js';
import { createStaff } from '../../core/staff/index.js';
import { startBackOfficeWeb } from '../../server/backoffice-web/app.js';

const SETTLEMENT_MERCHANTS = {
  formula: '=HYPERLINK("http://x","y")',
  cjk: '北京智谱科技有限公司',
  held: 'Hollow Labs',
} as const;

const infoFile = process.argv[2];
if (!infoFile) throw new Error('usage: serve-settlement.ts <info.json>');
const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-settlement-'));
const db = openDatabase(path.join(dir, 'buffmoney.db'), { durable: false });
await migrateToLatest(db);
const secrets = { jwtSecret: randomBytes(32), dataKey: randomBytes(32) };
const clock = new ManualClock('2026-05-01T00:00:00.000Z');
const seedCtx = createContext({ db, bcryptCost: 4, secrets, clock });
const ctx = createContext({ db, bcryptCost: 4, secrets });

const ids: Record<keyof typeof SETTLEMENT_MERCHANTS, string> = { formula: '', cjk: '', held: '' };
for (const [key, name] of Object.entries(SETTLEMENT_MERCHANTS)) {
  // A second apart: merchant ids (ULIDs) in this order, so the batch's lines are too.
  clock.advance(1_000);
  ids[key as keyof typeof ids] = (await signup(seedCtx, { name, email: `${key}@settlement-merchant.test`, password: 'merchant password 9' } as never)).id;
}
// Destinations entered long before the month: no cooling-off.
const longAgo = '2026-01-01T00:00:00.000Z';
await setBankAccountForTest(
  seedCtx,
  ids.formula,
  { holderName: SETTLEMENT_MERCHANTS.formula, iban: 'DE89 3704 0044 0532 0130 00', bankName: 'Commerzbank, Köln', swiftBic: 'COBADEFFXXX', currency: 'USD' },
  { changedAt: longAgo },
);
await setBankAccountForTest(
  seedCtx,
  ids.cjk,
  { holderName: SETTLEMENT_MERCHANTS.cjk, accountNumber: '6222 0202 0011 2233', bankName: '中国工商银行北京分行', cnapsCode: '102100099996', currency: 'USD' },
  { changedAt: longAgo },
);

// May 2026 usage at 10 US cents a run: 123.40, 567.80 and 100.00 USD gross; invoiced 2026-06-02.
const invoices = await finalizedInvoices(seedCtx, clock, [
  { merchantId: ids.formula, customer: 'settle-f1', settlementCurrency: 'USD', runs: '1234' },
  { merchantId: ids.cjk, customer: 'settle-c1', settlementCurrency: 'USD', runs: '5678' },
  { merchantId: ids.held, customer: 'settle-h1', settlementCurrency: 'USD', runs: '1000' },
]);
const fake = fakeChannels();
const merchantOf = [ids.formula, ids.cjk, ids.held];
for (const [i, invoiceId] of invoices.entries()) {
  const order = await createCheckout(seedCtx, fake.registry, {
    merchantId: merchantOf[i],
    environment: 'live',
    invoiceId,
    channel: 'wechat',
    notifyUrl: (c) => `https://pay.example/api/webhooks/${c}`,
    hostedUrl: (token) => `https://pay.example/checkout/${token}`,
  });
  const row = await db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
  // Paid 2026-06-02T00:05Z (the fake channel's default): June's collections.
  await applyChannelNotification(seedCtx, fake.wechat.pay(row.out_trade_no));
}
clock.set('2026-07-01T09:00:00.000Z');
await setFxRate(seedCtx, FxRateInput.parse({ from: 'CNY', to: 'USD', rate: '0.1420', effectiveAt: '2026-07-01T00:00:00Z', source: 'PBoC central parity' }), null);

const password = 'browser-suite correct horse';
const staff: Record<string, { email: string; password: string; totpSecret: string }> = {};
for (const [name, role] of [
  ['closer', 'admin'],
  ['approverA', 'admin'],
  ['approverB', 'admin'],
  ['finance', 'finance'],
] as const) {
  const email = `settlement.${name.toLowerCase()}@buffmoney.test`;
  const created = await createStaff(ctx, { email, role, password }, null);
  staff[name] = { email, password, totpSecret: created.totpSecret };
}

const web = await startBackOfficeWeb({
  ctx,
  staticDir: process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'),
  signInPerMinute: 1_000,
  onUnexpectedError: (e) => console.error(e),
});
fs.writeFileSync(infoFile, JSON.stringify({ url: web.url, staff, merchants: ids, invoices }));

const stop = async () => {
  await web.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
