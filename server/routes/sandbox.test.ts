import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import { verifyLedger } from '../../core/ledger/verify.js';
import { createRefund, paymentChannelsFor } from '../../core/payments/index.js';
import { finalizedInvoices } from '../../core/payments/testing.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type Caller, keyWithScopes, withKey, withSession } from './catalog.fixtures.js';

/**
 * The whole story over real HTTP, in the sandbox: checkout → the sandbox channel pays (its
 * notification, signed with the sandbox keys, comes back to our callback over HTTP) → the invoice
 * is paid → refunds at the sandbox channel → refunded; the ledger balances throughout.
 */
describe.each(['wechat', 'alipay'] as const)('the sandbox story through %s', (channel) => {
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  let server: TestServer;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  let api: Caller;
  let invoiceId: string;

  beforeAll(async () => {
    server = await startTestServer({ clock });
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    [invoiceId] = await finalizedInvoices(server.ctx, clock, [{ merchantId: merchant.id, environment: 'sandbox', customer: `story_${channel}` }]);
  });
  afterAll(async () => server?.stop());

  it('checkout → sandbox pay → paid → partial and full refund → refunded', async () => {
    const checkout = await api('POST', `/invoices/${invoiceId}/checkout`, { channel });
    expect(checkout.status, checkout.text).toBe(200);
    expect(checkout.body).toMatchObject({ channel, status: 'open', amountMinor: '71234', currency: 'CNY' });
    expect(checkout.body.checkout.codeUrl).toMatch(channel === 'wechat' ? /^weixin:\/\/wxpay\/bizpayurl\?pr=/ : /^https:\/\/qr\.alipay\.com\//);
    expect(checkout.body.checkout.qr).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(checkout.body.checkout.url).toMatch(new RegExp(`^${server.url}/pay/[A-Za-z0-9_-]{43}$`));
    expect((await api('GET', `/invoices/${invoiceId}`)).body.status).toBe('payment_pending');

    const paid = await api('POST', `/sandbox/payment-orders/${checkout.body.paymentOrderId}/pay`);
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body).toMatchObject({ paymentOrderId: checkout.body.paymentOrderId, status: 'paid' });
    const afterPay = (await api('GET', `/invoices/${invoiceId}`)).body;
    expect(afterPay).toMatchObject({ status: 'paid', paidAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), refundedAt: null, refundedMinor: '0' });
    expect(await verifyLedger(server.ctx)).toMatchObject({ ok: true });
    // Paid once: again is 409, and a checkout now says so.
    expect((await api('POST', `/sandbox/payment-orders/${checkout.body.paymentOrderId}/pay`)).body).toMatchObject({ error: 'payment_order_not_open', status: 'paid' });
    expect((await api('POST', `/invoices/${invoiceId}/checkout`, { channel })).body).toMatchObject({ error: 'invoice_already_paid', status: 'paid' });

    const notifyUrl = (c: 'wechat' | 'alipay') => server.payments.notifyUrl(c);
    const partial = await createRefund(server.ctx, paymentChannelsFor(server.ctx), { invoiceId, amountMinor: '1234', reason: 'goodwill', actor: null, notifyUrl });
    // WeChat Pay refunds asynchronously (PROCESSING, then its notification over HTTP to our callback); Alipay at once.
    expect(partial.status).toBe(channel === 'wechat' ? 'pending' : 'succeeded');
    expect(await settled(partial.id)).toBe('succeeded');
    expect((await api('GET', `/invoices/${invoiceId}`)).body).toMatchObject({ status: 'paid', paidAt: afterPay.paidAt, refundedAt: null, refundedMinor: '1234' });
    expect(await verifyLedger(server.ctx)).toMatchObject({ ok: true });

    const rest = await createRefund(server.ctx, paymentChannelsFor(server.ctx), { invoiceId, amountMinor: '70000', reason: 'cancelled', actor: null, notifyUrl });
    expect(await settled(rest.id)).toBe('succeeded');
    const refunded = (await api('GET', `/invoices/${invoiceId}`)).body;
    expect(refunded).toMatchObject({ status: 'refunded', paidAt: afterPay.paidAt, refundedMinor: '71234' });
    expect(Date.parse(refunded.refundedAt)).toBeGreaterThanOrEqual(Date.parse(afterPay.paidAt));
    expect(await verifyLedger(server.ctx)).toMatchObject({ ok: true });
    const events = await server.ctx.db.kysely.selectFrom('domain_events').select(['type', 'data']).where('merchant_id', '=', merchant.id).orderBy('id').execute();
    const ofInvoice = events.filter((e) => String(e.data).includes(invoiceId)).map((e) => e.type);
    expect(ofInvoice.filter((t) => t === 'invoice.paid')).toHaveLength(1);
    expect(ofInvoice.filter((t) => t === 'invoice.refunded')).toHaveLength(1);
    expect(await server.ctx.db.kysely.selectFrom('payments').select('id').where('invoice_id', '=', invoiceId).execute()).toHaveLength(1);
  });

  /** The refund's status once the sandbox channel has sent what it owes (WeChat Pay: the refund notification). */
  async function settled(refundId: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const row = await server.ctx.db.kysely.selectFrom('refunds').select('status').where('id', '=', refundId).executeTakeFirstOrThrow();
      if (row.status !== 'pending' && row.status !== 'requested') return row.status;
      await server.sandboxPeers!.settleRefunds();
      await new Promise((r) => setTimeout(r, 20));
    }
    return 'still pending';
  }

  it('pays an order the sandbox channel never stored (made before it kept its books in the database): it is registered with it again', async () => {
    const [fresh] = await finalizedInvoices(server.ctx, clock, [{ merchantId: merchant.id, environment: 'sandbox', customer: `forgot_${channel}` }]);
    const checkout = await api('POST', `/invoices/${fresh}/checkout`, { channel });
    expect(checkout.status, checkout.text).toBe(200);
    const peer = channel === 'wechat' ? server.sandboxPeers!.wechat : server.sandboxPeers!.alipay;
    (peer.orders as Map<string, unknown>).clear();
    await server.ctx.db.kysely.deleteFrom('sandbox_channel_records').where('channel', '=', channel).execute();
    const paid = await api('POST', `/sandbox/payment-orders/${checkout.body.paymentOrderId}/pay`);
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body.status).toBe('paid');
    expect((await api('GET', `/invoices/${fresh}`)).body.status).toBe('paid');
  });

  it('is sandbox only, for the merchant’s own open orders', async () => {
    const other = await signupMerchant(server);
    const [otherInvoice] = await finalizedInvoices(server.ctx, clock, [{ merchantId: other.id, environment: 'sandbox', customer: `other_${channel}` }]);
    const order = await withKey(server, other.sandboxKey)('POST', `/invoices/${otherInvoice}/checkout`, { channel });
    expect(order.status, order.text).toBe(200);
    // Another merchant's order is unknown; a live session is refused; the checkout scope is needed.
    expect((await api('POST', `/sandbox/payment-orders/${order.body.paymentOrderId}/pay`)).body).toMatchObject({ error: 'payment_order_not_found' });
    const live = await withSession(server, other.token, 'live')('POST', `/sandbox/payment-orders/${order.body.paymentOrderId}/pay`);
    expect(live.status).toBe(403);
    expect(live.body.error).toBe('sandbox_only');
    const readOnly = await keyWithScopes(server, other.token, ['invoice:read']);
    expect((await withKey(server, readOnly)('POST', `/sandbox/payment-orders/${order.body.paymentOrderId}/pay`)).body).toMatchObject({ error: 'scope_missing' });
    expect((await api('POST', '/sandbox/payment-orders/po_nope/pay')).status).toBe(404);
  });
});

describe('BUFFMONEY_SANDBOX_CHANNELS=0', () => {
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  let server: TestServer;
  afterAll(async () => server?.stop());

  it('mounts no peers, and sandbox checkouts answer 503 channel_not_configured', async () => {
    server = await startTestServer({ clock, config: { sandboxChannels: false } });
    expect(server.sandboxPeers).toBeUndefined();
    const merchant = await signupMerchant(server);
    const [invoiceId] = await finalizedInvoices(server.ctx, clock, [{ merchantId: merchant.id, environment: 'sandbox', customer: 'off' }]);
    const checkout = await withKey(server, merchant.sandboxKey)('POST', `/invoices/${invoiceId}/checkout`, { channel: 'wechat' });
    expect(checkout.status).toBe(503);
    expect(checkout.body.error).toBe('channel_not_configured');
    expect((await server.call('POST', '/sandbox/channels/alipay/gateway.do', { rawBody: 'x' })).status).toBe(404);
  });
});
