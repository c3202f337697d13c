import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Formatter, Rsa } from 'wechatpay-axios-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWechatPayPeer, type WechatPayPeer } from './peer.js';
import { authorizationHeader, verifyWechatpaySignature } from './signing.js';
import { APPID, MCHID, MERCHANT_SERIAL, outTradeNo, PLATFORM_SERIAL, startNotifyReceiver, wechatFixture } from './wechat.fixtures.js';

const fixture = wechatFixture();
const merchantKey = createPrivateKey(fixture.merchant.privateKeyPem);
let clock = new Date();
let peer: WechatPayPeer;
let receiver: Awaited<ReturnType<typeof startNotifyReceiver>>;

beforeAll(async () => {
  peer = await startWechatPayPeer({
    merchantPublicKeys: { [MERCHANT_SERIAL]: fixture.merchant.publicKeyPem },
    platformPrivateKey: fixture.platform.privateKeyPem,
    platformSerial: PLATFORM_SERIAL,
    apiV3Key: fixture.apiV3Key,
    mchid: MCHID,
    appid: APPID,
    now: () => clock,
  });
  receiver = await startNotifyReceiver(() => ({ status: 204 }));
});

afterAll(async () => {
  await peer?.close();
  await receiver?.close();
});

interface RawCall {
  method?: 'GET' | 'POST';
  path: string;
  body?: unknown;
  auth?: Partial<{ mchid: string; serialNo: string; timestamp: number; sign: (message: string) => string; signedPath: string }>;
}

/** A request as the client would make it, with any part of its Authorization spoilt. */
async function call({ method = 'POST', path, body, auth = {} }: RawCall): Promise<{ status: number; json: Record<string, unknown> | undefined; headers: Record<string, string> }> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const timestamp = auth.timestamp ?? Math.floor(clock.getTime() / 1000);
  let authorization = authorizationHeader({
    mchid: auth.mchid ?? MCHID,
    serialNo: auth.serialNo ?? MERCHANT_SERIAL,
    privateKey: merchantKey,
    method,
    pathWithQuery: auth.signedPath ?? path,
    body: text,
    timestamp,
    nonce: 'nonce123',
  });
  if (auth.sign)
    authorization = Formatter.authorization(auth.mchid ?? MCHID, 'nonce123', auth.sign(Formatter.request(method, path, timestamp, 'nonce123', text)), timestamp, MERCHANT_SERIAL);
  const response = await fetch(peer.url + path, {
    method,
    headers: { authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : text,
  });
  const raw = await response.text();
  return { status: response.status, json: raw === '' ? undefined : JSON.parse(raw), headers: Object.fromEntries(response.headers) };
}

function nativeOrder(no = outTradeNo(), total = 100) {
  return { appid: APPID, mchid: MCHID, description: 'd', out_trade_no: no, notify_url: receiver.url, amount: { total, currency: 'CNY' } };
}

describe('the peer checks our Authorization like WeChat Pay', () => {
  it('accepts a request signed by the independent implementation (Rsa.sign over Formatter.request)', async () => {
    const answer = await call({ path: '/v3/pay/transactions/native', body: nativeOrder(), auth: { sign: (message) => Rsa.sign(message, merchantKey) } });
    expect(answer.status).toBe(200);
    expect(answer.json?.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
  });

  it.each([
    ['another mchid', { mchid: '1900000110' }],
    ['an unknown serial', { serialNo: 'FFFF' }],
    // Read when the request is made (the test's clock), not when the table is built: on a busy machine seconds pass in between.
    [
      'a timestamp 301 s old',
      {
        get timestamp() {
          return Math.floor(clock.getTime() / 1000) - 301;
        },
      },
    ],
    [
      'a timestamp 301 s ahead',
      {
        get timestamp() {
          return Math.floor(clock.getTime() / 1000) + 301;
        },
      },
    ],
    ['a signature over another path', { signedPath: '/v3/pay/transactions/jsapi' }],
  ])('answers 401 SIGN_ERROR, signed, to %s', async (_label, auth) => {
    clock = new Date();
    const answer = await call({ path: '/v3/pay/transactions/native', body: nativeOrder(), auth });
    expect(answer).toMatchObject({ status: 401, json: { code: 'SIGN_ERROR' } });
    // Even the refusal is signed by the platform key.
    expect(() =>
      verifyWechatpaySignature(answer.headers, JSON.stringify(answer.json), new Map([[PLATFORM_SERIAL, createPublicKey(fixture.platform.publicKeyPem)]]), clock),
    ).not.toThrow();
  });

  it('answers 401 to a request without Authorization', async () => {
    const response = await fetch(`${peer.url}/v3/pay/transactions/native`, { method: 'POST', body: JSON.stringify(nativeOrder()) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'SIGN_ERROR' });
  });
});

describe('the peer keeps WeChat Pay’s order rules', () => {
  it('checks appid/mchid, the amount and the currency', async () => {
    expect((await call({ path: '/v3/pay/transactions/native', body: { ...nativeOrder(), appid: 'wx0' } })).json).toMatchObject({ code: 'APPID_MCHID_NOT_MATCH' });
    expect((await call({ path: '/v3/pay/transactions/native', body: nativeOrder(outTradeNo(), 0) })).json).toMatchObject({ code: 'PARAM_ERROR' });
    expect((await call({ path: '/v3/pay/transactions/native', body: { ...nativeOrder(), amount: { total: 1.5 } } })).json).toMatchObject({ code: 'PARAM_ERROR' });
    expect((await call({ path: '/v3/pay/transactions/native', body: { ...nativeOrder(), amount: { total: 1, currency: 'USD' } } })).json).toMatchObject({ code: 'PARAM_ERROR' });
  });

  it('will not take payment for a closed or expired order, nor twice', async () => {
    clock = new Date();
    const closed = outTradeNo();
    await call({ path: '/v3/pay/transactions/native', body: nativeOrder(closed) });
    expect((await call({ path: `/v3/pay/transactions/out-trade-no/${closed}/close`, body: { mchid: MCHID } })).status).toBe(204);
    await expect(peer.pay(closed)).rejects.toThrow(/CLOSED/);

    const expiring = outTradeNo();
    await call({ path: '/v3/pay/transactions/native', body: { ...nativeOrder(expiring), time_expire: '2020-01-01T00:00:00+08:00' } });
    await expect(peer.pay(expiring)).rejects.toThrow(/expired/);

    const paid = outTradeNo();
    await call({ path: '/v3/pay/transactions/native', body: nativeOrder(paid) });
    expect(await peer.pay(paid)).toBe(204);
    await expect(peer.pay(paid)).rejects.toThrow(/SUCCESS/);
    expect(receiver.received.at(-1)?.headers['wechatpay-serial']).toBe(PLATFORM_SERIAL);
  });

  it('answers unknown APIs 404, signed', async () => {
    const answer = await call({ method: 'GET', path: '/v3/certificates' });
    expect(answer).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    expect(answer.headers['wechatpay-signature']).toBeTruthy();
  });
});
