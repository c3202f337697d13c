import { createPrivateKey, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Formatter, Rsa } from 'wechatpay-axios-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type PaymentChannel, type VerifiedNotification } from '../types.js';
import { createWechatPayChannel } from './client.js';
import { startWechatPayPeer, type WechatPayPeer } from './peer.js';
import { parseAuthorizationHeader, wechatpaySignatureHeaders } from './signing.js';
import { APPID, MCHID, MERCHANT_SERIAL, outTradeNo, PLATFORM_SERIAL, rsaKeyPair, startNotifyReceiver, wechatFixture } from './wechat.fixtures.js';

const fixture = wechatFixture();
const deps = { now: () => new Date(), nonce: () => randomBytes(16).toString('hex') };
let peer: WechatPayPeer;
let channel: PaymentChannel;
let receiver: Awaited<ReturnType<typeof startNotifyReceiver>>;
const verified: VerifiedNotification[] = [];

beforeAll(async () => {
  peer = await startWechatPayPeer({
    merchantPublicKeys: { [MERCHANT_SERIAL]: fixture.merchant.publicKeyPem },
    platformPrivateKey: fixture.platform.privateKeyPem,
    platformSerial: PLATFORM_SERIAL,
    apiV3Key: fixture.apiV3Key,
    mchid: MCHID,
    appid: APPID,
  });
  channel = createWechatPayChannel({ ...fixture.config, baseUrl: peer.url }, deps);
  // The product's callback in miniature: verify, then acknowledge or refuse.
  receiver = await startNotifyReceiver((received) => {
    try {
      verified.push(channel.verifyNotification(received, new Date()));
      return channel.acknowledge();
    } catch (error) {
      return channel.refuse(error instanceof Error ? error.message : 'rejected', 401);
    }
  });
});

afterAll(async () => {
  await peer?.close();
  await receiver?.close();
});

async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ChannelError);
    return error as ChannelError;
  }
  throw new Error('expected a ChannelError');
}

function orderInput(no = outTradeNo(), amountFen = 12_345n) {
  return { outTradeNo: no, amountFen, description: 'Acme AI invoice INV-0001', expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(), notifyUrl: receiver.url };
}

async function paidOrder(amountFen = 10_000n): Promise<string> {
  const no = outTradeNo();
  await channel.createOrder(orderInput(no, amountFen));
  expect(await peer.pay(no)).toBe(204);
  return no;
}

describe('Native order: create, query, pay', () => {
  it('creates an order whose code_url is a WeChat Pay QR, sending fen, CNY and a Beijing-time expiry, signed so the peer accepts it', async () => {
    const input = { ...orderInput(), expiresAt: '2099-12-01T16:00:00.000Z' };
    const created = await channel.createOrder(input);
    expect(created.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[A-Za-z0-9]{7}$/);
    const order = peer.orders.get(input.outTradeNo)!;
    expect(order).toMatchObject({ totalFen: 12_345n, description: input.description, notifyUrl: receiver.url, timeExpire: '2099-12-02T00:00:00+08:00', tradeState: 'NOTPAY' });
    expect(peer.requests.at(-1)).toEqual({ method: 'POST', path: '/v3/pay/transactions/native', authorized: true });
    // A retry with the same parameters gets the same QR.
    expect(await channel.createOrder(input)).toEqual(created);
  });

  it('sends exactly the documented body, and an Authorization the independent Rsa.verify accepts over Formatter.request', async () => {
    const sent: Array<{ url: string; init: RequestInit }> = [];
    const capturing = createWechatPayChannel(
      { ...fixture.config, baseUrl: peer.url },
      {
        ...deps,
        fetch: (url, init) => {
          sent.push({ url: String(url), init: init! });
          return fetch(url, init);
        },
      },
    );
    const input = { ...orderInput(), expiresAt: '2099-01-01T00:00:00Z', amountFen: 1n };
    await capturing.createOrder(input);
    await capturing.queryOrder(input.outTradeNo);
    const [create, query] = sent;
    expect(JSON.parse(String(create.init.body))).toEqual({
      appid: APPID,
      mchid: MCHID,
      description: input.description,
      out_trade_no: input.outTradeNo,
      time_expire: '2099-01-01T08:00:00+08:00',
      notify_url: receiver.url,
      amount: { total: 1, currency: 'CNY' },
    });
    expect(query.url).toBe(`${peer.url}/v3/pay/transactions/out-trade-no/${input.outTradeNo}?mchid=${MCHID}`);
    expect(query.init.body).toBeUndefined();
    for (const { url, init } of sent) {
      const headers = init.headers as Record<string, string>;
      const auth = parseAuthorizationHeader(headers.Authorization)!;
      expect(auth).toMatchObject({ mchid: MCHID, serialNo: MERCHANT_SERIAL });
      const { pathname, search } = new URL(url);
      const message = Formatter.request(String(init.method), pathname + search, auth.timestamp, auth.nonce, init.body === undefined ? '' : String(init.body));
      expect(Rsa.verify(message, auth.signature, Rsa.from(fixture.merchant.publicKeyPem, Rsa.KEY_TYPE_PUBLIC))).toBe(true);
      expect(headers.Accept).toBe('application/json');
      expect(headers['User-Agent']).toBeTruthy();
    }
  });

  it('reads an unpaid order as open, and after the payer pays: the notification is verified and the order reads paid', async () => {
    const no = outTradeNo();
    await channel.createOrder(orderInput(no, 8_800n));
    expect(await channel.queryOrder(no)).toEqual({ state: 'open' });
    expect(await peer.pay(no, { transactionId: '4200000000202612010000000001' })).toBe(204);
    expect(verified.at(-1)).toMatchObject({
      kind: 'payment',
      channel: 'wechat',
      outTradeNo: no,
      transactionId: '4200000000202612010000000001',
      amountFen: 8_800n,
      paid: true,
      tradeState: 'SUCCESS',
    });
    const state = await channel.queryOrder(no);
    expect(state).toMatchObject({ state: 'paid', transactionId: '4200000000202612010000000001', amountFen: 8_800n });
    expect(state.state === 'paid' && state.paidAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
  });

  it('reads an order WeChat Pay does not know as not_found (404 ORDER_NOT_EXIST)', async () => {
    expect(await channel.queryOrder(outTradeNo('NONE'))).toEqual({ state: 'not_found' });
  });

  it('refuses a different order under a used number, and a paid number, with WeChat Pay’s codes', async () => {
    const no = await paidOrder();
    const paid = await channelError(channel.createOrder(orderInput(no, 10_000n)));
    expect(paid).toMatchObject({ channelCode: 'ORDERPAID', retryable: false });
    const open = outTradeNo();
    await channel.createOrder(orderInput(open, 100n));
    expect(await channelError(channel.createOrder(orderInput(open, 200n)))).toMatchObject({ channelCode: 'INVALID_REQUEST', retryable: false });
  });

  it('checks its input before calling: out-trade number, amount, description, expiry', async () => {
    const before = peer.requests.length;
    expect(await channelError(channel.createOrder(orderInput('bad no!')))).toMatchObject({ channelCode: 'invalid_input' });
    expect(await channelError(channel.createOrder(orderInput(outTradeNo(), 0n)))).toMatchObject({ channelCode: 'invalid_input' });
    expect(await channelError(channel.createOrder({ ...orderInput(), description: '发'.repeat(43) }))).toMatchObject({ channelCode: 'invalid_input' });
    expect(await channelError(channel.createOrder({ ...orderInput(), expiresAt: 'soon' }))).toMatchObject({ channelCode: 'invalid_input' });
    expect(peer.requests.length).toBe(before);
  });
});

describe('trade states the peer does not produce', () => {
  /** A fetch that answers as WeChat Pay would, signed with the platform key. */
  function answering(status: number, payload: unknown): typeof fetch {
    return async () => {
      const body = JSON.stringify(payload);
      const headers = wechatpaySignatureHeaders({
        body,
        privateKey: createPrivateKey(fixture.platform.privateKeyPem),
        serial: PLATFORM_SERIAL,
        timestamp: Math.floor(Date.now() / 1000),
        nonce: 'stub',
      });
      return new Response(body, { status, headers: { ...headers, 'content-type': 'application/json' } });
    };
  }
  const no = 'BM_STUB_000001';

  it.each([
    ['USERPAYING', { state: 'open' }],
    ['REVOKED', { state: 'closed' }],
    ['PAYERROR', { state: 'closed' }],
  ])('reads %s as %o', async (tradeState, expected) => {
    const stub = createWechatPayChannel(fixture.config, {
      ...deps,
      fetch: answering(200, { appid: APPID, mchid: MCHID, out_trade_no: no, trade_state: tradeState, amount: { total: 1 } }),
    });
    expect(await stub.queryOrder(no)).toEqual(expected);
  });

  it('refuses an unknown trade_state, a SUCCESS without its transaction, an answer about another order, and a fractional amount', async () => {
    const query = (payload: unknown) => channelError(createWechatPayChannel(fixture.config, { ...deps, fetch: answering(200, payload) }).queryOrder(no));
    expect(await query({ out_trade_no: no, trade_state: 'WHATEVER' })).toMatchObject({ channelCode: 'bad_response' });
    expect(await query({ out_trade_no: no, trade_state: 'SUCCESS', amount: { total: 1 } })).toMatchObject({ channelCode: 'bad_response' });
    expect(await query({ out_trade_no: 'BM_OTHER_0001', trade_state: 'NOTPAY' })).toMatchObject({ channelCode: 'bad_response' });
    expect(await query({ out_trade_no: no, trade_state: 'SUCCESS', transaction_id: 't', success_time: '2026-12-01T10:00:00+08:00', amount: { total: 1.5 } })).toMatchObject({
      channelCode: 'bad_response',
    });
  });

  it('refuses a refund answer about another order', async () => {
    const stub = createWechatPayChannel(fixture.config, {
      ...deps,
      fetch: answering(200, { refund_id: '50', out_refund_no: `${no}R`, out_trade_no: 'BM_OTHER_0001', status: 'SUCCESS', amount: { refund: 1, total: 1 } }),
    });
    expect(await channelError(stub.queryRefund(no, `${no}R`))).toMatchObject({ channelCode: 'bad_response' });
  });
});

describe('close', () => {
  it('closes an open order, closing again is fine, and the order reads closed', async () => {
    const no = outTradeNo();
    await channel.createOrder(orderInput(no));
    await channel.closeOrder(no);
    await channel.closeOrder(no);
    expect(await channel.queryOrder(no)).toEqual({ state: 'closed' });
    expect(peer.orders.get(no)!.tradeState).toBe('CLOSED');
  });

  it('refuses to close a paid order (ORDERPAID) or an unknown one (ORDER_NOT_EXIST)', async () => {
    const no = await paidOrder();
    expect(await channelError(channel.closeOrder(no))).toMatchObject({ channelCode: 'ORDERPAID', retryable: false });
    expect(await channelError(channel.closeOrder(outTradeNo('NONE')))).toMatchObject({ channelCode: 'ORDER_NOT_EXIST', retryable: false });
  });
});

describe('refunds', () => {
  it('refunds in parts never beyond the paid total; the same out_refund_no is the same refund; the notification and the query say succeeded', async () => {
    const no = await paidOrder(10_000n);
    const input = { outTradeNo: no, outRefundNo: `${no}R1`, refundFen: 3_000n, totalFen: 10_000n, reason: '客户取消', notifyUrl: receiver.url };
    const first = await channel.refund(input);
    expect(first).toMatchObject({ state: 'pending', refundFen: 3_000n });
    expect(await channel.refund(input)).toEqual(first);
    expect(peer.orders.get(no)!.refundedFen).toBe(3_000n);

    expect(await channel.refund({ ...input, outRefundNo: `${no}R2`, refundFen: 7_000n })).toMatchObject({ state: 'pending', refundFen: 7_000n });
    const over = await channelError(channel.refund({ ...input, outRefundNo: `${no}R3`, refundFen: 1n }));
    expect(over).toMatchObject({ channelCode: 'INVALID_REQUEST', retryable: false });

    expect(await peer.notifyRefund(`${no}R1`)).toBe(204);
    expect(verified.at(-1)).toMatchObject({ kind: 'refund', outTradeNo: no, outRefundNo: `${no}R1`, refundFen: 3_000n, state: 'succeeded', channelStatus: 'SUCCESS' });
    const queried = await channel.queryRefund(no, `${no}R1`);
    expect(queried).toMatchObject({ state: 'succeeded', refundFen: 3_000n, refundId: first.state === 'pending' ? first.refundId : '' });
    expect(queried.state === 'succeeded' && queried.succeededAt).toMatch(/Z$/);
    expect(await channel.queryRefund(no, `${no}R2`)).toMatchObject({ state: 'pending' });
    expect(await channel.queryOrder(no)).toEqual({ state: 'refunded', transactionId: peer.orders.get(no)!.transactionId, amountFen: 10_000n });
  });

  it('a closed refund reads failed and gives its amount back', async () => {
    const no = await paidOrder(500n);
    await channel.refund({ outTradeNo: no, outRefundNo: `${no}R1`, refundFen: 500n, totalFen: 500n, reason: '', notifyUrl: receiver.url });
    expect(await peer.notifyRefund(`${no}R1`, { status: 'CLOSED' })).toBe(204);
    expect(verified.at(-1)).toMatchObject({ kind: 'refund', state: 'failed', channelStatus: 'CLOSED' });
    expect(await channel.queryRefund(no, `${no}R1`)).toMatchObject({ state: 'failed' });
    expect(await channel.refund({ outTradeNo: no, outRefundNo: `${no}R2`, refundFen: 500n, totalFen: 500n, reason: '', notifyUrl: receiver.url })).toMatchObject({
      state: 'pending',
    });
  });

  it('refuses to refund an unpaid order, and a total that is not the order’s; an unknown refund reads not_found', async () => {
    const open = outTradeNo();
    await channel.createOrder(orderInput(open, 100n));
    const base = { outTradeNo: open, outRefundNo: `${open}R1`, refundFen: 100n, totalFen: 100n, reason: 'x', notifyUrl: receiver.url };
    expect(await channelError(channel.refund(base))).toMatchObject({ channelCode: 'INVALID_REQUEST' });
    const paid = await paidOrder(100n);
    expect(await channelError(channel.refund({ ...base, outTradeNo: paid, outRefundNo: `${paid}R1`, totalFen: 99n, refundFen: 99n }))).toMatchObject({
      channelCode: 'PARAM_ERROR',
    });
    expect(await channelError(channel.refund({ ...base, outTradeNo: paid, outRefundNo: `${paid}R1`, refundFen: 101n }))).toMatchObject({ channelCode: 'invalid_input' });
    expect(await channel.queryRefund(paid, `${paid}NONE`)).toEqual({ state: 'not_found' });
  });
});

describe('every response is verified', () => {
  it.each([
    ['unsigned', { kind: 'unsigned' as const }],
    ['tampered after signing', { kind: 'tampered' as const }],
    ['signed with a key we do not trust', { kind: 'wrong_key' as const }],
    ['signed 301 s ago', { kind: 'stale' as const, seconds: 301 }],
  ])('rejects a response %s as bad_response, not retryable', async (_label, fault) => {
    peer.injectFault(fault);
    expect(await channelError(channel.createOrder(orderInput()))).toMatchObject({ channel: 'wechat', channelCode: 'bad_response', retryable: false });
  });

  it('rejects an unsigned error too (it could come from anyone), and an unsigned 204 close', async () => {
    peer.injectFault({ kind: 'unsigned' });
    expect(await channelError(channel.queryOrder(outTradeNo('NONE')))).toMatchObject({ channelCode: 'bad_response' });
    const no = outTradeNo();
    await channel.createOrder(orderInput(no));
    peer.injectFault({ kind: 'unsigned' });
    expect(await channelError(channel.closeOrder(no))).toMatchObject({ channelCode: 'bad_response' });
  });

  it('maps signed errors: SYSTEM_ERROR 500 and FREQUENCY_LIMITED 429 are retryable, PARAM_ERROR is not', async () => {
    peer.injectFault({ kind: 'error', status: 500, code: 'SYSTEM_ERROR' });
    expect(await channelError(channel.createOrder(orderInput()))).toMatchObject({ channelCode: 'SYSTEM_ERROR', retryable: true });
    peer.injectFault({ kind: 'error', status: 429, code: 'FREQUENCY_LIMITED' });
    expect(await channelError(channel.queryOrder(outTradeNo()))).toMatchObject({ channelCode: 'FREQUENCY_LIMITED', retryable: true });
    peer.injectFault({ kind: 'error', status: 400, code: 'PARAM_ERROR', message: 'bad' });
    expect(await channelError(channel.createOrder(orderInput()))).toMatchObject({ channelCode: 'PARAM_ERROR', retryable: false });
  });

  it('a request signed with another key is refused by the peer with 401 SIGN_ERROR', async () => {
    const stranger = createWechatPayChannel({ ...fixture.config, baseUrl: peer.url, merchantPrivateKeyPem: rsaKeyPair().privateKeyPem }, deps);
    expect(await channelError(stranger.createOrder(orderInput()))).toMatchObject({ channelCode: 'SIGN_ERROR', retryable: false });
    const skewed = createWechatPayChannel({ ...fixture.config, baseUrl: peer.url }, { ...deps, now: () => new Date(Date.now() - 301_000) });
    // The peer refuses the stale request; the client, living in its own past, also finds the answer out of window.
    expect(await channelError(skewed.queryOrder(outTradeNo()))).toMatchObject({ channelCode: 'bad_response' });
    expect(peer.requests.at(-1)?.authorized).toBe(false);
  });
});

describe('network', () => {
  it('a refused connection is a retryable network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const offline = createWechatPayChannel({ ...fixture.config, baseUrl: `http://127.0.0.1:${port}` }, deps);
    expect(await channelError(offline.queryOrder(outTradeNo()))).toMatchObject({ channelCode: 'network', retryable: true });
  });

  it('a gateway that never answers times out as a retryable network error', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const slow = createWechatPayChannel({ ...fixture.config, baseUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 200 }, deps);
      expect(await channelError(slow.queryOrder(outTradeNo()))).toMatchObject({ channelCode: 'network', retryable: true });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a redirect is not followed: the unsigned 302 is bad_response and the target never sees our request', async () => {
    const before = peer.requests.length;
    const redirector = createServer((_req, res) => res.writeHead(302, { location: `${peer.url}/v3/pay/transactions/native` }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const { port } = redirector.address() as AddressInfo;
    try {
      const redirected = createWechatPayChannel({ ...fixture.config, baseUrl: `http://127.0.0.1:${port}` }, deps);
      expect(await channelError(redirected.createOrder(orderInput()))).toMatchObject({ channelCode: 'bad_response', retryable: false });
      expect(peer.requests.length).toBe(before);
    } finally {
      redirector.closeAllConnections();
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
    }
  });

  it('an unsigned 502 from a gateway in front of WeChat Pay is bad_response but worth retrying', async () => {
    const gateway = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>'));
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const { port } = gateway.address() as AddressInfo;
    try {
      const behind = createWechatPayChannel({ ...fixture.config, baseUrl: `http://127.0.0.1:${port}` }, deps);
      expect(await channelError(behind.queryOrder(outTradeNo()))).toMatchObject({ channelCode: 'bad_response', retryable: true });
    } finally {
      gateway.closeAllConnections();
      await new Promise<void>((resolve) => gateway.close(() => resolve()));
    }
  });
});

describe('replies to WeChat Pay', () => {
  it('acknowledges with 204 and no body; refuses with {"code":"FAIL","message"} JSON', () => {
    expect(channel.acknowledge()).toEqual({ status: 204 });
    expect(channel.refuse('try later')).toEqual({ status: 500, contentType: 'application/json', body: '{"code":"FAIL","message":"try later"}' });
    expect(channel.refuse('no', 401).status).toBe(401);
  });
});
