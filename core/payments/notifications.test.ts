import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, HOUR, type ManualClock } from '../context/index.js';
import { listEvents } from '../events/index.js';
import { loadInvoiceView, voidInvoice } from '../invoices/index.js';
import { ledgerBalances, verifyLedger } from '../ledger/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { applyChannelNotification, createCheckout, listPaymentExceptions, loadPaymentException, resolvePaymentException } from './index.js';
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

const count = async (table: 'payments' | 'payment_exceptions' | 'ledger_transactions') =>
  Number(
    (
      await ctx.db.kysely
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('payment notifications', () => {
  it('applies a payment in one transaction: order and invoice paid, the collection posted, invoice.paid announced', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const order = await openOrder(inv);
    const n = wechat.pay(order.out_trade_no, { transactionId: '4200000001', at: '2026-06-02T08:05:00+08:00' });
    const r = await applyChannelNotification(ctx, n);
    expect(r).toMatchObject({ outcome: 'applied', invoiceId: inv, paymentId: expect.stringMatching(/^pay_/) });

    const payment = await ctx.db.kysely.selectFrom('payments').selectAll().executeTakeFirstOrThrow();
    expect(payment).toMatchObject({
      order_id: order.id,
      invoice_id: inv,
      channel: 'wechat',
      transaction_id: '4200000001',
      amount_minor: '71234',
      paid_at: '2026-06-02T00:05:00.000Z',
    });
    expect(await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()).toMatchObject({
      status: 'paid',
      transaction_id: '4200000001',
    });
    const invoice = await ctx.db.kysely.selectFrom('invoices').select(['status', 'paid_at']).where('id', '=', inv).executeTakeFirstOrThrow();
    expect(invoice).toEqual({ status: 'paid', paid_at: '2026-06-02T00:05:00.000Z' });

    const tx = await ctx.db.kysely.selectFrom('ledger_transactions').selectAll().where('id', '=', payment.ledger_tx_id!).executeTakeFirstOrThrow();
    expect(tx).toMatchObject({ idempotency_key: `payment:${payment.id}:captured`, kind: 'payment.captured', cause_type: 'payment', cause_id: payment.id });
    const balances = Object.fromEntries((await ledgerBalances(ctx)).map((b) => [b.code, b.balanceMinor]));
    expect(balances).toMatchObject({ 'receivable:mer_pay:live:CNY': '0', 'channel_clearing:wechat:live:CNY': '71234' });
    expect((await verifyLedger(ctx)).ok).toBe(true);

    const events = await listEvents(ctx, { limit: 10 });
    expect(events.map((e) => e.type)).toEqual(['invoice.finalized', 'invoice.paid']);
    expect(events[1].data).toEqual(JSON.parse(JSON.stringify(await loadInvoiceView(ctx, scope, inv))));
    expect(events[1].data).toMatchObject({ status: 'paid' });
  });

  it('100 concurrent deliveries of one notification make one payment, one posting, one invoice.paid', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const order = await openOrder(inv);
    const n = wechat.pay(order.out_trade_no);
    const ledgerBefore = await count('ledger_transactions');
    const results = await Promise.all(Array.from({ length: 100 }, () => applyChannelNotification(ctx, n)));
    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(99);
    expect(new Set(results.map((r) => r.paymentId)).size).toBe(1);
    expect(await count('payments')).toBe(1);
    expect(await count('ledger_transactions')).toBe(ledgerBefore + 1);
    expect(await count('payment_exceptions')).toBe(0);
    expect((await listEvents(ctx, { type: 'invoice.paid', limit: 10 })).length).toBe(1);
    expect((await verifyLedger(ctx)).ok).toBe(true);
    // A redelivery later is a duplicate too.
    expect(await applyChannelNotification(ctx, n)).toMatchObject({ outcome: 'duplicate', paymentId: results.find((r) => r.outcome === 'applied')!.paymentId });
  });

  it("a notification verified with the other environment's keys never pays the order", async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const order = await openOrder(inv);
    const n = wechat.pay(order.out_trade_no, { transactionId: 'tx-env' });
    expect(await applyChannelNotification(ctx, n, { environment: 'sandbox' })).toMatchObject({ outcome: 'exception', exceptionKind: 'unknown_order' });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('payment_pending');
    expect(await applyChannelNotification(ctx, n, { environment: 'live' })).toMatchObject({ outcome: 'applied' });
  });

  it('a notification that is not a payment is ignored', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const order = await openOrder(inv);
    const n = { ...wechat.pay(order.out_trade_no), paid: false, tradeState: 'WAIT_BUYER_PAY' } as const;
    expect(await applyChannelNotification(ctx, n)).toMatchObject({ outcome: 'ignored' });
    expect(await count('payments')).toBe(0);
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('payment_pending');
  });
});

describe('payment exceptions', () => {
  it('amount mismatch, unknown order, closed order, voided invoice, second payment: kept once each, acknowledged, resolvable once', async () => {
    const [a, b, c, d] = await finalizedInvoices(ctx, clock, [
      { ...scope, customer: 'c1' },
      { ...scope, customer: 'c2' },
      { ...scope, customer: 'c3' },
      { ...scope, customer: 'c4' },
    ]);
    // Amount mismatch.
    const orderA = await openOrder(a);
    const mismatch = wechat.pay(orderA.out_trade_no, { amountFen: 100n, transactionId: 'tx-mismatch' });
    const r1 = await applyChannelNotification(ctx, mismatch);
    expect(r1).toMatchObject({ outcome: 'exception', exceptionKind: 'amount_mismatch', alreadyRecorded: false, invoiceId: a });
    // Redelivered: the same exception, nothing new.
    const again = await applyChannelNotification(ctx, mismatch);
    expect(again).toMatchObject({ outcome: 'exception', exceptionId: r1.exceptionId, alreadyRecorded: true });
    expect((await loadInvoiceView(ctx, scope, a)).status).toBe('payment_pending');

    // Unknown order (and an order of the other channel is unknown to this one).
    const r2 = await applyChannelNotification(ctx, wechat.pay('bm_nosuchorder', { transactionId: 'tx-unknown' }));
    expect(r2).toMatchObject({ outcome: 'exception', exceptionKind: 'unknown_order' });
    const r2b = await applyChannelNotification(ctx, alipay.pay(orderA.out_trade_no, { transactionId: 'tx-wrong-channel', amountFen: 71234n }));
    expect(r2b).toMatchObject({ outcome: 'exception', exceptionKind: 'unknown_order' });

    // Closed order: expired and closed by a later checkout, then paid anyway.
    const orderB = await openOrder(b);
    clock.advance(3 * HOUR);
    await openOrder(b);
    const r3 = await applyChannelNotification(ctx, { ...wechat.pay(orderB.out_trade_no, { transactionId: 'tx-closed' }), amountFen: 71234n });
    expect(r3).toMatchObject({ outcome: 'exception', exceptionKind: 'order_closed', invoiceId: b });

    // Invoice voided meanwhile.
    const orderC = await openOrder(c);
    await voidInvoice(ctx, c, 'issued in error', null);
    const r4 = await applyChannelNotification(ctx, wechat.pay(orderC.out_trade_no, { transactionId: 'tx-void' }));
    expect(r4).toMatchObject({ outcome: 'exception', exceptionKind: 'invoice_not_payable', invoiceId: c });
    expect((await loadInvoiceView(ctx, scope, c)).status).toBe('void');

    // Paid through both channels: the second is a duplicate payment.
    const orderDw = await openOrder(d, 'wechat');
    const orderDa = await openOrder(d, 'alipay');
    expect(await applyChannelNotification(ctx, wechat.pay(orderDw.out_trade_no, { transactionId: 'tx-d1' }))).toMatchObject({ outcome: 'applied' });
    const r5 = await applyChannelNotification(ctx, alipay.pay(orderDa.out_trade_no, { transactionId: 'tx-d2' }));
    expect(r5).toMatchObject({ outcome: 'exception', exceptionKind: 'duplicate_payment', invoiceId: d });

    expect(await count('payments')).toBe(1);
    expect((await verifyLedger(ctx)).ok).toBe(true);
    const open = await listPaymentExceptions(ctx, { status: 'open', limit: 20 });
    expect(open.data.map((e) => e.kind)).toEqual(['amount_mismatch', 'unknown_order', 'unknown_order', 'order_closed', 'invoice_not_payable', 'duplicate_payment']);
    expect(open.data[0]).toMatchObject({ channel: 'wechat', transactionId: 'tx-mismatch', amountMinor: '100', payload: { amountFen: '100', outTradeNo: orderA.out_trade_no } });

    // Paged.
    const page1 = await listPaymentExceptions(ctx, { limit: 4 });
    const page2 = await listPaymentExceptions(ctx, { limit: 4, cursor: page1.nextCursor! });
    expect([...page1.data, ...page2.data].map((e) => e.id)).toEqual(open.data.map((e) => e.id));

    const resolved = await resolvePaymentException(ctx, r1.exceptionId!, { resolution: 'refunded 1.00 CNY at the channel', actor: 'stf_fin' });
    expect(resolved).toMatchObject({ status: 'resolved', resolution: 'refunded 1.00 CNY at the channel', resolvedBy: 'stf_fin', resolvedAt: clock.now().toISOString() });
    await expect(resolvePaymentException(ctx, r1.exceptionId!, { resolution: 'again', actor: 'stf_fin' })).rejects.toMatchObject({
      code: 'payment_exception_already_resolved',
      kind: 'conflict',
    });
    await expect(resolvePaymentException(ctx, 'pex_nope', { resolution: 'x', actor: null })).rejects.toMatchObject({ code: 'payment_exception_not_found' });
    expect((await loadPaymentException(ctx, r1.exceptionId!)).status).toBe('resolved');
    expect((await listPaymentExceptions(ctx, { status: 'open', limit: 20 })).data).toHaveLength(5);
    // A redelivery after resolution still makes nothing new.
    expect(await applyChannelNotification(ctx, mismatch)).toMatchObject({ outcome: 'exception', exceptionId: r1.exceptionId, alreadyRecorded: true });
  });

  it('100 concurrent deliveries of an unappliable notification make one exception', async () => {
    const [inv] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1' }]);
    const order = await openOrder(inv);
    const n = wechat.pay(order.out_trade_no, { amountFen: 5n });
    const results = await Promise.all(Array.from({ length: 100 }, () => applyChannelNotification(ctx, n)));
    expect(results.every((r) => r.outcome === 'exception')).toBe(true);
    expect(results.filter((r) => !r.alreadyRecorded)).toHaveLength(1);
    expect(await count('payment_exceptions')).toBe(1);
  });
});
