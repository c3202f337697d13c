/**
 * The whole collection story for story.spec.ts: the real server (the merchant API, the hosted
 * checkout page at /pay, the sandbox WeChat Pay and Alipay peers, the channel callbacks) and the
 * back office web (the real loopback transport, the built renderer) over ONE fresh SQLite file and
 * one core context, so a refund staff make in the back office goes to the sandbox channel through
 * the same clients, and its notification comes back to the server's callback over HTTP.
 *
 * Seeded as a merchant would be: signup and a sandbox API key through the API, then a rate card,
 * a customer, a contract and usage in the month before last, and the invoice run. One finance
 * officer for the back office.
 *
 * Writes { apiUrl, backOfficeUrl, apiKey, merchantName, invoiceId, invoiceNumber, staff } to the
 * file named by the first argument, then runs until SIGTERM.
 * Usage: node --import tsx test/browser/serve-story.ts <info.json>
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { generateInvoices } from '../../core/invoices/index.js';
import { createStaff } from '../../core/staff/index.js';
import { insertUsageRowForTest } from '../../core/usage/testing.js';
import { startBackOfficeWeb } from '../../server/backoffice-web/app.js';
import { startServer } from '../../server/server.js';

const infoFile = process.argv[2];
if (!infoFile) throw new Error('usage: serve-story.ts <info.json>');
const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-story-'));

const server = await startServer({
  config: {
    port: 0,
    host: '127.0.0.1',
    dbPath: path.join(dir, 'buffmoney.db'),
    dataDir: dir,
    production: false,
    allowPrivateWebhooks: false,
    durable: false,
    bcryptCost: 4,
    invoiceScheduler: false,
    paymentsReconcile: false,
    limits: { loginPerMinute: 1_000, signupPerMinute: 1_000, channelCallbacksPerMinute: 10_000 },
  },
});
const { ctx } = server;

async function api(method: string, urlPath: string, body: unknown, auth: string): Promise<any> {
  const res = await fetch(`${server.url}/api/v1${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// The merchant signs up and takes a sandbox key, as the integration guide says.
const merchantName = 'Lumen AI 光年智能';
const signupRes = await fetch(`${server.url}/api/v1/merchants`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ name: merchantName, email: 'billing@lumen-ai.test', password: 'merchant password 1' }),
});
const signup = (await signupRes.json()) as { id: string; token: string };
const { apiKey } = await api('POST', '/merchants/me/generate-key', { environment: 'sandbox' }, signup.token);

// Usage in the month before last, priced in USD and collected in CNY.
const now = new Date();
const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1));
const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
await setFxRate(
  ctx,
  FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1234', effectiveAt: new Date(start.getTime() - 86_400_000).toISOString(), source: 'PBoC central parity' }),
  null,
);
const scope = { merchantId: signup.id, environment: 'sandbox' as const };
const product = await createProduct(ctx, scope, { key: 'agents', name: 'Agents API' } as never);
const card = await createRateCard(ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '25' }] } as never);
await publishRateCard(ctx, scope, card.id);
await createCustomer(ctx, scope, { externalId: 'cus-northwind', name: 'Northwind Research' } as never);
const contract = await createContract(ctx, scope, {
  customerExternalId: 'cus-northwind',
  rateCardId: card.id,
  billingCycle: 'monthly_calendar',
  startsAt: start.toISOString(),
  endsAt: end.toISOString(),
  settlementCurrency: 'USD',
} as never);
await insertUsageRowForTest(ctx.db, {
  ...scope,
  customerId: contract.customerId,
  idempotencyKey: 'story-1',
  metric: 'agent_run',
  quantity: '400',
  occurredAt: new Date(start.getTime() + 9 * 86_400_000).toISOString(),
  dimensions: '{}',
});
const report = await generateInvoices(ctx);
if (report.failed.length > 0 || report.created.length !== 1) throw new Error(`invoice run: ${JSON.stringify(report)}`);
const invoice = await api('GET', `/invoices/${report.created[0].invoiceId}`, undefined, apiKey);

const password = 'browser-suite correct horse';
const finance = await createStaff(ctx, { email: 'story.finance@buffmoney.test', role: 'finance', password }, null);

const web = await startBackOfficeWeb({
  ctx,
  staticDir: process.env.BUFFMONEY_RENDERER_OUT ?? path.join(root, 'dist/renderer'),
  signInPerMinute: 1_000,
  onUnexpectedError: (e) => console.error(e),
});

fs.writeFileSync(
  infoFile,
  JSON.stringify({
    apiUrl: server.url,
    backOfficeUrl: web.url,
    apiKey,
    merchantName,
    invoiceId: invoice.id,
    invoiceNumber: invoice.invoiceNumber,
    collectionAmountMinor: invoice.collectionAmountMinor,
    staff: { finance: { email: 'story.finance@buffmoney.test', password, totpSecret: finance.totpSecret } },
  }),
);

const stop = async () => {
  await web.close();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
