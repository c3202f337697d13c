import { createProduct } from '../../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../../core/catalog/rate-cards.js';
import { createContract } from '../../../core/contracts/contracts.js';
import { createCustomer } from '../../../core/customers/customers.js';
import { generateInvoices } from '../../../core/invoices/index.js';
import { signup } from '../../../core/merchants/accounts.js';
import { applyChannelNotification, createCheckout, installPaymentChannels, installRefundNotifyUrl, installSandboxPayer } from '../../../core/payments/index.js';
import { fakeChannels } from '../../../core/payments/testing.js';
import { createStaff } from '../../../core/staff/index.js';
import { insertUsageRowForTest } from '../../../core/usage/testing.js';
import type { Seed } from './index.js';

/**
 * The Payments screen's own world (test/browser/payments.spec.ts): an in-memory fake of WeChat
 * Pay / Alipay installed as the suite's channel registry (core/payments/testing.ts), and
 * Sunbird Robotics with one ended month of usage invoiced in live and in sandbox — the live invoice
 * paid through WeChat Pay, one sandbox invoice with an open order, another whose order expired an
 * hour ago and is still open (a difference for reconciliation) — plus one payment exception (a
 * payment for an order nobody made). A finance officer of its own, so its step-ups race no one.
 */
export const PAYMENTS_MERCHANT = 'Sunbird Robotics';

export const seedPayments: Seed = async ({ ctx, db, staff, password }) => {
  const fake = fakeChannels();
  installPaymentChannels(ctx, fake.registry);
  installRefundNotifyUrl(ctx, (channel) => `http://127.0.0.1/api/v1/callbacks/${channel}/refunds`);
  installSandboxPayer(ctx, async (order) => {
    const channel = order.channel === 'wechat' ? fake.wechat : fake.alipay;
    await applyChannelNotification(ctx, channel.pay(order.outTradeNo, { at: new Date().toISOString() }), { environment: 'sandbox' });
    return { callbackStatus: 204 };
  });

  const email = 'payments.finance@buffmoney.test';
  const created = await createStaff(ctx, { email, role: 'finance', password }, null);
  staff.payments = { email, password, totpSecret: created.totpSecret };

  const now = new Date();
  const monthStart = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  const merchant = await signup(ctx, { name: PAYMENTS_MERCHANT, email: 'billing@sunbird.test', password: 'merchant password 5' } as never);
  let n = 0;
  for (const environment of ['live', 'sandbox'] as const) {
    const scope = { merchantId: merchant.id, environment };
    const product = await createProduct(ctx, scope, { key: 'fleet', name: 'Fleet API' } as never);
    const card = await createRateCard(ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '12' }] } as never);
    await publishRateCard(ctx, scope, card.id);
    for (const customer of environment === 'live' ? ['cus-aurora-logistics'] : ['cus-aurora-logistics', 'cus-kite-delivery']) {
      await createCustomer(ctx, scope, { externalId: customer, name: customer } as never);
      const contract = await createContract(ctx, scope, {
        customerExternalId: customer,
        rateCardId: card.id,
        billingCycle: 'monthly_calendar',
        startsAt: monthStart(-2).toISOString(),
        endsAt: monthStart(-1).toISOString(),
        settlementCurrency: 'CNY',
      } as never);
      await insertUsageRowForTest(db, {
        ...scope,
        customerId: contract.customerId,
        idempotencyKey: `pay-${++n}`,
        metric: 'agent_run',
        quantity: customer === 'cus-kite-delivery' ? '250' : '1000',
        occurredAt: new Date(monthStart(-2).getTime() + 5 * 86_400_000).toISOString(),
      });
    }
  }
  const run = await generateInvoices(ctx, { merchantId: merchant.id });
  if (run.created.length !== 3 || run.failed.length > 0) throw new Error(`payments seed: expected 3 invoices, got ${JSON.stringify(run)}`);
  const urls = { notifyUrl: (c: string) => `http://127.0.0.1/api/v1/callbacks/${c}`, hostedUrl: (token: string) => `http://127.0.0.1/pay/${token}` };
  for (const invoice of run.created) {
    const { environment, customer } = await db.kysely
      .selectFrom('invoices')
      .innerJoin('customers', 'customers.id', 'invoices.customer_id')
      .select(['invoices.environment', 'customers.external_id as customer'])
      .where('invoices.id', '=', invoice.invoiceId)
      .executeTakeFirstOrThrow();
    const order = await createCheckout(ctx, fake.registry, { merchantId: merchant.id, environment, invoiceId: invoice.invoiceId, channel: 'wechat', ...urls });
    if (environment === 'live') {
      const row = await db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
      await applyChannelNotification(ctx, fake.wechat.pay(row.out_trade_no, { at: new Date().toISOString() }));
    } else if (customer === 'cus-kite-delivery') {
      // Abandoned by its payer: expired an hour ago, still open — reconciliation's to end.
      await db.kysely
        .updateTable('payment_orders')
        .set({ expires_at: new Date(Date.now() - 3_600_000).toISOString() })
        .where('id', '=', order.paymentOrderId)
        .execute();
    }
  }
  // A payment for an order nobody made: finance's to resolve.
  await applyChannelNotification(ctx, fake.wechat.pay('BM20260000UNKNOWN', { amountFen: 8800n, transactionId: '4200000999202600001234' }));
};
