import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { applyChannelNotification, createCheckout } from '../../core/payments/index.js';
import { fakeChannels, finalizedInvoices } from '../../core/payments/testing.js';
import { approveSettlementBatch, closeSettlementBatch, completeSettlement } from '../../core/settlement/index.js';
import { setBankAccountForTest } from '../../core/settlement/testing.js';
import { createStaff } from '../../core/staff/index.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type Caller, withKey } from './catalog.fixtures.js';

describe('GET /api/v1/payouts', () => {
  let server: TestServer;
  let api: Caller;
  let other: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  const invoiceIds: string[] = [];
  let batches: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    other = withKey(server, (await signupMerchant(server)).sandboxKey);
    // Core writes at chosen instants, on the server's database.
    const clock = new ManualClock('2026-05-01T00:00:00.000Z');
    const ctx = { ...server.ctx, clock };
    const staff = async (role: 'admin' | 'finance', email: string) => ({ id: (await createStaff(ctx, { email, role, password: 'a long staff password' }, null)).staff.id, role });
    const [closer, a1, a2] = [await staff('finance', 'closer@bm.test'), await staff('admin', 'a1@bm.test'), await staff('admin', 'a2@bm.test')];
    await setBankAccountForTest(
      ctx,
      merchant.id,
      { holderName: 'Merchant Co', accountNumber: '12345678', bankName: 'DBS', swiftBic: 'DBSSSGSG', currency: 'USD' },
      { changedAt: '2026-01-01T00:00:00.000Z' },
    );
    const fake = fakeChannels();
    // Two May invoices, one paid in June and one in July, each settled once its month is over.
    for (const [i, month] of ['06', '07'].entries()) {
      const [invoiceId] = await finalizedInvoices(ctx, clock, [{ merchantId: merchant.id, environment: 'sandbox', customer: `c${i}`, settlementCurrency: 'USD' }]);
      invoiceIds.push(invoiceId);
      const order = await createCheckout(ctx, fake.registry, {
        merchantId: merchant.id,
        environment: 'sandbox',
        invoiceId,
        channel: 'alipay',
        notifyUrl: (c) => `https://pay.example/${c}`,
        hostedUrl: (t) => `https://pay.example/checkout/${t}`,
      });
      const row = await ctx.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', order.paymentOrderId).executeTakeFirstOrThrow();
      await applyChannelNotification(ctx, fake.alipay.pay(row.out_trade_no, { at: `2026-${month}-15T00:00:00.000Z` }), { environment: 'sandbox' });
      clock.set(`2026-${month === '06' ? '07' : '08'}-01T09:00:00.000Z`);
      await setFxRate(ctx, FxRateInput.parse({ from: 'CNY', to: 'USD', rate: '0.14', effectiveAt: '2026-01-01T00:00:00Z' }), null);
      const batch = await closeSettlementBatch(ctx, closer, { environment: 'sandbox', month: `2026-${month}`, currency: 'USD' });
      await approveSettlementBatch(ctx, a1, batch.id);
      await approveSettlementBatch(ctx, a2, batch.id);
      batches.push(batch.id);
    }
    await completeSettlement(ctx, a1, batches[0], { reference: 'DBS-0701' });
    batches = batches.reverse();
  });
  afterAll(async () => server.stop());

  it('lists the merchant’s payouts newest first, each with the invoices it covered', async () => {
    const page = await api('GET', '/payouts');
    expect(page.status, page.text).toBe(200);
    expect(page.body.nextCursor).toBeNull();
    expect(page.body.data.map((p: any) => [p.batchId, p.month, p.status, p.currency, p.amountMinor, p.completionReference, p.invoices.map((i: any) => i.invoiceId)])).toEqual([
      [batches[0], '2026-07', 'processing', 'USD', '9920', null, [invoiceIds[1]]],
      [batches[1], '2026-06', 'paid', 'USD', '9920', 'DBS-0701', [invoiceIds[0]]],
    ]);
    expect(page.body.data[1]).toMatchObject({
      grossMinor: '10000',
      feesMinor: '80',
      refundsMinor: '0',
      destination: { kind: 'bank', accountNumberMasked: '••••5678', bankName: 'DBS' },
    });
    expect(JSON.stringify(page.body)).not.toContain('12345678');
  });

  it('paginates with a cursor, and shows nothing to another merchant', async () => {
    const first = await api('GET', '/payouts?limit=1');
    expect(first.body.data).toHaveLength(1);
    const rest = await api('GET', `/payouts?limit=1&cursor=${first.body.nextCursor}`);
    expect(rest.body).toMatchObject({ nextCursor: null });
    expect([...first.body.data, ...rest.body.data].map((p: any) => p.batchId)).toEqual(batches);
    expect((await api('GET', '/payouts?cursor=bogus')).body.error).toBe('invalid_cursor');
    expect((await other('GET', '/payouts')).body).toEqual({ data: [], nextCursor: null });
  });

  it('is in the OpenAPI document with the invoice:read scope', async () => {
    const doc = (await server.call('GET', '/api/openapi')).body;
    expect(doc.paths['/api/v1/payouts'].get.operationId).toBe('listPayouts');
    expect(JSON.stringify(doc.paths['/api/v1/payouts'].get)).toContain('invoice:read');
  });
});
