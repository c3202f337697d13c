import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreContext, ManualClock } from '../context/index.js';
import { listEvents } from '../events/index.js';
import { loadInvoiceView } from '../invoices/index.js';
import { ledgerBalances, verifyLedger } from '../ledger/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { applyChannelNotification, createCheckout, createRefund, listRefunds, refundShares, retryRefund } from './index.js';
import type { ChannelRegistry } from './shared.js';
import { type FakeChannel, fakeChannels, finalizedInvoices } from './testing.js';

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;
let wechat: FakeChannel;
let channels: ChannelRegistry;
const scope = { merchantId: 'mer_pay', environment: 'live' as const };
const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (token: string) => `https://pay.example/checkout/${token}` };
const refundNotify = (c: string) => `https://pay.example/api/webhooks/${c}/refunds`;

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, scope.merchantId);
  ({ wechat, registry: channels } = fakeChannels());
});

afterEach(async () => t.close());

/** A paid invoice (71,234 fen; USD 10,000 cents gross, 80 fee, 9,920 net unless settled otherwise) and its out-trade number. */
async function paidInvoice(settlementCurrency?: string, alsoUnpaid = false) {
  const [inv, unpaid] = await finalizedInvoices(ctx, clock, [{ ...scope, customer: 'c1', settlementCurrency }, ...(alsoUnpaid ? [{ ...scope, customer: 'c2' }] : [])]);
  const view = await createCheckout(ctx, channels, { ...scope, invoiceId: inv, channel: 'wechat', ...urls });
  const order = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', view.paymentOrderId).executeTakeFirstOrThrow();
  expect(await applyChannelNotification(ctx, wechat.pay(order.out_trade_no))).toMatchObject({ outcome: 'applied' });
  return { inv, unpaid, outTradeNo: order.out_trade_no };
}

const refund = (invoiceId: string, amountMinor: string) =>
  createRefund(ctx, channels, { invoiceId, amountMinor, reason: 'customer asked', actor: 'stf_fin', notifyUrl: refundNotify });

const balances = async () => Object.fromEntries((await ledgerBalances(ctx)).map((b) => [b.code, b.balanceMinor]));

describe('refund shares', () => {
  it('add up to exactly the net and fee over partial refunds, whatever the rounding', () => {
    const inv = { settlement_currency: 'USD', net_settlement_minor: '9920', platform_fee_minor: '80' };
    const parts = [1n, 2n, 33333n, 7n, 37891n];
    let before = 0n;
    let net = 0n;
    let fee = 0n;
    for (const p of parts) {
      const s = refundShares(inv, 71234n, before, p);
      expect(s.netMinor >= 0n && s.feeMinor >= 0n).toBe(true);
      expect(s.grossMinor).toBe(s.netMinor + s.feeMinor);
      net += s.netMinor;
      fee += s.feeMinor;
      before += p;
    }
    expect(before).toBe(71234n);
    expect([net, fee]).toEqual([9920n, 80n]);
    // Settled in CNY: gross is the refund itself.
    const cny = refundShares({ settlement_currency: 'CNY', net_settlement_minor: '70664', platform_fee_minor: '570' }, 71234n, 0n, 1n);
    expect(cny).toEqual({ refundMinor: 1n, grossMinor: 1n, netMinor: 1n, feeMinor: 0n });
  });
});

describe('refunds', () => {
  it('partial then full: the reversal posted each time, the invoice refunded once fully, invoice.refunded announced once', async () => {
    const { inv, outTradeNo } = await paidInvoice();
    const first = await refund(inv, '20000');
    expect(first).toMatchObject({ status: 'succeeded', amountMinor: '20000', currency: 'CNY', channel: 'wechat', requestedBy: 'stf_fin', reason: 'customer asked' });
    expect(first.outRefundNo).toMatch(/^[A-Za-z0-9_-]{6,64}$/);
    // The channel's success time, as the payment recorded it.
    const { paid_at: paidAt } = await ctx.db.kysely.selectFrom('payments').select('paid_at').where('invoice_id', '=', inv).executeTakeFirstOrThrow();
    expect(await loadInvoiceView(ctx, scope, inv)).toMatchObject({ status: 'paid', paidAt, refundedAt: null, refundedMinor: '20000' });
    expect((await listEvents(ctx, { type: 'invoice.refunded', limit: 10 })).length).toBe(0);
    const tx = await ctx.db.kysely.selectFrom('ledger_transactions').selectAll().where('id', '=', first.ledgerTxId!).executeTakeFirstOrThrow();
    expect(tx).toMatchObject({ idempotency_key: `refund:${first.id}:succeeded`, kind: 'refund.succeeded', cause_type: 'refund', cause_id: first.id });
    // 20,000 / 71,234 of 9,920 net = 2,785.19 → 2,785; of 80 fee = 22.46 → 22.
    expect(await balances()).toMatchObject({
      'channel_clearing:wechat:live:CNY': '51234',
      'merchant_payable:mer_pay:live:USD': String(9920 - 2785),
      'platform_fee_revenue:platform:live:USD': String(80 - 22),
      'fx_position:platform:live:CNY': '-51234',
      'fx_position:platform:live:USD': String(10000 - 2807),
    });
    expect((await verifyLedger(ctx)).ok).toBe(true);

    await expect(refund(inv, '51235')).rejects.toMatchObject({ code: 'refund_exceeds_paid', kind: 'conflict', details: { availableMinor: '51234' } });
    clock.advance(5_000);
    const second = await refund(inv, '51234');
    expect(second.status).toBe('succeeded');
    const view = await loadInvoiceView(ctx, scope, inv);
    expect(view).toMatchObject({ status: 'refunded', paidAt, refundedAt: clock.now().toISOString(), refundedMinor: '71234' });
    const refundedEvents = await listEvents(ctx, { type: 'invoice.refunded', limit: 10 });
    expect(refundedEvents).toHaveLength(1);
    expect(refundedEvents[0].data).toMatchObject({ _id: inv, status: 'refunded', refundedMinor: '71234', refundedAt: view.refundedAt });
    // Finalized, paid, refunded in full: every account is back to zero.
    expect(Object.values(await balances()).every((b) => b === '0')).toBe(true);
    expect((await verifyLedger(ctx)).ok).toBe(true);
    expect(wechat.refundedFen(outTradeNo)).toBe(71234n);

    await expect(refund(inv, '1')).rejects.toMatchObject({ code: 'invoice_refunded', kind: 'conflict' });
    expect((await listRefunds(ctx, inv)).map((r) => r.amountMinor)).toEqual(['20000', '51234']);
  });

  it('settled in CNY: the refund posts without FX legs and a full refund zeroes every account', async () => {
    const { inv } = await paidInvoice('CNY');
    await refund(inv, '1000');
    await refund(inv, '70234');
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('refunded');
    const all = await balances();
    expect(Object.keys(all).some((code) => code.startsWith('fx_position'))).toBe(false);
    expect(Object.values(all).every((b) => b === '0')).toBe(true);
    expect((await verifyLedger(ctx)).ok).toBe(true);
  });

  it('refuses more than was paid, an unpaid invoice, a bad amount', async () => {
    const { inv, unpaid } = await paidInvoice(undefined, true);
    await expect(refund(inv, '71235')).rejects.toMatchObject({ code: 'refund_exceeds_paid' });
    await expect(refund(inv, '0')).rejects.toMatchObject({ code: 'amount_invalid', kind: 'invalid_input' });
    await expect(refund(inv, '1.5')).rejects.toMatchObject({ code: 'amount_invalid' });
    await expect(refund(unpaid, '1')).rejects.toMatchObject({ code: 'invoice_not_paid', kind: 'conflict' });
    await expect(refund('inv_nope', '1')).rejects.toMatchObject({ code: 'invoice_not_found' });
    // A refund in flight counts: two of 40,000 cannot both be asked for.
    wechat.failNext('refund', 'before');
    await expect(refund(inv, '40000')).rejects.toMatchObject({ code: 'channel_unavailable' });
    await expect(refund(inv, '40000')).rejects.toMatchObject({ code: 'refund_exceeds_paid' });
    expect(wechat.refunds.size).toBe(0);
  });

  it('a refund the channel refuses is failed, posts nothing, and frees its amount', async () => {
    const { inv } = await paidInvoice();
    wechat.refundMode = 'failed';
    const refused = await refund(inv, '71234');
    expect(refused).toMatchObject({ status: 'failed', failureReason: 'NOT_ENOUGH (fake)', ledgerTxId: null });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('paid');
    wechat.refundMode = 'succeeded';
    expect(await refund(inv, '71234')).toMatchObject({ status: 'succeeded' });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('refunded');
  });

  it('a retry asks the channel again with the same out-refund number, and the channel refunds once', async () => {
    const { inv, outTradeNo } = await paidInvoice();
    // The channel refunds, but its answer is lost.
    wechat.failNext('refund', 'after');
    await expect(refund(inv, '30000')).rejects.toMatchObject({ code: 'channel_unavailable' });
    const [requested] = await listRefunds(ctx, inv);
    expect(requested).toMatchObject({ status: 'requested', ledgerTxId: null });
    expect(wechat.refundedFen(outTradeNo)).toBe(30000n);

    const done = await retryRefund(ctx, channels, requested.id, { notifyUrl: refundNotify });
    expect(done).toMatchObject({ id: requested.id, status: 'succeeded', outRefundNo: requested.outRefundNo });
    expect(wechat.callsOf('refund')).toEqual([requested.outRefundNo, requested.outRefundNo]);
    expect(wechat.refunds.size).toBe(1);
    expect(wechat.refundedFen(outTradeNo)).toBe(30000n);
    // Asked once more: nothing moves.
    expect(await retryRefund(ctx, channels, requested.id, { notifyUrl: refundNotify })).toMatchObject({ status: 'succeeded' });
    expect(wechat.callsOf('refund')).toHaveLength(2);
    const postings = await ctx.db.kysely.selectFrom('ledger_transactions').select('id').where('cause_type', '=', 'refund').execute();
    expect(postings).toHaveLength(1);
    expect((await verifyLedger(ctx)).ok).toBe(true);
  });

  it('a pending refund is applied once by its notification, however often it is delivered', async () => {
    const { inv } = await paidInvoice();
    wechat.refundMode = 'pending';
    const pending = await refund(inv, '71234');
    expect(pending).toMatchObject({ status: 'pending', channelRefundId: expect.any(String) });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('paid');
    const n = wechat.settleRefund(pending.outRefundNo);
    const results = await Promise.all(Array.from({ length: 20 }, () => applyChannelNotification(ctx, n)));
    expect(results.filter((r) => r.outcome === 'applied')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(19);
    expect(results[0]).toMatchObject({ refundId: pending.id, invoiceId: inv });
    expect((await loadInvoiceView(ctx, scope, inv)).status).toBe('refunded');
    expect(await listEvents(ctx, { type: 'invoice.refunded', limit: 10 })).toHaveLength(1);
    expect(await ctx.db.kysely.selectFrom('ledger_transactions').select('id').where('cause_type', '=', 'refund').execute()).toHaveLength(1);
    expect((await verifyLedger(ctx)).ok).toBe(true);
  });

  it('a notification stating the trade’s running refunded total (Alipay’s refund_fee) settles the refund it names, not an exception', async () => {
    const { inv, outTradeNo } = await paidInvoice();
    wechat.refundMode = 'pending';
    const first = await refund(inv, '300');
    const second = await refund(inv, '200');
    const runningTotal = (r: typeof first, fen: bigint) =>
      applyChannelNotification(ctx, {
        kind: 'refund',
        channel: 'wechat',
        outTradeNo,
        outRefundNo: r.outRefundNo,
        refundId: r.channelRefundId!,
        refundFen: fen,
        refundFenIsTradeTotal: true,
        state: 'succeeded',
        channelStatus: 'TRADE_SUCCESS',
      });
    expect(await runningTotal(first, 300n)).toMatchObject({ outcome: 'applied', refundId: first.id });
    expect(await runningTotal(second, 500n)).toMatchObject({ outcome: 'applied', refundId: second.id });
    expect((await listRefunds(ctx, inv)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    // A total that does not add up is still a mismatch for finance.
    const third = await refund(inv, '100');
    expect(await runningTotal(third, 650n)).toMatchObject({ outcome: 'exception', exceptionKind: 'refund_mismatch' });
    expect((await verifyLedger(ctx)).ok).toBe(true);
  });

  it('a refund notification for an unknown refund, or contradicting a settled one, becomes an exception', async () => {
    const { inv, outTradeNo } = await paidInvoice();
    const unknown = await applyChannelNotification(ctx, {
      kind: 'refund',
      channel: 'wechat',
      outTradeNo,
      outRefundNo: 'rn_unknown',
      refundId: 'r-1',
      refundFen: 5n,
      state: 'succeeded',
      channelStatus: 'SUCCESS',
    });
    expect(unknown).toMatchObject({ outcome: 'exception', exceptionKind: 'unknown_refund' });
    const done = await refund(inv, '100');
    const contradicting = await applyChannelNotification(ctx, {
      kind: 'refund',
      channel: 'wechat',
      outTradeNo,
      outRefundNo: done.outRefundNo,
      refundId: done.channelRefundId!,
      refundFen: 100n,
      state: 'failed',
      channelStatus: 'ABNORMAL',
    });
    expect(contradicting).toMatchObject({ outcome: 'exception', exceptionKind: 'refund_mismatch', refundId: done.id });
    expect((await listRefunds(ctx, inv))[0].status).toBe('succeeded');
  });
});
