/**
 * The big back office (test support for tables.spec.ts and bench/desktop.ts): a fresh SQLite file
 * with 100,000 invoices, served by the real loopback transport with the built renderer.
 *
 * Merchants, staff, products, rate cards and FX rates go through core's own functions; customers,
 * contracts and invoices (thousands of rows) are inserted directly, in one transaction with prepared
 * statements, into the real schema (migrations 0002, 0005, 0011), keeping the invariants the list
 * shows: one invoice per contract and period, invoice numbers counted per merchant and
 * environment (invoice_counters agrees), amounts computed by core's invoiceAmounts from the FX
 * snapshot's rates, ids time-ordered like every invoice id. Not created: invoice lines and ledger
 * postings (the list reads neither; an invoice opened from here shows no lines).
 *
 * The data is varied but deterministic (a seeded generator): six merchants in five pricing
 * currencies, 2,000 customers with Latin and Chinese names (and a few named like spreadsheet
 * formulas, for the CSV export test), 50 monthly periods each, statuses by age.
 *
 * Writes { url, staff, invoices, seedMs, known } to the file named by the first argument, then runs
 * until SIGTERM. Usage: node --import tsx test/browser/serve-large.ts <info.json> [invoices=100000]
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { createUlidSource } from '../../core/ids/index.js';
import { invoiceAmounts } from '../../core/invoices/amounts.js';
import { signup } from '../../core/merchants/accounts.js';
import { createStaff } from '../../core/staff/index.js';
import { startBackOfficeWeb } from '../../server/backoffice-web/app.js';

const infoFile = process.argv[2];
if (!infoFile) throw new Error('usage: serve-large.ts <info.json> [invoices]');
const INVOICES = Number(process.argv[3] ?? 100_000);
const PERIODS = 50;
const CUSTOMERS = Math.ceil(INVOICES / PERIODS);

const started = performance.now();
const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-large-'));
const db = openDatabase(path.join(dir, 'buffmoney.db'), { durable: false });
await migrateToLatest(db);
const ctx = createContext({ db, bcryptCost: 4, secrets: { jwtSecret: randomBytes(32), dataKey: randomBytes(32) } });

// One admin per user of this server: each TOTP code is accepted once per staff member.
const password = 'browser-suite correct horse';
const staff: Record<string, { email: string; password: string; totpSecret: string }> = {};
for (const name of ['tables', 'tablesort', 'tablezh', 'bench', 'spare']) {
  const email = `${name}.admin@buffmoney.test`;
  const created = await createStaff(ctx, { email, role: 'admin', password }, null);
  staff[name] = { email, password, totpSecret: created.totpSecret };
}

/** mulberry32: a small seeded generator, so every run seeds the same figures. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(20260705);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];

// Periods: the 50 calendar months before the current one.
const now = new Date();
const monthStart = (back: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
const firstPeriod = monthStart(PERIODS);

const rates: Record<string, string> = { USD: '7.1234', EUR: '7.7812', SGD: '5.2950', HKD: '0.9121' };
const fxIds: Record<string, { id: string; pair: string; rate: string; effectiveAt: string; source: string }> = {};
for (const [from, rate] of Object.entries(rates)) {
  const r = await setFxRate(
    ctx,
    FxRateInput.parse({ from, to: 'CNY', rate, effectiveAt: new Date(firstPeriod.getTime() - 30 * 86_400_000).toISOString(), source: 'PBoC central parity' }),
    null,
  );
  fxIds[from] = { id: r.id, pair: r.pair, rate: r.rate, effectiveAt: r.effectiveAt, source: r.source };
}
{
  const r = await setFxRate(
    ctx,
    FxRateInput.parse({ from: 'SGD', to: 'USD', rate: '0.7412', effectiveAt: new Date(firstPeriod.getTime() - 30 * 86_400_000).toISOString(), source: 'ECB reference' }),
    null,
  );
  fxIds['SGD/USD'] = { id: r.id, pair: r.pair, rate: r.rate, effectiveAt: r.effectiveAt, source: r.source };
}

const MERCHANTS = [
  { name: 'Nimbus Agents', email: 'billing@nimbus.test', currency: 'USD', settlement: 'USD', environment: 'live' },
  { name: '深度求索 DeepSeek', email: 'finance@deepseek.test', currency: 'CNY', settlement: 'CNY', environment: 'live' },
  { name: 'Lotus Robotics', email: 'finance@lotus-robotics.test', currency: 'HKD', settlement: 'HKD', environment: 'live' },
  { name: '月之暗面 Moonshot', email: 'ar@moonshot.test', currency: 'CNY', settlement: 'CNY', environment: 'live' },
  { name: 'Acme AI', email: 'ops@acme-ai.test', currency: 'SGD', settlement: 'USD', environment: 'live' },
  { name: 'Helvetia Models', email: 'billing@helvetia.test', currency: 'EUR', settlement: 'EUR', environment: 'sandbox' },
] as const;

interface Scope {
  merchantId: string;
  environment: 'live' | 'sandbox';
  productId: string;
  rateCardId: string;
  currency: string;
  settlement: string;
  feeBps: number;
  counter: number;
}
const scopes: Scope[] = [];
for (const m of MERCHANTS) {
  const merchant = await signup(ctx, { name: m.name, email: m.email, password: 'merchant password 1' } as never);
  const scope = { merchantId: merchant.id, environment: m.environment };
  const product = await createProduct(ctx, scope, { key: 'inference', name: 'Inference API' } as never);
  const card = await createRateCard(ctx, scope, product.id, { currency: m.currency, prices: [{ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' }] } as never);
  await publishRateCard(ctx, scope, card.id);
  const fee = await db.kysely.selectFrom('merchants').select('service_fee_bps').where('id', '=', merchant.id).executeTakeFirstOrThrow();
  scopes.push({ ...scope, productId: product.id, rateCardId: card.id, currency: m.currency, settlement: m.settlement, feeBps: Number(fee.service_fee_bps), counter: 0 });
}

// Customer names: Latin and Chinese companies; a few shaped like spreadsheet formulas.
const LATIN = ['northwind', 'contoso', 'fabrikam', 'tailspin', 'wingtip', 'adventure-works', 'litware', 'proseware', 'fourth-coffee', 'margie-travel', 'woodgrove', 'alpine-ski'];
const CHINESE = ['上海星辰科技', '杭州云帆智能', '北京知行数据', '深圳蓝鲸机器人', '成都熊猫语音', '广州南风医疗', '苏州园林文旅', '武汉光谷芯片'];
const FORMULA_NAMES = ['=HYPERLINK("http://evil.test","click")', '@SUM(1+1)', '+86-138-0000-0000', '-cmd|calc'];
const KNOWN_CUSTOMER = 'cus-zhuque-朱雀航天';

interface Customer {
  id: string;
  scope: Scope;
  externalId: string;
  contractId: string;
}
const ids = createUlidSource(() => firstPeriod.getTime() - 86_400_000, randomBytes);
const customers: Customer[] = [];
for (let i = 0; i < CUSTOMERS; i++) {
  const scope = scopes[i % scopes.length];
  const externalId =
    i === 7
      ? KNOWN_CUSTOMER
      : i < 8 + FORMULA_NAMES.length && i >= 8
        ? FORMULA_NAMES[i - 8]
        : random() < 0.35
          ? `${pick(CHINESE)}-${String(i).padStart(4, '0')}`
          : `cus-${pick(LATIN)}-${String(i).padStart(4, '0')}`;
  customers.push({ id: ids.next('cus'), scope, externalId, contractId: ids.next('ctr') });
}

/** Subtotals from a few cents to a few million, skewed small like real usage bills; some zero. */
function subtotalMinor(): string {
  const r = random();
  if (r < 0.03) return '0';
  return String(Math.floor(10 ** (2 + random() * 6.5)));
}

const STATUS_BY_AGE = (age: number): string => {
  const r = random();
  if (r < 0.02) return 'void';
  if (r < 0.03) return 'refunded';
  if (age <= 1) return r < 0.5 ? 'finalized' : 'payment_pending';
  if (age <= 3) return r < 0.25 ? 'payment_pending' : 'paid';
  return 'paid';
};

let largestSubtotal = { id: '', minor: '0' };
const seededAt = performance.now();
await db.exclusive!((raw) => {
  // Five b-trees on invoices: with SQLite's default 2 MB page cache most of the time goes to evicting pages.
  const cacheSize = raw.pragma('cache_size', { simple: true });
  raw.pragma('cache_size = -262144');
  const at = firstPeriod.toISOString();
  const insertCustomer = raw.prepare(
    'INSERT INTO customers (id, merchant_id, environment, external_id, name, email, metadata, status, usage_locked_until, auto_created, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, 0, ?, ?)',
  );
  const insertContract = raw.prepare(
    'INSERT INTO contracts (id, merchant_id, environment, customer_id, product_id, rate_card_id, billing_cycle, starts_at, ends_at, settlement_currency, status, created_at, updated_at, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL)',
  );
  const insertInvoice = raw.prepare(`INSERT INTO invoices (id, merchant_id, environment, invoice_number, contract_id, customer_id, period_start, period_end, status,
      pricing_currency, collection_currency, settlement_currency, subtotal_minor, collection_amount_minor, gross_settlement_minor, platform_fee_minor,
      net_settlement_minor, service_fee_bps, rate_card_id, rate_card_version, fx_snapshot, ledger_tx_id, finalized_at, voided_at, void_reason, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'CNY', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, NULL, ?, ?, ?, ?, ?)`);
  const setCounter = raw.prepare('INSERT INTO invoice_counters (merchant_id, environment, last_number) VALUES (?, ?, ?)');

  raw.transaction(() => {
    const lockedUntil = monthStart(0).toISOString();
    for (const c of customers) {
      insertCustomer.run(c.id, c.scope.merchantId, c.scope.environment, c.externalId, c.externalId, '{}', 'active', lockedUntil, at, at);
      insertContract.run(
        c.contractId,
        c.scope.merchantId,
        c.scope.environment,
        c.id,
        c.scope.productId,
        c.scope.rateCardId,
        'monthly_calendar',
        at,
        c.scope.settlement,
        'active',
        at,
        at,
      );
    }
    let made = 0;
    for (let p = 0; p < PERIODS && made < INVOICES; p++) {
      const start = monthStart(PERIODS - p);
      const end = monthStart(PERIODS - p - 1);
      // Invoiced an hour into the next month; ids follow that time, as the invoice run's do.
      const finalizedMs = end.getTime() + 3_600_000;
      const periodIds = createUlidSource(() => finalizedMs, randomBytes);
      const finalizedAt = new Date(finalizedMs).toISOString();
      for (const c of customers) {
        if (made >= INVOICES) break;
        const s = c.scope;
        const subtotal = made === 4242 ? '987654321012' : subtotalMinor();
        const fx = s.currency === 'CNY' ? [] : [{ use: 'collection', ...fxIds[s.currency] }];
        const amounts = invoiceAmounts({
          subtotalMinor: subtotal,
          pricingCurrency: s.currency,
          settlementCurrency: s.settlement,
          serviceFeeBps: s.feeBps,
          collectionRate: rates[s.currency],
          settlementRate: s.settlement === 'USD' && s.currency === 'SGD' ? fxIds['SGD/USD'].rate : undefined,
        });
        if (s.settlement === 'USD' && s.currency === 'SGD') fx.push({ use: 'settlement', ...fxIds['SGD/USD'] });
        const status = STATUS_BY_AGE(PERIODS - p);
        const id = periodIds.next('inv');
        s.counter += 1;
        const number = `BM-${start.getUTCFullYear()}-${String(s.counter).padStart(6, '0')}`;
        const voided = status === 'void' ? new Date(finalizedMs + 5 * 86_400_000).toISOString() : null;
        insertInvoice.run(
          id,
          s.merchantId,
          s.environment,
          number,
          c.contractId,
          c.id,
          start.toISOString(),
          end.toISOString(),
          status,
          s.currency,
          s.settlement,
          amounts.subtotalMinor,
          amounts.collectionAmountMinor,
          amounts.grossSettlementMinor,
          amounts.platformFeeMinor,
          amounts.netSettlementMinor,
          s.feeBps,
          s.rateCardId,
          JSON.stringify(fx),
          finalizedAt,
          voided,
          voided ? 'Customer disputed the usage; re-issued after correction' : null,
          finalizedAt,
          voided ?? finalizedAt,
        );
        if (made === 4242) largestSubtotal = { id, minor: subtotal };
        made++;
      }
    }
    for (const s of scopes) setCounter.run(s.merchantId, s.environment, s.counter);
  })();
  raw.pragma(`cache_size = ${Number(cacheSize)}`);
  // Reads through a 90 MB WAL are several times slower than from the database file: fold it in.
  raw.pragma('wal_checkpoint(TRUNCATE)');
});
const insertMs = performance.now() - seededAt;
const total = Number(
  (
    await db.kysely
      .selectFrom('invoices')
      .select((e) => e.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
  ).n,
);

// Every spec signs in from 127.0.0.1, two workers at a time: far more than a person's 10 a
// minute. The limit itself is tested in server/backoffice-web and test/replicas.
const web = await startBackOfficeWeb({
  ctx,
  staticDir: process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'),
  signInPerMinute: 1_000,
  onUnexpectedError: (e) => console.error(e),
});
const seedMs = Math.round(performance.now() - started);
console.error(
  `serve-large: ${total.toLocaleString('en-US')} invoices (${CUSTOMERS} customers × ${PERIODS} months) inserted in ${Math.round(insertMs)} ms; ready in ${seedMs} ms at ${web.url}`,
);
fs.writeFileSync(
  infoFile,
  JSON.stringify({
    url: web.url,
    staff,
    dbDir: dir,
    invoices: total,
    seedMs,
    insertMs: Math.round(insertMs),
    known: { customer: KNOWN_CUSTOMER, customerInvoices: PERIODS, formulaCustomers: FORMULA_NAMES, largestSubtotal },
  }),
);

const stop = async () => {
  await web.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
