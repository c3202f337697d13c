import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProduct } from '../catalog/products.js';
import { createRateCard, publishRateCard } from '../catalog/rate-cards.js';
import type { CoreContext, ManualClock } from '../context/index.js';
import { createContract, endContract } from '../contracts/contracts.js';
import { createCustomer } from '../customers/customers.js';
import { FxRateInput, setFxRate } from '../fx/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { createUsageIngest } from '../usage/ingest.js';
import { generateInvoices } from './index.js';

/** Which contract bills an event: one per metric at any instant, and an invoiced period is closed. */
let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;
const scope = { merchantId: 'mer_route', environment: 'sandbox' as const };
let n = 0;

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, scope.merchantId);
  await createCustomer(ctx, scope, { externalId: 'u1', name: 'U1' } as never);
});
afterEach(async () => t.close());

async function card(metrics: string[]) {
  const product = await createProduct(ctx, scope, { key: `p${++n}`, name: 'P' } as never);
  const c = await createRateCard(ctx, scope, product.id, { currency: 'CNY', prices: metrics.map((metric) => ({ metric, model: 'per_unit', unitPriceMinor: '1' })) } as never);
  await publishRateCard(ctx, scope, c.id);
  return c.id;
}

const contract = (rateCardId: string, startsAt: string, endsAt?: string) =>
  createContract(ctx, scope, { customerExternalId: 'u1', rateCardId, billingCycle: 'monthly_calendar', startsAt, endsAt } as never);

describe('one contract per metric at any instant', () => {
  it('refuses a second contract (another product) pricing a metric the first prices at the same time', async () => {
    const chat = await card(['tokens_input', 'tokens_output']);
    const agents = await card(['agent_run', 'tokens_output']);
    const images = await card(['image_generation']);
    const first = await contract(chat, '2026-05-01T00:00:00Z', '2026-07-01T00:00:00Z');
    await expect(contract(agents, '2026-06-15T00:00:00Z')).rejects.toMatchObject({
      code: 'contract_metric_overlap',
      details: { contractId: first.id, metrics: ['tokens_output'] },
    });
    // Another metric, or the same metric after the first ends, is fine.
    await contract(images, '2026-05-01T00:00:00Z');
    const later = await contract(agents, '2026-07-01T00:00:00Z');
    // Moving the first contract's end into the later one is refused too.
    await expect(endContract(ctx, scope, first.id, { endsAt: '2026-08-01T00:00:00Z' } as never)).rejects.toMatchObject({
      code: 'contract_metric_overlap',
      details: { contractId: later.id },
    });
  });
});

describe('a late event after invoicing', () => {
  it('is refused with period_closed; events of the next period are accepted', async () => {
    await setFxRate(ctx, FxRateInput.parse({ from: 'CNY', to: 'USD', rate: '0.14', effectiveAt: '2026-01-01T00:00:00Z' }), null);
    await contract(await card(['agent_run']), '2026-05-01T00:00:00Z');
    const ingest = createUsageIngest(ctx);
    const send = (key: string, occurredAt: string) =>
      ingest.ingest({
        scope,
        body: Buffer.from(JSON.stringify({ events: [{ customerExternalId: 'u1', idempotencyKey: key, metric: 'agent_run', quantity: '7', occurredAt }] })),
      });
    clock.set('2026-05-20T00:00:00Z');
    expect((await send('before', '2026-05-19T00:00:00Z')).counts.accepted).toBe(1);
    clock.set('2026-06-01T02:00:00Z');
    const report = await generateInvoices(ctx);
    expect(report.created).toHaveLength(1);
    const late = await send('late', '2026-05-31T23:00:00Z');
    expect(late.kind).toBe('all_rejected');
    expect(JSON.parse(late.resultsJson)).toMatchObject([{ idempotencyKey: 'late', status: 'rejected', reason: 'period_closed' }]);
    expect((await send('june', '2026-06-01T01:00:00Z')).counts.accepted).toBe(1);
    const invoice = await ctx.db.kysely.selectFrom('invoices').select('subtotal_minor').executeTakeFirstOrThrow();
    expect(invoice.subtotal_minor).toBe('7');
  });
});
