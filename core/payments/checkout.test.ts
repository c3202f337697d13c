import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOUR, type CoreContext, type ManualClock } from '../context/index.js';
import { loadInvoiceView, voidInvoice } from '../invoices/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { createCheckout, findCheckoutByToken, loadPaymentOrder } from './index.js';
import { type FakeChannel, fakeChannels, finalizedInvoices } from './testing.js';
import { applyChannelNotification } from './notifications.js';
import type { ChannelRegistry } from './shared.js';

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;
let wechat: FakeChannel;
let alipay: FakeChannel;
let channels: ChannelRegistry;
const scope = { merchantId: 'mer_pay', environment: 'live' as const };
const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (token: string) => `https://pay.example/checkout/${token}` };

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, scope.merchantId);
  await insertTestMerchant(ctx, 'mer_other');
  ({ wechat, alipay, registry: channels } = fakeChannels());
});

afterEach(async () => t.close());

const checkout = (invoiceId: string, channel: 'wechat' | 'alipay' = 'wechat', merchantId = scope.merchantId) =>
  createCheckout(ctx, channels, { ...scope, merchantId, invoiceId, channel, ...urls });

const orderRow = (id: string) => ctx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('checkout', () => {
  it('creates an order for the collection amount in CNY, moves the invoice to payment_pending, and reuses the open order', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const first = await checkout(inv);
    const order = await orderRow(first.paymentOrderId);
    expect(first).toMatchObject({
      paymentOrderId: expect.stringMatching(/^po_/),
      invoiceId: inv,
      channel: 'wechat',
      status: 'open',
      amountMinor: '71234',
      currency: 'CNY',
      expiresAt: '2026-06-02T02:00:00.000Z',
      checkout: { codeUrl: `weixin://wxpay/bizpayurl?pr=${order.out_trade_no}`, url: `https://pay.example/checkout/${order.checkout_token}` },
    });
    expect(first.checkout.qr).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(first.checkout.qr!.split(',')[1], 'base64').toString()).toContain('<svg');
    expect(order.checkout_token.length).toBeGreaterThanOrEqual(43);
    expect(order.out_trade_no).toMatch(/^[A-Za-z0-9_-]{6,32}$/);
    expect(wechat.orders.get(order.out_trade_no)!.input).toMatchObject({
      amountFen: 71234n,
      description: 'mer_pay invoice BM-2026-000001',
      expiresAt: '2026-06-02T02:00:00.000Z',
      notifyUrl: 'https://pay.example/api/webhooks/wechat',
    });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('payment_pending');

    clock.advance(HOUR);
    const again = await checkout(inv);
    expect(again).toEqual(first);
    expect(wechat.callsOf('createOrder')).toHaveLength(1);

    // The hosted page finds it by its token; the API by id, for its own merchant only.
    expect(await findCheckoutByToken(ctx, order.checkout_token, urls.hostedUrl)).toEqual({ ...first, invoiceNumber: 'BM-2026-000001', merchantName: 'mer_pay' });
    expect(await findCheckoutByToken(ctx, 'nope', urls.hostedUrl)).toBeNull();
    expect(await loadPaymentOrder(ctx, scope, first.paymentOrderId, urls.hostedUrl)).toEqual(first);
    await expect(loadPaymentOrder(ctx, { merchantId: 'mer_other', environment: 'live' }, first.paymentOrderId, urls.hostedUrl)).rejects.toMatchObject({
      code: 'payment_order_not_found',
    });

    // The other channel gets its own order.
    const ali = await checkout(inv, 'alipay');
    expect(ali.paymentOrderId).not.toBe(first.paymentOrderId);
    expect(alipay.callsOf('createOrder')).toHaveLength(1);
  });

  it('an expired order is asked about, closed at the channel and replaced by one with a new out-trade number', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const first = await checkout(inv);
    const old = await orderRow(first.paymentOrderId);
    clock.advance(2 * HOUR + 1);
    const second = await checkout(inv);
    const fresh = await orderRow(second.paymentOrderId);
    expect(second.paymentOrderId).not.toBe(first.paymentOrderId);
    expect(fresh.out_trade_no).not.toBe(old.out_trade_no);
    expect((await orderRow(first.paymentOrderId)).status).toBe('expired');
    expect(wechat.callsOf('queryOrder')).toEqual([old.out_trade_no]);
    expect(wechat.callsOf('closeOrder')).toEqual([old.out_trade_no]);
    expect(wechat.orders.get(old.out_trade_no)!.state).toBe('closed');
    expect(second.expiresAt).toBe(new Date(clock.now().getTime() + 2 * HOUR).toISOString());
  });

  it('an expired order that was paid at the channel is applied, and the checkout answers invoice_already_paid', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const first = await checkout(inv);
    wechat.pay((await orderRow(first.paymentOrderId)).out_trade_no);
    clock.advance(3 * HOUR);
    await expect(checkout(inv)).rejects.toMatchObject({ code: 'invoice_already_paid', kind: 'conflict' });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('paid');
    expect(wechat.callsOf('closeOrder')).toEqual([]);
  });

  it('answers 409 for paid, void and refunded invoices, 404 for unknown and other merchants', async () => {
    const [paid, voided, refunded, other] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
      { ...scope, customer: 'c3' },
      { merchantId: 'mer_other', customer: 'c4' },
    ]);
    const o = await checkout(paid);
    await applyChannelNotification(ctx, wechat.pay((await orderRow(o.paymentOrderId)).out_trade_no));
    await expect(checkout(paid)).rejects.toMatchObject({ code: 'invoice_already_paid', kind: 'conflict' });
    await expect(checkout(paid, 'alipay')).rejects.toMatchObject({ code: 'invoice_already_paid' });

    await voidInvoice(ctx, voided, 'error', null);
    await expect(checkout(voided)).rejects.toMatchObject({ code: 'invoice_void', kind: 'conflict' });

    await ctx.db.kysely.updateTable('invoices').set({ status: 'refunded' }).where('id', '=', refunded).execute();
    await expect(checkout(refunded)).rejects.toMatchObject({ code: 'invoice_refunded', kind: 'conflict' });
    await ctx.db.kysely.updateTable('invoices').set({ status: 'draft' }).where('id', '=', refunded).execute();
    await expect(checkout(refunded)).rejects.toMatchObject({ code: 'invoice_not_payable', kind: 'conflict' });

    await expect(checkout(other)).rejects.toMatchObject({ code: 'invoice_not_found', kind: 'not_found' });
    await expect(createCheckout(ctx, channels, { merchantId: 'mer_other', environment: 'sandbox', invoiceId: other, channel: 'wechat', ...urls })).rejects.toMatchObject({
      code: 'invoice_not_found',
    });
    await expect(checkout('inv_01unknown')).rejects.toMatchObject({ code: 'invoice_not_found' });
    await expect(checkout(paid, 'paypal' as never)).rejects.toMatchObject({ code: 'channel_invalid', kind: 'invalid_input' });
    expect(await ctx.db.kysely.selectFrom('payment_orders').select('id').where('invoice_id', 'in', [voided, refunded, other]).execute()).toEqual([]);
  });

  it('a crash between creating and open: the retry calls the channel with the same out-trade number', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    // The channel created the order but the answer was lost.
    wechat.failNext('createOrder', 'after');
    await expect(checkout(inv)).rejects.toMatchObject({ code: 'channel_unavailable', kind: 'unavailable', details: { channel: 'wechat', retryable: true } });
    const [stuck] = await ctx.db.kysely.selectFrom('payment_orders').selectAll().execute();
    expect(stuck).toMatchObject({ status: 'creating', code_url: null });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('payment_pending');

    // The request never arrived this time.
    wechat.failNext('createOrder', 'before');
    await expect(checkout(inv)).rejects.toMatchObject({ code: 'channel_unavailable' });

    const view = await checkout(inv);
    expect(view).toMatchObject({ paymentOrderId: stuck.id, status: 'open', checkout: { codeUrl: `weixin://wxpay/bizpayurl?pr=${stuck.out_trade_no}` } });
    expect(wechat.callsOf('createOrder')).toEqual([stuck.out_trade_no, stuck.out_trade_no, stuck.out_trade_no]);
    expect(wechat.orders.size).toBe(1);
  });

  it('a refusal the channel will repeat ends the attempt; the next checkout makes a new order', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    wechat.failNext('createOrder', 'before', false);
    await expect(checkout(inv)).rejects.toMatchObject({ code: 'channel_unavailable', details: { retryable: false } });
    const view = await checkout(inv);
    const orders = await ctx.db.kysely.selectFrom('payment_orders').select(['id', 'status', 'out_trade_no']).orderBy('id').execute();
    expect(orders.map((o) => o.status)).toEqual(['failed', 'open']);
    expect(view.paymentOrderId).toBe(orders[1].id);
    expect(new Set(orders.map((o) => o.out_trade_no)).size).toBe(2);
  });

  it('concurrent checkouts of one invoice and channel share one order', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const views = await Promise.all(Array.from({ length: 10 }, () => checkout(inv)));
    expect(new Set(views.map((v) => v.paymentOrderId)).size).toBe(1);
    expect(views.every((v) => v.status === 'open')).toBe(true);
    expect(await ctx.db.kysely.selectFrom('payment_orders').select('id').execute()).toHaveLength(1);
    expect(wechat.orders.size).toBe(1);
  });
});
