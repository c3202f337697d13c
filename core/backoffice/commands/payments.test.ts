import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../audit/index.js';
import { HOUR } from '../../context/index.js';
import { type ChannelRegistry, applyChannelNotification, createCheckout, installPaymentChannels, installRefundNotifyUrl, installSandboxPayer } from '../../payments/index.js';
import { type FakeChannel, fakeChannels, finalizedInvoices } from '../../payments/testing.js';
import { insertTestMerchant } from '../../testing/index.js';
import type { CommandResult } from '../registry.js';
import { type Harness, openHarness } from '../testing/harness.js';

/** The answer's data (the test fails with the error otherwise). */
const data = (r: CommandResult<any>) => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.data;
};

const urls = { notifyUrl: (c: string) => `https://pay.example/api/webhooks/${c}`, hostedUrl: (token: string) => `https://pay.example/checkout/${token}` };

describe('payment and refund commands', () => {
  let h: Harness;
  let wechat: FakeChannel;
  let registry: ChannelRegistry;
  beforeEach(async () => {
    h = await openHarness();
    const fake = fakeChannels();
    wechat = fake.wechat;
    registry = fake.registry;
    installPaymentChannels(h.ctx, fake.registry);
    installRefundNotifyUrl(h.ctx, (c) => `https://pay.example/api/webhooks/${c}/refunds`);
    // The sandbox payer as the server's would act: the channel is paid, its notification applied.
    installSandboxPayer(h.ctx, async (order) => {
      await applyChannelNotification(h.ctx, wechat.pay(order.outTradeNo), { environment: 'sandbox' });
      return { callbackStatus: 204 };
    });
    await insertTestMerchant(h.ctx, 'mer_pay');
  });
  afterEach(async () => h.close());

  /** Invoices (71,234 fen each): the first paid through WeChat Pay; then an open order on `open`. */
  async function invoices(specs: Array<{ environment: 'live' | 'sandbox'; pay: boolean }>) {
    const ids = await finalizedInvoices(
      h.ctx,
      h.clock,
      specs.map((s, i) => ({ merchantId: 'mer_pay', environment: s.environment, customer: `c${i}` })),
    );
    const orders: string[] = [];
    for (const [i, id] of ids.entries()) {
      const view = await createCheckout(h.ctx, registry, {
        merchantId: 'mer_pay',
        environment: specs[i].environment,
        invoiceId: id,
        channel: 'wechat',
        ...urls,
      });
      orders.push(view.paymentOrderId);
      if (specs[i].pay) {
        const order = await h.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', view.paymentOrderId).executeTakeFirstOrThrow();
        expect(await applyChannelNotification(h.ctx, wechat.pay(order.out_trade_no))).toMatchObject({ outcome: 'applied' });
      }
    }
    return { ids, orders };
  }

  it('refunds:create is finance/admin with step-up; partial then full refund leaves the invoice refunded; never more than paid', async () => {
    const { ids } = await invoices([{ environment: 'live', pay: true }]);
    const [inv] = ids;
    const finance = await h.staff('finance');
    const support = await h.staff('support');

    expect(await h.run(support, 'refunds:create', { invoice: inv, amount: '100', reason: 'customer asked' }, support.nextOtp())).toMatchObject({
      ok: false,
      error: { code: 'role_forbidden' },
    });
    expect(await h.run(finance, 'refunds:create', { invoice: inv, amount: '100', reason: 'customer asked' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(await h.run(finance, 'refunds:create', { invoice: inv, amount: '100', reason: 'customer asked' }, '000000')).toMatchObject({
      ok: false,
      error: { code: 'otp_invalid' },
    });
    expect(await h.run(finance, 'refunds:create', { invoice: inv, amount: '1.5', reason: 'customer asked' }, finance.nextOtp())).toMatchObject({
      ok: false,
      error: { code: 'validation_failed' },
    });
    expect(wechat.callsOf('refund')).toEqual([]);

    const partial = await h.run(finance, 'refunds:create', { invoice: inv, amount: '20000', reason: 'customer asked' }, finance.nextOtp());
    expect(partial).toMatchObject({
      ok: true,
      data: {
        refund: { status: 'succeeded', amountMinor: '20000', requestedBy: finance.id },
        invoice: { status: 'paid', paidMinor: '71234', refundedMinor: '20000', inFlightMinor: '0', refundableMinor: '51234' },
      },
    });

    const over = await h.run(finance, 'refunds:create', { invoice: inv, amount: '51235', reason: 'too much' }, finance.nextOtp());
    expect(over).toMatchObject({ ok: false, error: { code: 'refund_exceeds_paid', details: { availableMinor: '51234' } } });

    const rest = await h.run(finance, 'refunds:create', { invoice: inv, amount: '51234', reason: 'the rest' }, finance.nextOtp());
    expect(rest).toMatchObject({ ok: true, data: { invoice: { status: 'refunded', refundedMinor: '71234', refundableMinor: '0' } } });
    expect(await h.run(finance, 'refunds:create', { invoice: inv, amount: '1', reason: 'again' }, finance.nextOtp())).toMatchObject({
      ok: false,
      error: { code: 'invoice_refunded' },
    });
    expect(wechat.refundedFen([...wechat.orders.keys()][0])).toBe(71234n);

    const listed = await h.run(support, 'refunds:list', { invoice: inv });
    expect(listed).toMatchObject({ ok: true, data: { items: [{ amountMinor: '51234' }, { amountMinor: '20000' }], invoice: { status: 'refunded' } } });

    const audit = await listAudit(h.ctx, { command: 'refunds:create', limit: 20 });
    expect(audit.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['error', 'invoice_refunded'],
      ['ok', null],
      ['error', 'refund_exceeds_paid'],
      ['ok', null],
      ['error', 'validation_failed'],
      ['error', 'otp_invalid'],
      ['error', 'step_up_required'],
      ['error', 'role_forbidden'],
    ]);
  });

  it('a refund the channel did not answer stays requested; refunds:retry sends the same out-refund number', async () => {
    const { ids } = await invoices([{ environment: 'live', pay: true }]);
    const admin = await h.staff('admin');
    wechat.failNext('refund', 'after');
    const failed = await h.run(admin, 'refunds:create', { invoice: ids[0], amount: '1000', reason: 'duplicate charge' }, admin.nextOtp());
    expect(failed).toMatchObject({ ok: false, error: { code: 'channel_unavailable' } });
    const [requested] = data(await h.run(admin, 'refunds:list', { status: 'requested' })).items;
    expect(requested).toMatchObject({ amountMinor: '1000', status: 'requested' });
    const retried = await h.run(admin, 'refunds:retry', { refund: requested.id });
    expect(retried).toMatchObject({ ok: true, data: { refund: { id: requested.id, status: 'succeeded' }, invoice: { refundedMinor: '1000' } } });
    expect(new Set(wechat.callsOf('refund'))).toEqual(new Set([requested.outRefundNo]));
    expect(await h.run(admin, 'refunds:retry', { refund: requested.id })).toMatchObject({ ok: false, error: { code: 'refund_settled' } });
  });

  it('payments:list shows orders with their payments; exceptions are listed and resolved once', async () => {
    const { ids, orders } = await invoices([
      { environment: 'live', pay: true },
      { environment: 'live', pay: false },
    ]);
    // A payment for an order we never made: kept as an exception.
    expect(await applyChannelNotification(h.ctx, wechat.pay('unknown-trade-no', { amountFen: 500n }))).toMatchObject({ outcome: 'exception' });
    const finance = await h.staff('finance');
    const support = await h.staff('support');

    const all = await h.run(support, 'payments:list', { merchant: 'mer_pay' });
    expect(all).toMatchObject({
      ok: true,
      data: {
        items: [
          { id: orders[1], status: 'open', invoiceStatus: 'payment_pending', payment: null },
          { id: orders[0], status: 'paid', invoiceId: ids[0], invoiceStatus: 'paid', payment: { amountMinor: '71234' } },
        ],
        nextCursor: null,
      },
    });
    const first = await h.run(support, 'payments:list', { limit: 1 });
    expect(data(first).items.map((o: { id: string }) => o.id)).toEqual([orders[1]]);
    const second = await h.run(support, 'payments:list', { limit: 1, cursor: data(first).nextCursor });
    expect(data(second)).toMatchObject({ items: [{ id: orders[0] }], nextCursor: null });
    expect(data(await h.run(support, 'payments:list', { status: 'paid' })).items).toHaveLength(1);

    const open = await h.run(support, 'payments:exceptions', { status: 'open' });
    expect(open).toMatchObject({ ok: true, data: { items: [{ kind: 'unknown_order', amountMinor: '500', status: 'open' }] } });
    const pex = data(open).items[0].id;

    expect(await h.run(support, 'payments:resolve-exception', { exception: pex, resolution: 'refunded at the channel' })).toMatchObject({
      ok: false,
      error: { code: 'role_forbidden' },
    });
    const resolved = await h.run(finance, 'payments:resolve-exception', { exception: pex, resolution: 'refunded at the channel, ref 5030' });
    expect(resolved).toMatchObject({ ok: true, data: { status: 'resolved', resolvedBy: finance.id, resolution: 'refunded at the channel, ref 5030' } });
    expect(await h.run(finance, 'payments:resolve-exception', { exception: pex, resolution: 'again' })).toMatchObject({
      ok: false,
      error: { code: 'payment_exception_already_resolved', kind: 'conflict' },
    });
    expect(data(await h.run(finance, 'payments:exceptions', { status: 'open' })).items).toEqual([]);
    expect(data(await h.run(finance, 'payments:exceptions', { status: 'resolved' })).items).toHaveLength(1);
    const audit = await listAudit(h.ctx, { command: 'payments:resolve-exception', limit: 10 });
    expect(audit.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['error', 'payment_exception_already_resolved'],
      ['ok', null],
      ['error', 'role_forbidden'],
    ]);
  });

  it('payments:reconcile reports the differences it settled', async () => {
    const { orders } = await invoices([{ environment: 'live', pay: false }]);
    h.clock.advance(3 * HOUR);
    const finance = await h.staff('finance');
    const support = await h.staff('support');
    expect(await h.run(support, 'payments:reconcile')).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
    const report = await h.run(finance, 'payments:reconcile');
    expect(report).toMatchObject({
      ok: true,
      data: { checked: 1, differences: [{ subject: 'order', id: orders[0], found: 'expired_open', channelState: 'open', did: 'expired' }], errors: [] },
    });
    expect(data(await h.run(finance, 'payments:reconcile'))).toMatchObject({ checked: 0, differences: [] });
  });

  it('sandbox:pay pays an open sandbox order and refuses a live one', async () => {
    const { orders } = await invoices([
      { environment: 'live', pay: false },
      { environment: 'sandbox', pay: false },
    ]);
    const finance = await h.staff('finance');
    const support = await h.staff('support');
    expect(await h.run(support, 'sandbox:pay', { order: orders[1] })).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
    expect(await h.run(finance, 'sandbox:pay', { order: orders[0] })).toMatchObject({ ok: false, error: { code: 'payment_order_not_sandbox' } });
    expect(await h.run(finance, 'sandbox:pay', { order: orders[1] })).toMatchObject({
      ok: true,
      data: { order: orders[1], callbackStatus: 204, status: 'paid', invoiceStatus: 'paid' },
    });
    expect(await h.run(finance, 'sandbox:pay', { order: orders[1] })).toMatchObject({ ok: false, error: { code: 'payment_order_not_open' } });
  });
});
