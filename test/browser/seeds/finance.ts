import { createProduct } from '../../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../../core/catalog/rate-cards.js';
import { createContract } from '../../../core/contracts/contracts.js';
import { createCustomer } from '../../../core/customers/customers.js';
import { generateInvoices } from '../../../core/invoices/index.js';
import { signup } from '../../../core/merchants/accounts.js';
import { insertUsageRowForTest } from '../../../core/usage/testing.js';
import type { Seed } from './index.js';

/**
 * The finance screens' own merchant (test/browser/finance.spec.ts): Qingyun Intelligence, live,
 * priced in USD and settled in CNY, three ended months of usage for two customers, invoiced
 * here already, so the shared seed's invoice run (backoffice.spec.ts) still creates exactly its
 * own two invoices. Its contracts end where the current month begins: no new period can end
 * while the suite runs. One customer also used a metric no contract prices (unbilled usage).
 */
export const FINANCE_MERCHANT = 'Qingyun Intelligence';

export const seedFinance: Seed = async ({ ctx, db }) => {
  const now = new Date();
  const monthStart = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  const merchant = await signup(ctx, { name: FINANCE_MERCHANT, email: 'billing@qingyun.test', password: 'merchant password 3' } as never);
  const scope = { merchantId: merchant.id, environment: 'live' as const };
  const product = await createProduct(ctx, scope, { key: 'assistant', name: 'Assistant API' } as never);
  const card = await createRateCard(ctx, scope, product.id, {
    currency: 'USD',
    prices: [
      { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00025' },
      { metric: 'tokens_output', model: 'per_unit', unitPriceMinor: '0.001' },
      { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '12' },
    ],
  } as never);
  await publishRateCard(ctx, scope, card.id);
  let n = 0;
  for (const [customer, scale] of [
    ['cus-lumen-labs', 3n],
    ['cus-harbor-ai', 1n],
  ] as const) {
    await createCustomer(ctx, scope, { externalId: customer, name: customer } as never);
    const contract = await createContract(ctx, scope, {
      customerExternalId: customer,
      rateCardId: card.id,
      billingCycle: 'monthly_calendar',
      startsAt: monthStart(-3).toISOString(),
      endsAt: monthStart(0).toISOString(),
      settlementCurrency: 'CNY',
    } as never);
    for (const offset of [-3, -2, -1]) {
      const growth = BigInt(4 + offset); // 1, 2, 3: usage grows month by month
      const at = (day: number) => new Date(monthStart(offset).getTime() + day * 86_400_000).toISOString();
      const usage = (metric: 'tokens_input' | 'tokens_output' | 'agent_run' | 'image_generation', quantity: bigint, day: number) =>
        insertUsageRowForTest(db, { ...scope, customerId: contract.customerId, idempotencyKey: `fin-${++n}`, metric, quantity: String(quantity), occurredAt: at(day) });
      await usage('tokens_input', 41_000_000n * scale * growth, 3);
      await usage('tokens_output', 9_500_000n * scale * growth, 4);
      await usage('agent_run', 730n * scale * growth, 6);
      if (customer === 'cus-harbor-ai' && offset === -1) await usage('image_generation', 240n, 8);
    }
  }
  const run = await generateInvoices(ctx, { merchantId: merchant.id });
  if (run.created.length !== 6 || run.failed.length > 0) throw new Error(`finance seed: expected 6 invoices, got ${JSON.stringify(run)}`);
};
