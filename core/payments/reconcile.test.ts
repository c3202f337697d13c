import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, HOUR, type ManualClock, MINUTE } from '../context/index.js';
import { listEvents } from '../events/index.js';
import { loadInvoiceView, voidInvoice } from '../invoices/index.js';
import { verifyLedger } from '../ledger/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { applyChannelNotification, createCheckout, createRefund, listRefunds, reconcilePayments } from './index.js';
import type { ChannelRegistry } from './shared.js';
import { type FakeChannel, fakeChannels, finalizedInvoices } from './testing.js';

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;
let wechat: FakeChannel;
let alipay: FakeChannel;
let channels: ChannelRegistry;
const scope = { merchantId: 'mer_pay', environment: 'live' as const };
const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (token: string) => `https://pay.example/checkout/${token}` };
const refundNotifyUrl = (c: string) => `https://pay.example/api/webhooks/${c}/refunds`;

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, scope.merchantId);
  ({ wechat, alipay, registry: channels } = fakeChannels());
});

afterEach(async () => t.close());

async function openOrder(invoiceId: string, channel: 'wechat' | 'alipay' = 'wechat') {
  const view = await createCheckout(ctx, channels, { ...scope, invoiceId, channel, ...urls });
  return ctx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', view.paymentOrderId).executeTakeFirstOrThrow();
}
const status = async (orderId: string) => (await ctx.db.kysely.selectFrom('payment_orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow()).status;

describe('reconciliation', () => {
  it('applies a paid order whose notification never came, closes expired ones, ends abandoned creating ones, reports each', async () => {
    const [paidSilently, abandoned, stuck, fresh] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
      { ...scope, customer: 'c3' },
      { ...scope, customer: 'c4' },
    ]);
    const o1 = await openOrder(paidSilently);
    const o2 = await openOrder(abandoned);
    wechat.failNext('createOrder', 'before');
    await expect(openOrder(stuck)).rejects.toMatchObject({ code: 'channel_unavailable' });
    const o3 = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('invoice_id', '=', stuck).executeTakeFirstOrThrow();
    wechat.pay(o1.out_trade_no, { transactionId: 'tx-silent' }); // the notification is lost

    // Nothing is due yet (the creating one is under a minute old).
    expect(await reconcilePayments(ctx, channels)).toMatchObject({ checked: 0, differences: [], errors: [] });

    clock.advance(2 * HOUR + 6 * MINUTE);
    const o4 = await openOrder(fresh); // open and not expired: not touched
    const report = await reconcilePayments(ctx, channels);
    expect(report.errors).toEqual([]);
    expect(report.checked).toBe(3);
    const byId = Object.fromEntries(report.differences.map((d) => [d.id, d]));
    expect(byId[o1.id]).toMatchObject({ subject: 'order', found: 'expired_open', channelState: 'paid', did: 'payment_applied', invoiceId: paidSilently });
    expect(byId[o2.id]).toMatchObject({ found: 'expired_open', channelState: 'open', did: 'expired' });
    expect(byId[o3.id]).toMatchObject({ found: 'stuck_creating', channelState: 'not_found', did: 'failed' });
    expect(byId[o4.id]).toBeUndefined();

    expect((await loadInvoiceView(ctx, scope, paidSilently)).status).toBe('paid');
    expect(await status(o1.id)).toBe('paid');
    expect(await status(o2.id)).toBe('expired');
    expect(wechat.orders.get(o2.out_trade_no)!.state).toBe('closed');
    expect(await status(o3.id)).toBe('failed');
    expect(await status(o4.id)).toBe('open');
    expect((await listEvents(ctx, { type: 'invoice.paid', limit: 10 })).length).toBe(1);
    // The late notification is now a duplicate.
    expect(await applyChannelNotification(ctx, { ...wechat.pay(o1.out_trade_no, { transactionId: 'tx-silent' }) })).toMatchObject({ outcome: 'duplicate' });
    expect((await verifyLedger(ctx)).ok).toBe(true);

    // A second run finds nothing left to do.
    expect((await reconcilePayments(ctx, channels)).differences).toEqual([]);
  });

  it('closes open orders of invoices no longer payable (paid through the other channel, voided)', async () => {
    const [paid, voided] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
    ]);
    const wx = await openOrder(paid, 'wechat');
    const ali = await openOrder(paid, 'alipay');
    await applyChannelNotification(ctx, wechat.pay(wx.out_trade_no));
    const v = await openOrder(voided);
    await voidInvoice(ctx, voided, 'error', null);
    const report = await reconcilePayments(ctx, channels);
    expect(report.differences.map((d) => [d.id, d.found, d.did])).toEqual(
      expect.arrayContaining([
        [ali.id, 'superseded_open', 'closed'],
        [v.id, 'superseded_open', 'closed'],
      ]),
    );
    expect(alipay.orders.get(ali.out_trade_no)!.state).toBe('closed');
    expect(await status(ali.id)).toBe('closed');
    expect(await status(v.id)).toBe('closed');
  });

  it('settles pending refunds by query and asks again for requested ones left by a failure', async () => {
    const [a, b] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
    ]);
    for (const inv of [a, b]) await applyChannelNotification(ctx, wechat.pay((await openOrder(inv)).out_trade_no));
    wechat.refundMode = 'pending';
    const pending = await createRefund(ctx, channels, { invoiceId: a, amountMinor: '71234', reason: 'r', actor: 'stf', notifyUrl: refundNotifyUrl });
    expect(pending.status).toBe('pending');
    wechat.refundMode = 'succeeded';
    wechat.failNext('refund', 'before');
    await expect(createRefund(ctx, channels, { invoiceId: b, amountMinor: '100', reason: 'r', actor: 'stf', notifyUrl: refundNotifyUrl })).rejects.toMatchObject({
      code: 'channel_unavailable',
    });
    const [requested] = await listRefunds(ctx, b);

    // Still pending at the channel; the requested one is not a minute old: nothing to report.
    expect((await reconcilePayments(ctx, channels, { refundNotifyUrl })).differences).toEqual([]);

    wechat.settleRefund(pending.outRefundNo);
    clock.advance(2 * MINUTE);
    const report = await reconcilePayments(ctx, channels, { refundNotifyUrl });
    expect(report.errors).toEqual([]);
    const byId = Object.fromEntries(report.differences.map((d) => [d.id, d]));
    expect(byId[pending.id]).toMatchObject({ subject: 'refund', found: 'refund_pending', channelState: 'succeeded', did: 'refund succeeded' });
    expect(byId[requested.id]).toMatchObject({ found: 'refund_requested', did: 'asked again: succeeded' });
    expect((await loadInvoiceView(ctx, scope, a)).status).toBe('refunded');
    expect((await listRefunds(ctx, b))[0]).toMatchObject({ status: 'succeeded', outRefundNo: requested.outRefundNo });
    expect(wechat.callsOf('refund').filter((n) => n === requested.outRefundNo)).toHaveLength(2);
    expect((await verifyLedger(ctx)).ok).toBe(true);
  });

  it('a paid order whose payment cannot be applied becomes an exception once, and is not asked about again', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const o = await openOrder(inv);
    wechat.pay(o.out_trade_no, { amountFen: 1n, transactionId: 'tx-odd' });
    clock.advance(3 * HOUR);
    const report = await reconcilePayments(ctx, channels);
    expect(report.differences).toEqual([expect.objectContaining({ id: o.id, channelState: 'paid', did: 'payment_exception', exceptionId: expect.stringMatching(/^pex_/) })]);
    expect(await status(o.id)).toBe('expired');
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('payment_pending');
    expect((await reconcilePayments(ctx, channels)).differences).toEqual([]);
    // The next checkout starts a new order.
    expect((await openOrder(inv)).id).not.toBe(o.id);
  });

  it('a channel failure on one order is reported and the run goes on', async () => {
    const [a, b] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
    ]);
    const o1 = await openOrder(a);
    const o2 = await openOrder(b);
    clock.advance(3 * HOUR);
    wechat.failNext('queryOrder', 'before');
    const report = await reconcilePayments(ctx, channels);
    expect(report.errors).toEqual([{ subject: 'order', id: o1.id, code: 'channel_unavailable', message: expect.any(String) }]);
    expect(report.differences.map((d) => d.id)).toEqual([o2.id]);
    expect(await status(o1.id)).toBe('open');
  });
});
