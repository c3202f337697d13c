import { Migrator } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import type { CoreContext, ManualClock } from '../context/index.js';
import { isUniqueViolation } from '../db/errors.js';
import { migrateToLatest } from '../db/migrate.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { finalizedInvoices } from './testing.js';
import type { PaymentOrdersTable } from './tables.js';

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, 'mer_pay');
});

afterEach(async () => t.close());

const order = (invoiceId: string, n: number, status: PaymentOrdersTable['status']): PaymentOrdersTable => ({
  id: `po_${n}`,
  merchant_id: 'mer_pay',
  environment: 'live',
  invoice_id: invoiceId,
  channel: 'wechat',
  out_trade_no: `bm_${n}`,
  amount_minor: '71234',
  currency: 'CNY',
  status,
  code_url: null,
  checkout_token: `tok_${n}`,
  expires_at: '2026-06-02T02:00:00.000Z',
  transaction_id: null,
  paid_at: null,
  created_at: '2026-06-02T00:00:00.000Z',
  updated_at: '2026-06-02T00:00:00.000Z',
});

const refused = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isUniqueViolation(e), String(e)).toBe(true);
};

describe('migration 0016 (payments)', () => {
  it('the database itself keeps one live order per invoice and channel, and one payment per channel transaction', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ merchantId: 'mer_pay', customer: 'c1' }]);
    const k = ctx.db.kysely;
    await k
      .insertInto('payment_orders')
      .values(order(inv, 1, 'open'))
      .execute();
    await refused(
      k
        .insertInto('payment_orders')
        .values(order(inv, 2, 'creating'))
        .execute(),
    );
    await k
      .insertInto('payment_orders')
      .values(order(inv, 3, 'expired'))
      .execute();
    await k
      .insertInto('payment_orders')
      .values(order(inv, 4, 'expired'))
      .execute();
    await k
      .insertInto('payment_orders')
      .values({ ...order(inv, 5, 'open'), channel: 'alipay' })
      .execute();
    await refused(
      k
        .insertInto('payment_orders')
        .values({ ...order(inv, 6, 'expired'), out_trade_no: 'bm_1' })
        .execute(),
    );

    const payment = {
      id: 'pay_1',
      order_id: 'po_1',
      invoice_id: inv,
      merchant_id: 'mer_pay',
      environment: 'live' as const,
      channel: 'wechat' as const,
      transaction_id: '4200',
      amount_minor: '71234',
      currency: 'CNY',
      paid_at: '2026-06-02T00:05:00.000Z',
      ledger_tx_id: null,
      created_at: '2026-06-02T00:05:00.000Z',
    };
    await k.insertInto('payments').values(payment).execute();
    await refused(
      k
        .insertInto('payments')
        .values({ ...payment, id: 'pay_2', order_id: 'po_3' })
        .execute(),
    );
    // The same transaction id on the other channel is another payment.
    await k
      .insertInto('payments')
      .values({ ...payment, id: 'pay_3', order_id: 'po_5', channel: 'alipay' })
      .execute();
    const back = await k.selectFrom('payments').selectAll().where('id', '=', 'pay_1').executeTakeFirstOrThrow();
    expect(back).toEqual(payment);
  });

  it('migrates down and up again', async () => {
    const migrator = new Migrator({ db: ctx.db.kysely, provider: { getMigrations: async () => migrations } });
    const down = await migrator.migrateTo('0015_timestamptz');
    expect(down.error).toBeUndefined();
    expect(down.results).toContainEqual(expect.objectContaining({ migrationName: '0016_payments', direction: 'Down', status: 'Success' }));
    expect(await migrateToLatest(ctx.db)).toContain('0016_payments');
  });
});
