/**
 * `npm run demo`: fills the database the product uses by default (BUFFMONEY_DB, else
 * ./data/buffmoney.db; secrets beside it) with a living back office, through core's own functions:
 * four merchants (one with KYB waiting), Chinese and international AI app companies as their
 * customers, rate cards and contracts, FX rates, six ended months of usage (ingested as the API
 * ingests it) and the invoices for those months (generateInvoices: ledger postings and outbox
 * events are real). Prints a demo admin's sign-in. Refuses to run twice on one database.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createProduct } from '../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../core/catalog/rate-cards.js';
import { type CoreContext, createContext } from '../core/context/index.js';
import { createContract } from '../core/contracts/contracts.js';
import { createCustomer } from '../core/customers/customers.js';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { FxRateInput, setFxRate } from '../core/fx/index.js';
import { generateInvoices } from '../core/invoices/index.js';
import { signup } from '../core/merchants/accounts.js';
import { decideKyb, submitKyb } from '../core/merchants/kyb.js';
import { createStaff } from '../core/staff/index.js';
import { usageIngestFor } from '../core/usage/ingest.js';
import { loadConfig, loadSecrets } from './config.js';

const DEMO_ADMIN = 'demo.admin@buffmoney.demo';
/** KYB needs documents that pass content sniffing: a minimal PDF. */
const PDF = Buffer.from('%PDF-1.4\n% BuffMoney demo document\n');

export interface DemoResult {
  seeded: boolean;
  dbPath: string;
  merchants: number;
  customers: number;
  events: number;
  invoices: number;
  failed: number;
  login?: { email: string; password: string; totpSecret: string; otpauthUri: string };
}

/** A small deterministic generator (mulberry32): the demo looks the same on every machine. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Metric = 'tokens_input' | 'tokens_output' | 'image_generation' | 'agent_run';

interface DemoMerchant {
  name: string;
  email: string;
  company: string;
  country: string;
  registration: string;
  kyb: 'approved' | 'pending';
  currency: 'CNY' | 'USD';
  settlement: string;
  product: { key: string; name: string };
  prices: Array<Record<string, unknown>>;
  /** Customers: external id, display name, monthly size (millions of input tokens per day). */
  customers: Array<[string, string, number]>;
  metrics: Metric[];
}

const MERCHANTS: DemoMerchant[] = [
  {
    name: 'DeepHarbor AI',
    email: 'finance@deepharbor.demo',
    company: '上海深港智能科技有限公司',
    country: 'CN',
    registration: '91310115MA1K4DEMO1',
    kyb: 'approved',
    currency: 'CNY',
    settlement: 'CNY',
    product: { key: 'llm-api', name: 'DeepHarbor LLM API' },
    prices: [
      { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002', dimensions: { model: 'harbor-max' } },
      { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00005' },
      {
        metric: 'tokens_output',
        model: 'graduated',
        tiers: [
          { upTo: '100000000', unitPriceMinor: '0.0008' },
          { upTo: null, unitPriceMinor: '0.0006' },
        ],
      },
    ],
    customers: [
      ['xiaoyu-tutor', '小鱼家教 Xiaoyu Tutor', 60],
      ['moonshot-notes', '月记 Moonshot Notes', 35],
      ['huayu-translate', '华语翻译 Huayu Translate', 22],
      ['qianfan-games', '千帆游戏 Qianfan Games', 12],
      ['atlas-health-cn', 'Atlas Health China', 6],
    ],
    metrics: ['tokens_input', 'tokens_output'],
  },
  {
    name: 'Lingxi Robotics',
    email: 'billing@lingxi-robotics.demo',
    company: '深圳灵犀机器人有限公司',
    country: 'CN',
    registration: '91440300MA5GDEMO2',
    kyb: 'approved',
    currency: 'CNY',
    settlement: 'CNY',
    product: { key: 'agents', name: 'Lingxi Agents' },
    prices: [
      { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '8' },
      { metric: 'image_generation', model: 'package', packageSize: '100', packagePriceMinor: '1500' },
    ],
    customers: [
      ['jinghua-retail', '京华零售 Jinghua Retail', 18],
      ['orbit-crm', 'Orbit CRM', 9],
      ['pixelforge', 'PixelForge Studio', 14],
    ],
    metrics: ['agent_run', 'image_generation'],
  },
  {
    name: 'Northwind Agents',
    email: 'ar@northwind-agents.demo',
    company: 'Northwind Agents Pte Ltd',
    country: 'SG',
    registration: '202401234N',
    kyb: 'approved',
    currency: 'USD',
    settlement: 'USDC',
    product: { key: 'copilot', name: 'Northwind Copilot API' },
    prices: [
      { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00025' },
      { metric: 'tokens_output', model: 'per_unit', unitPriceMinor: '0.001' },
      { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '2' },
    ],
    customers: [
      ['kite-legal', 'Kite Legal AI (Shanghai)', 30],
      ['bamboo-edu', '竹简教育 Bamboo Edu', 16],
      ['sunrise-fintech', 'Sunrise Fintech HK', 8],
      ['nova-search', 'Nova Search', 4],
    ],
    metrics: ['tokens_input', 'tokens_output', 'agent_run'],
  },
  {
    name: 'Yunmo Vision',
    email: 'ops@yunmo-vision.demo',
    company: '杭州云墨视觉科技有限公司',
    country: 'CN',
    registration: '91330106MA2HDEMO3',
    kyb: 'pending',
    currency: 'CNY',
    settlement: 'CNY',
    product: { key: 'vision', name: 'Yunmo Vision API' },
    prices: [{ metric: 'image_generation', model: 'per_unit', unitPriceMinor: '12' }],
    customers: [],
    metrics: [],
  },
];

/** USD→CNY over the last months, as a finance officer would have entered it (central parity). */
const USD_CNY = ['7.1284', '7.1362', '7.1455', '7.1519', '7.1387', '7.1246', '7.1190', '7.1133'];

function quantityFor(metric: Metric, size: number, day: number, rnd: () => number): bigint {
  const wave = 0.75 + 0.5 * rnd() + 0.15 * Math.sin(day / 4);
  switch (metric) {
    case 'tokens_input':
      return BigInt(Math.round(size * 1_000_000 * wave));
    case 'tokens_output':
      return BigInt(Math.round(size * 260_000 * wave));
    case 'agent_run':
      return BigInt(Math.max(1, Math.round(size * 45 * wave)));
    case 'image_generation':
      return BigInt(Math.max(1, Math.round(size * 30 * wave)));
  }
}

export async function runDemo(options: { dbPath: string; dataDir: string; bcryptCost?: number; now?: Date; log?: (line: string) => void }): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  fs.mkdirSync(options.dataDir, { recursive: true });
  const db = openDatabase(options.dbPath, { durable: false });
  const result: DemoResult = { seeded: false, dbPath: options.dbPath, merchants: 0, customers: 0, events: 0, invoices: 0, failed: 0 };
  try {
    await migrateToLatest(db);
    const ctx: CoreContext = createContext({ db, secrets: loadSecrets(options.dataDir), bcryptCost: options.bcryptCost });
    const already = await db.kysely.selectFrom('merchants').select('id').where('email', '=', MERCHANTS[0].email).executeTakeFirst();
    if (already) return result;

    const now = options.now ?? ctx.clock.now();
    const monthStart = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
    const rnd = random(20260601);

    const password = randomBytes(12).toString('base64url');
    const admin = await createStaff(ctx, { email: DEMO_ADMIN, role: 'admin', password }, null);
    result.login = { email: DEMO_ADMIN, password, totpSecret: admin.totpSecret, otpauthUri: admin.otpauthUri };
    log(`staff ${DEMO_ADMIN}`);

    // FX: one USD/CNY rate a month (the invoice locks the one in force at its period's end), USD/USDC at par.
    for (let i = 0; i < USD_CNY.length; i++) {
      const effectiveAt = new Date(monthStart(i - 7).getTime() + 9 * 3_600_000).toISOString();
      await setFxRate(ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: USD_CNY[i], effectiveAt, source: 'PBoC central parity' }), admin.staff.id);
    }
    await setFxRate(ctx, FxRateInput.parse({ from: 'USD', to: 'USDC', rate: '1', effectiveAt: monthStart(-8).toISOString(), source: 'Circle par' }), admin.staff.id);

    const ingest = usageIngestFor(ctx);
    for (const m of MERCHANTS) {
      const merchant = await signup(ctx, { name: m.name, email: m.email, password: randomBytes(12).toString('base64url') } as never);
      result.merchants++;
      await submitKyb(
        ctx,
        merchant.id,
        { companyName: m.company, registrationNumber: m.registration, country: m.country },
        (['companyRegistration', 'ownerId', 'bankProof'] as const).map((kind) => ({
          kind,
          originalName: `${kind}.pdf`,
          content: Buffer.concat([PDF, Buffer.from(`${m.company} ${kind}`)]),
        })),
      );
      if (m.kyb === 'approved') await decideKyb(ctx, merchant.id, admin.staff.id, { decision: 'approve' });
      if (m.customers.length === 0) continue;

      const scope = { merchantId: merchant.id, environment: 'live' as const };
      const product = await createProduct(ctx, scope, m.product as never);
      const card = await createRateCard(ctx, scope, product.id, { currency: m.currency, prices: m.prices } as never);
      await publishRateCard(ctx, scope, card.id);
      for (const [externalId, name, size] of m.customers) {
        await createCustomer(ctx, scope, { externalId, name } as never);
        await createContract(ctx, scope, {
          customerExternalId: externalId,
          rateCardId: card.id,
          billingCycle: 'monthly_calendar',
          startsAt: monthStart(-6).toISOString(),
          settlementCurrency: m.settlement,
        } as never);
        result.customers++;
        // Six ended months and the current one so far: a few events a day per metric, growing.
        const events: Array<Record<string, unknown>> = [];
        const from = monthStart(-6).getTime();
        const days = Math.floor((now.getTime() - from) / 86_400_000);
        for (let day = 0; day < days; day++) {
          const growth = 0.6 + (0.8 * day) / Math.max(1, days);
          for (const metric of m.metrics) {
            for (let k = 0; k < 2; k++) {
              const occurredAt = new Date(from + day * 86_400_000 + (3 + k * 9 + Math.floor(rnd() * 8)) * 3_600_000 + Math.floor(rnd() * 3_600_000));
              if (occurredAt.getTime() > now.getTime()) continue;
              const dimensions = metric === 'tokens_input' && m.name === 'DeepHarbor AI' ? { model: rnd() < 0.35 ? 'harbor-max' : 'harbor-lite' } : {};
              events.push({
                idempotencyKey: `demo-${externalId}-${metric}-${day}-${k}`,
                customerExternalId: externalId,
                metric,
                quantity: String(quantityFor(metric, (size * growth) / 2, day, rnd)),
                occurredAt: occurredAt.toISOString(),
                dimensions,
              });
            }
          }
        }
        for (let i = 0; i < events.length; i += 500) {
          const outcome = await ingest.ingest({ scope, body: Buffer.from(JSON.stringify({ events: events.slice(i, i + 500) })) });
          if (outcome.counts.rejected > 0) throw new Error(`demo usage for ${externalId} was refused: ${outcome.resultsJson.slice(0, 400)}`);
        }
        result.events += events.length;
      }
      log(`merchant ${m.name}: ${m.customers.length} customers`);
    }

    const run = await generateInvoices(ctx, { asOf: now });
    result.invoices = run.created.length;
    result.failed = run.failed.length;
    result.seeded = true;
    return result;
  } finally {
    await db.close();
  }
}

async function main() {
  const config = loadConfig();
  const started = Date.now();
  const result = await runDemo({ dbPath: config.dbPath, dataDir: config.dataDir, bcryptCost: config.bcryptCost, log: (l) => console.log(`[demo] ${l}`) });
  if (!result.seeded) {
    console.log(`The demo data is already in ${result.dbPath}; nothing was changed. Its staff sign-in was printed when it was seeded (${DEMO_ADMIN}).`);
    console.log('To start over, stop the server and move the database file (and its -wal/-shm files) away.');
    return;
  }
  const login = result.login!;
  console.log(
    [
      '',
      `Demo data in ${result.dbPath} (${((Date.now() - started) / 1000).toFixed(1)} s): ${result.merchants} merchants (one with KYB waiting), ${result.customers} customers, ${result.events.toLocaleString('en-US')} usage events, ${result.invoices} invoices${result.failed ? `, ${result.failed} failed` : ''}.`,
      '',
      'Sign in to the back office (npm start) as the demo admin:',
      `  email     ${login.email}`,
      `  password  ${login.password}`,
      `  TOTP key  ${login.totpSecret}   (add it to an authenticator app, or: npx buffmoney totp --secret ${login.totpSecret})`,
      `  otpauth   ${login.otpauthUri}`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
