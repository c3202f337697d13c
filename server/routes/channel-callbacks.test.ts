import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import { toShanghaiTime } from '../../core/payments/channels/alipay/index.js';
import { toBeijingRfc3339 } from '../../core/payments/channels/wechat/time.js';
import { finalizedInvoices } from '../../core/payments/testing.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type Caller, withKey } from './catalog.fixtures.js';

/**
 * The channel callbacks over real HTTP: notifications signed with the sandbox channel keys (built
 * by the sandbox peers the server mounts), as WeChat Pay and Alipay would send them.
 */
const clock = new ManualClock('2026-06-01T12:00:00.000Z');
let server: TestServer;
let api: Caller;
let merchantId: string;
const invoices: string[] = [];
let next = 0;
let transactions = 0;

beforeAll(async () => {
  server = await startTestServer({ clock });
  const merchant = await signupMerchant(server);
  merchantId = merchant.id;
  api = withKey(server, merchant.sandboxKey);
  invoices.push(
    ...(await finalizedInvoices(
      server.ctx,
      clock,
      Array.from({ length: 8 }, (_, i) => ({ merchantId, environment: 'sandbox' as const, customer: `cb_${i}` })),
    )),
  );
});
afterAll(async () => server?.stop());

/** A fresh invoice with an open order through `channel`: its out-trade number. */
async function openOrder(channel: 'wechat' | 'alipay'): Promise<{ invoiceId: string; outTradeNo: string }> {
  const invoiceId = invoices[next++];
  const checkout = await api('POST', `/invoices/${invoiceId}/checkout`, { channel });
  expect(checkout.status, checkout.text).toBe(200);
  const order = await server.ctx.db.kysely.selectFrom('payment_orders').select('out_trade_no').where('id', '=', checkout.body.paymentOrderId).executeTakeFirstOrThrow();
  return { invoiceId, outTradeNo: order.out_trade_no };
}

/** The payer paid at the peer without it notifying us yet (the test sends the notification). */
function paidAtWechatPeer(outTradeNo: string): void {
  const order = server.sandboxPeers!.wechat.orders.get(outTradeNo)!;
  transactions++;
  Object.assign(order, { tradeState: 'SUCCESS', transactionId: `4200${String(transactions).padStart(24, '0')}`, successTime: toBeijingRfc3339(clock.now()) });
}

function paidAtAlipayPeer(outTradeNo: string): void {
  const order = server.sandboxPeers!.alipay.scan(outTradeNo);
  Object.assign(order, { status: 'TRADE_SUCCESS', gmtPayment: toShanghaiTime(clock.now()) });
}

const post = (channel: 'wechat' | 'alipay', headers: Record<string, string>, body: string) => fetch(`${server.url}/api/webhooks/${channel}`, { method: 'POST', headers, body });

async function paymentsOf(invoiceId: string) {
  return server.ctx.db.kysely.selectFrom('payments').selectAll().where('invoice_id', '=', invoiceId).execute();
}
async function invoiceStatus(invoiceId: string) {
  return (await api('GET', `/invoices/${invoiceId}`)).body.status;
}

describe('POST /api/webhooks/wechat', () => {
  it('applies a valid notification once (204), however often it is delivered', async () => {
    const { invoiceId, outTradeNo } = await openOrder('wechat');
    paidAtWechatPeer(outTradeNo);
    const n = server.sandboxPeers!.wechat.buildPaymentNotification(outTradeNo);
    const first = await post('wechat', n.headers, n.body);
    expect(first.status).toBe(204);
    expect(await invoiceStatus(invoiceId)).toBe('paid');
    const again = await post('wechat', n.headers, n.body);
    expect(again.status).toBe(204);
    expect(await paymentsOf(invoiceId)).toHaveLength(1);
  });

  it('refuses a wrong signature, a stale timestamp, the signature probe and a tampered body (401 {"code":"FAIL"})', async () => {
    const { invoiceId, outTradeNo } = await openOrder('wechat');
    paidAtWechatPeer(outTradeNo);
    const peer = server.sandboxPeers!.wechat;
    const good = peer.buildPaymentNotification(outTradeNo);
    const other = peer.buildPaymentNotification(outTradeNo, { resource: { attach: 'x' } });
    const refusals = [
      { ...good, headers: { ...good.headers, 'wechatpay-signature': other.headers['wechatpay-signature'] } },
      peer.buildPaymentNotification(outTradeNo, { signedAt: new Date(clock.now().getTime() - 10 * 60_000) }),
      { ...good, headers: { ...good.headers, 'wechatpay-signature': `WECHATPAY/SIGNTEST/${good.headers['wechatpay-signature']}` } },
      { ...good, body: good.body.replace('"event_type":"TRANSACTION.SUCCESS"', '"event_type":"TRANSACTION.SUCCESX"') },
      { ...good, headers: { ...good.headers, 'wechatpay-serial': 'PUB_KEY_ID_UNKNOWN' } },
    ];
    for (const n of refusals) {
      const res = await post('wechat', n.headers, n.body);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'FAIL', message: expect.any(String) });
    }
    expect(await paymentsOf(invoiceId)).toHaveLength(0);
    expect(await invoiceStatus(invoiceId)).toBe('payment_pending');
  });

  it('acknowledges a notification of the wrong amount and keeps it as a payment exception', async () => {
    const { invoiceId, outTradeNo } = await openOrder('wechat');
    paidAtWechatPeer(outTradeNo);
    const n = server.sandboxPeers!.wechat.buildPaymentNotification(outTradeNo, { resource: { amount: { total: 1, payer_total: 1, currency: 'CNY', payer_currency: 'CNY' } } });
    expect((await post('wechat', n.headers, n.body)).status).toBe(204);
    expect((await post('wechat', n.headers, n.body)).status).toBe(204);
    expect(await paymentsOf(invoiceId)).toHaveLength(0);
    const exceptions = await server.ctx.db.kysely.selectFrom('payment_exceptions').selectAll().where('out_trade_no', '=', outTradeNo).execute();
    expect(exceptions.map((e) => e.kind)).toEqual(['amount_mismatch']);
  });

  it('makes exactly one payment of 100 concurrent deliveries', async () => {
    const { invoiceId, outTradeNo } = await openOrder('wechat');
    paidAtWechatPeer(outTradeNo);
    const n = server.sandboxPeers!.wechat.buildPaymentNotification(outTradeNo);
    const statuses = await Promise.all(Array.from({ length: 100 }, () => post('wechat', n.headers, n.body).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([204]));
    expect(await paymentsOf(invoiceId)).toHaveLength(1);
    const paidEvents = await server.ctx.db.kysely.selectFrom('domain_events').select('data').where('type', '=', 'invoice.paid').execute();
    expect(paidEvents.filter((e) => String(e.data).includes(invoiceId))).toHaveLength(1);
  });

  it('is not an API route: no JSON rule, 405 for other methods', async () => {
    const res = await fetch(`${server.url}/api/webhooks/wechat`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('POST /api/webhooks/alipay', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

  it('answers `success` to a valid notification, and applies it once', async () => {
    const { invoiceId, outTradeNo } = await openOrder('alipay');
    paidAtAlipayPeer(outTradeNo);
    const body = server.sandboxPeers!.alipay.buildPaymentNotification(outTradeNo);
    for (let i = 0; i < 3; i++) {
      const res = await post('alipay', form, body);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('success');
    }
    expect(await invoiceStatus(invoiceId)).toBe('paid');
    expect(await paymentsOf(invoiceId)).toHaveLength(1);
  });

  it('refuses a wrong signature and an unknown app', async () => {
    const { invoiceId, outTradeNo } = await openOrder('alipay');
    paidAtAlipayPeer(outTradeNo);
    const body = server.sandboxPeers!.alipay.buildPaymentNotification(outTradeNo);
    const params = new URLSearchParams(body);
    params.set('total_amount', '0.01'); // changed after signing
    const forged = await post('alipay', form, params.toString());
    expect(forged.status).toBe(401);
    expect(await forged.text()).toBe('fail');
    params.set('app_id', '2021000000000000');
    expect((await post('alipay', form, params.toString())).status).toBe(401);
    expect(await paymentsOf(invoiceId)).toHaveLength(0);
  });
});

describe('callback limits', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ config: { limits: { channelCallbacksPerMinute: 3 } } });
  });
  afterAll(async () => limited?.stop());

  it('refuses bodies over 64 KB and more than the per-IP rate', async () => {
    const big = await fetch(`${limited.url}/api/webhooks/alipay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a='.padEnd(70_000, 'x'),
    });
    expect(big.status).toBe(413);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${limited.url}/api/webhooks/wechat`, { method: 'POST', body: '{}' })).status);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
