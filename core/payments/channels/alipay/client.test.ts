import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelError, type PaymentChannel } from '../types.js';
import { makeAlipayKeys, testAppId, testSellerId } from './alipay.fixtures.js';
import { createAlipayChannel } from './client.js';
import { type AlipayPeer, startAlipayPeer } from './peer.js';

const keys = makeAlipayKeys();
let clock = new Date('2026-12-01T09:00:00Z');
const deps = { now: () => clock };
let peer: AlipayPeer;
let channel: PaymentChannel;

// A stand-in for our callback route: it hands what the peer posts to verifyNotification.
let notifyServer: Server;
let notifyUrl: string;
const received: string[] = [];

let seq = 0;
const nextOrderNo = () => `ord_${Date.now().toString(36)}_${++seq}`;

async function openOrder(amountFen = 1234n, outTradeNo = nextOrderNo()) {
  const created = await channel.createOrder({ outTradeNo, amountFen, description: 'Acme invoice INV-0001', expiresAt: '2026-12-01T10:00:00Z', notifyUrl });
  return { outTradeNo, codeUrl: created.codeUrl };
}

async function expectChannelError(promise: Promise<unknown>, channelCode: string, retryable: boolean) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChannelError);
  expect((error as ChannelError).channelCode).toBe(channelCode);
  expect((error as ChannelError).retryable).toBe(retryable);
  return error as ChannelError;
}

beforeAll(async () => {
  peer = await startAlipayPeer({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, appId: testAppId, sellerId: testSellerId, now: deps.now });
  channel = createAlipayChannel(
    { appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId, gateway: peer.url, timeoutMs: 1000 },
    deps,
  );
  notifyServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      received.push(rawBody.toString());
      let reply: { status: number; contentType?: string; body?: string };
      try {
        channel.verifyNotification({ headers: { 'content-type': req.headers['content-type'] }, rawBody }, clock);
        reply = channel.acknowledge();
      } catch (error) {
        reply = channel.refuse(String(error), 401);
      }
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain' }).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => notifyServer.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(notifyServer.address() as AddressInfo).port}/callbacks/alipay`;
});

afterAll(async () => {
  await peer.close();
  await new Promise((resolve) => notifyServer.close(resolve));
});

beforeEach(() => {
  clock = new Date('2026-12-01T09:00:00Z');
});

describe('alipay.trade.precreate', () => {
  it('sends yuan with two decimals, Beijing time_expire and notify_url, and returns the qr_code', async () => {
    // Alipay's ceiling, 100000000.00 yuan, in fen: far past where a float would blur a fen.
    const { outTradeNo, codeUrl } = await openOrder(10_000_000_000n);
    expect(codeUrl).toMatch(/^https:\/\/qr\.alipay\.com\/[a-z0-9_-]+$/);
    const order = peer.orders.get(outTradeNo)!;
    expect(order.totalFen).toBe(10_000_000_000n);
    expect(order.timeExpire).toBe('2026-12-01 18:00:00');
    expect(order.notifyUrl).toBe(notifyUrl);
    expect(order.subject).toBe('Acme invoice INV-0001');
    expect(order.qrCode).toBe(codeUrl);
    // On the wire: common parameters beside biz_content, exactly two decimals, Beijing times.
    const sent = peer.requests.at(-1)!;
    expect(sent).toMatchObject({
      method: 'alipay.trade.precreate',
      app_id: testAppId,
      sign_type: 'RSA2',
      charset: 'utf-8',
      version: '1.0',
      timestamp: '2026-12-01 17:00:00',
      notify_url: notifyUrl,
    });
    expect(JSON.parse(sent.biz_content)).toEqual({ out_trade_no: outTradeNo, total_amount: '100000000.00', subject: 'Acme invoice INV-0001', time_expire: '2026-12-01 18:00:00' });
  });

  it('gives the same code when the same order is asked again', async () => {
    const first = await openOrder(500n);
    const again = await openOrder(500n, first.outTradeNo);
    expect(again.codeUrl).toBe(first.codeUrl);
  });

  it('maps Alipay business errors to ChannelError with the sub_code', async () => {
    const { outTradeNo } = await openOrder(500n);
    await expectChannelError(openOrder(501n, outTradeNo), 'ACQ.CONTEXT_INCONSISTENT', false);
    await peer.pay(outTradeNo);
    await expectChannelError(openOrder(500n, outTradeNo), 'ACQ.TRADE_HAS_SUCCESS', false);
    await expectChannelError(openOrder(10_000_000_001n), 'ACQ.TOTAL_FEE_EXCEED', false);
  });

  it('refuses a bad order number or amount before calling Alipay', async () => {
    await expect(openOrder(0n)).rejects.toThrow(RangeError);
    await expect(openOrder(100n, 'x')).rejects.toThrow(RangeError);
  });

  it('is refused with isv.invalid-signature when our key is not the one Alipay knows', async () => {
    const other = makeAlipayKeys();
    const impostor = createAlipayChannel(
      { appId: testAppId, privateKey: other.appPrivateKeyPkcs8, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId, gateway: peer.url },
      deps,
    );
    await expectChannelError(
      impostor.createOrder({ outTradeNo: nextOrderNo(), amountFen: 100n, description: 'x', expiresAt: '2026-12-01T10:00:00Z', notifyUrl }),
      'isv.invalid-signature',
      false,
    );
  });

  it('accepts a PKCS#8 app key as well as PKCS#1', async () => {
    const pkcs8 = createAlipayChannel(
      { appId: testAppId, privateKey: keys.appPrivateKeyPkcs8, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId, gateway: peer.url },
      deps,
    );
    const created = await pkcs8.createOrder({ outTradeNo: nextOrderNo(), amountFen: 100n, description: 'x', expiresAt: '2026-12-01T10:00:00Z', notifyUrl });
    expect(created.codeUrl).toMatch(/^https:\/\/qr\.alipay\.com\//);
  });
});

describe('answers that cannot be trusted or were not given', () => {
  it('rejects an unsigned answer', async () => {
    peer.failNext('unsigned');
    await expectChannelError(openOrder(), 'bad_response', false);
  });

  it('rejects an answer changed after signing', async () => {
    peer.failNext('tampered');
    await expectChannelError(openOrder(), 'bad_response', false);
  });

  it('rejects an answer signed with a key that is not Alipay’s', async () => {
    peer.failNext('wrong_key');
    await expectChannelError(openOrder(), 'bad_response', false);
  });

  it('rejects a tampered query answer (a forged TRADE_SUCCESS never reaches the core)', async () => {
    const { outTradeNo } = await openOrder();
    peer.scan(outTradeNo);
    peer.failNext('tampered');
    await expectChannelError(channel.queryOrder(outTradeNo), 'bad_response', false);
  });

  it('rejects a genuine signed answer replayed from another order', async () => {
    const paid = await openOrder(100n);
    await peer.pay(paid.outTradeNo);
    expect(await channel.queryOrder(paid.outTradeNo)).toMatchObject({ state: 'paid' });
    const other = await openOrder(100n);
    peer.scan(other.outTradeNo);
    peer.failNext('replay');
    await expectChannelError(channel.queryOrder(other.outTradeNo), 'bad_response', false);
    expect(await channel.queryOrder(other.outTradeNo)).toEqual({ state: 'open' });
  });

  it('rejects a body that is not JSON', async () => {
    peer.failNext('garbage');
    await expectChannelError(openOrder(), 'bad_response', false);
  });

  it('retries on HTTP 5xx, ACQ.SYSTEM_ERROR, 20000 and on no answer at all', async () => {
    peer.failNext('http_503');
    await expectChannelError(openOrder(), 'network', true);
    peer.failNext('system_error');
    await expectChannelError(openOrder(), 'ACQ.SYSTEM_ERROR', true);
    peer.failNext('service_unavailable');
    await expectChannelError(openOrder(), 'isp.unknow-error', true);
    peer.failNext('hang');
    await expectChannelError(openOrder(), 'network', true);
  });

  it('calls a closed port a network error', async () => {
    const closed = await startAlipayPeer({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, appId: testAppId, sellerId: testSellerId });
    await closed.close();
    const offline = createAlipayChannel(
      { appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId, gateway: closed.url },
      deps,
    );
    await expectChannelError(offline.queryOrder('ord_nowhere'), 'network', true);
  });
});

describe('alipay.trade.query', () => {
  it('follows an order from not scanned to paid', async () => {
    const { outTradeNo } = await openOrder(1234n);
    // Alipay knows a precreated order only once it is scanned.
    expect(await channel.queryOrder(outTradeNo)).toEqual({ state: 'not_found' });
    peer.scan(outTradeNo);
    expect(await channel.queryOrder(outTradeNo)).toEqual({ state: 'open' });
    clock = new Date('2026-12-01T09:05:00Z');
    await peer.pay(outTradeNo, { tradeNo: '2026120122001400000000000001' });
    expect(await channel.queryOrder(outTradeNo)).toEqual({ state: 'paid', transactionId: '2026120122001400000000000001', amountFen: 1234n, paidAt: '2026-12-01T09:05:00.000Z' });
  });

  it('says TRADE_FINISHED is paid', async () => {
    const { outTradeNo } = await openOrder(99n);
    await peer.pay(outTradeNo);
    peer.orders.get(outTradeNo)!.status = 'TRADE_FINISHED';
    expect(await channel.queryOrder(outTradeNo)).toMatchObject({ state: 'paid', amountFen: 99n });
  });

  it('says closed for an order closed unpaid, or past time_expire', async () => {
    const { outTradeNo } = await openOrder();
    peer.scan(outTradeNo);
    await channel.closeOrder(outTradeNo);
    expect(await channel.queryOrder(outTradeNo)).toEqual({ state: 'closed' });

    const late = await openOrder();
    peer.scan(late.outTradeNo);
    clock = new Date('2026-12-01T10:00:01Z');
    expect(await channel.queryOrder(late.outTradeNo)).toEqual({ state: 'closed' });
  });

  it('says refunded for a paid order refunded in full (TRADE_CLOSED with a payment date)', async () => {
    const { outTradeNo } = await openOrder(700n);
    await peer.pay(outTradeNo);
    const tradeNo = peer.orders.get(outTradeNo)!.tradeNo!;
    await channel.refund({ outTradeNo, outRefundNo: 'rf_full_1', refundFen: 700n, totalFen: 700n, reason: 'duplicate', notifyUrl });
    expect(await channel.queryOrder(outTradeNo)).toEqual({ state: 'refunded', transactionId: tradeNo, amountFen: 700n });
    // A retry of the refund that closed the trade still returns that refund.
    expect(await channel.refund({ outTradeNo, outRefundNo: 'rf_full_1', refundFen: 700n, totalFen: 700n, reason: 'duplicate', notifyUrl })).toMatchObject({
      state: 'succeeded',
      refundId: `${tradeNo}:rf_full_1`,
      refundFen: 700n,
    });
  });
});

describe('alipay.trade.close', () => {
  it('closes an open order, and closing again is not an error', async () => {
    const { outTradeNo } = await openOrder();
    peer.scan(outTradeNo);
    await channel.closeOrder(outTradeNo);
    expect(peer.orders.get(outTradeNo)!.status).toBe('TRADE_CLOSED');
    await channel.closeOrder(outTradeNo);
  });

  it('treats an order Alipay does not know (never scanned, or never made) as nothing to close', async () => {
    await channel.closeOrder('ord_never_made');
    const { outTradeNo } = await openOrder();
    await channel.closeOrder(outTradeNo);
    // The documented caveat: an unscanned code stays payable until time_expire.
    expect((await peer.pay(outTradeNo)).body).toBe('success');
  });

  it('refuses to close a paid order', async () => {
    const { outTradeNo } = await openOrder();
    await peer.pay(outTradeNo);
    await expectChannelError(channel.closeOrder(outTradeNo), 'ACQ.TRADE_STATUS_ERROR', false);
  });
});

describe('alipay.trade.refund and alipay.trade.fastpay.refund.query', () => {
  it('refunds in parts; a retry with the same out_request_no returns the same refund without moving money', async () => {
    const { outTradeNo } = await openOrder(1000n);
    clock = new Date('2026-12-01T09:01:00Z');
    await peer.pay(outTradeNo);
    const tradeNo = peer.orders.get(outTradeNo)!.tradeNo!;
    clock = new Date('2026-12-01T09:10:00Z');
    const first = await channel.refund({ outTradeNo, outRefundNo: 'rf_1', refundFen: 300n, totalFen: 1000n, reason: 'partial', notifyUrl });
    expect(first).toEqual({ state: 'succeeded', refundId: `${tradeNo}:rf_1`, refundFen: 300n, succeededAt: '2026-12-01T09:10:00.000Z' });

    peer.calls.length = 0;
    const retry = await channel.refund({ outTradeNo, outRefundNo: 'rf_1', refundFen: 300n, totalFen: 1000n, reason: 'partial', notifyUrl });
    expect(retry).toEqual(first);
    // fund_change N sent the client to the refund query, as Alipay advises.
    expect(peer.calls).toEqual(['alipay.trade.refund', 'alipay.trade.fastpay.refund.query']);
    expect(peer.orders.get(outTradeNo)!.refundedFen).toBe(300n);

    const second = await channel.refund({ outTradeNo, outRefundNo: 'rf_2', refundFen: 200n, totalFen: 1000n, reason: 'partial', notifyUrl });
    expect(second).toMatchObject({ state: 'succeeded', refundFen: 200n });
    expect(await channel.queryRefund(outTradeNo, 'rf_1')).toEqual(first);
    expect(await channel.queryRefund(outTradeNo, 'rf_2')).toMatchObject({ state: 'succeeded', refundId: `${tradeNo}:rf_2`, refundFen: 200n });
    // Partly refunded, the order is still paid.
    expect(await channel.queryOrder(outTradeNo)).toMatchObject({ state: 'paid', amountFen: 1000n });
  });

  it('answers business refusals as failed, not as an outage', async () => {
    const { outTradeNo } = await openOrder(1000n);
    await peer.pay(outTradeNo);
    const tooMuch = await channel.refund({ outTradeNo, outRefundNo: 'rf_big', refundFen: 1001n, totalFen: 1000n, reason: 'x', notifyUrl });
    expect(tooMuch.state).toBe('failed');
    expect(tooMuch.state === 'failed' && tooMuch.reason).toContain('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL');

    await channel.refund({ outTradeNo, outRefundNo: 'rf_a', refundFen: 100n, totalFen: 1000n, reason: 'x', notifyUrl });
    const changed = await channel.refund({ outTradeNo, outRefundNo: 'rf_a', refundFen: 200n, totalFen: 1000n, reason: 'x', notifyUrl });
    expect(changed.state === 'failed' && changed.reason).toContain('ACQ.DISCORDANT_REPEAT_REQUEST');

    const unknown = await channel.refund({ outTradeNo: 'ord_never_made', outRefundNo: 'rf_x', refundFen: 100n, totalFen: 100n, reason: 'x', notifyUrl });
    expect(unknown.state === 'failed' && unknown.reason).toContain('ACQ.TRADE_NOT_EXIST');

    const open = await openOrder(100n);
    peer.scan(open.outTradeNo);
    const unpaid = await channel.refund({ outTradeNo: open.outTradeNo, outRefundNo: 'rf_y', refundFen: 100n, totalFen: 100n, reason: 'x', notifyUrl });
    expect(unpaid.state === 'failed' && unpaid.reason).toContain('ACQ.TRADE_STATUS_ERROR');
  });

  it('throws a retryable ChannelError when Alipay is down during a refund', async () => {
    const { outTradeNo } = await openOrder(1000n);
    await peer.pay(outTradeNo);
    peer.failNext('system_error');
    await expectChannelError(channel.refund({ outTradeNo, outRefundNo: 'rf_down', refundFen: 100n, totalFen: 1000n, reason: 'x', notifyUrl }), 'ACQ.SYSTEM_ERROR', true);
    // The retry with the same number refunds once.
    expect(await channel.refund({ outTradeNo, outRefundNo: 'rf_down', refundFen: 100n, totalFen: 1000n, reason: 'x', notifyUrl })).toMatchObject({ state: 'succeeded' });
    expect(peer.orders.get(outTradeNo)!.refundedFen).toBe(100n);
  });

  it('says not_found for a refund never asked, or an order Alipay does not know', async () => {
    const { outTradeNo } = await openOrder(1000n);
    await peer.pay(outTradeNo);
    expect(await channel.queryRefund(outTradeNo, 'rf_never')).toEqual({ state: 'not_found' });
    expect(await channel.queryRefund('ord_never_made', 'rf_never')).toEqual({ state: 'not_found' });
  });
});

describe('the notification a payment sends', () => {
  it('is verified and acknowledged with the literal success', async () => {
    const { outTradeNo } = await openOrder(4321n);
    const reply = await peer.pay(outTradeNo);
    expect(reply).toEqual({ status: 200, body: 'success' });
    const body = received.at(-1)!;
    expect(new URLSearchParams(body).get('out_trade_no')).toBe(outTradeNo);
  });
});
