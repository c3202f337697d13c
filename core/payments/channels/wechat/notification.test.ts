import { createPrivateKey, randomBytes } from 'node:crypto';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IncomingNotification, NotificationRejected, type PaymentChannel } from '../types.js';
import { createWechatPayChannel } from './client.js';
import { type BuiltNotification, startWechatPayPeer, type WechatPayPeer } from './peer.js';
import { encryptResource, wechatpaySignatureHeaders } from './signing.js';
import { APPID, MCHID, MERCHANT_SERIAL, outTradeNo, PLATFORM_SERIAL, rsaKeyPair, startNotifyReceiver, wechatFixture } from './wechat.fixtures.js';

const fixture = wechatFixture();
const platformKey = createPrivateKey(fixture.platform.privateKeyPem);
let peer: WechatPayPeer;
let channel: PaymentChannel;
let receiver: Awaited<ReturnType<typeof startNotifyReceiver>>;
let paidNo: string;
let refundedNo: string;

beforeAll(async () => {
  peer = await startWechatPayPeer({
    merchantPublicKeys: { [MERCHANT_SERIAL]: fixture.merchant.publicKeyPem },
    platformPrivateKey: fixture.platform.privateKeyPem,
    platformSerial: PLATFORM_SERIAL,
    apiV3Key: fixture.apiV3Key,
    mchid: MCHID,
    appid: APPID,
  });
  channel = createWechatPayChannel({ ...fixture.config, baseUrl: peer.url }, { now: () => new Date(), nonce: () => randomBytes(16).toString('hex') });
  // These tests build notifications themselves: the receiver only takes what pay() sends.
  receiver = await startNotifyReceiver(() => ({ status: 204 }));
  paidNo = outTradeNo();
  await channel.createOrder({
    outTradeNo: paidNo,
    amountFen: 2_999n,
    description: 'Acme AI invoice INV-7',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    notifyUrl: receiver.url,
  });
  await peer.pay(paidNo, { transactionId: '4200000000202612017777777777', payerTotalFen: 2_899n });
  refundedNo = outTradeNo();
  await channel.createOrder({
    outTradeNo: refundedNo,
    amountFen: 1_000n,
    description: 'Acme AI invoice INV-8',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    notifyUrl: receiver.url,
  });
  await peer.pay(refundedNo);
  for (const [suffix, status] of [
    ['S', 'SUCCESS'],
    ['C', 'CLOSED'],
    ['A', 'ABNORMAL'],
  ] as const) {
    await channel.refund({ outTradeNo: refundedNo, outRefundNo: `${refundedNo}${suffix}`, refundFen: 300n, totalFen: 1_000n, reason: 'test', notifyUrl: receiver.url });
    await peer.notifyRefund(`${refundedNo}${suffix}`, { status });
  }
});

afterAll(async () => {
  await peer?.close();
  await receiver?.close();
});

const incoming = (built: BuiltNotification, headers: Record<string, string> = {}): IncomingNotification => ({
  headers: { ...built.headers, ...headers },
  rawBody: Buffer.from(built.body),
});
const signedAt = (built: BuiltNotification) => new Date(Number(built.headers['wechatpay-timestamp']) * 1000);

function rejection(fn: () => unknown): NotificationRejected {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(NotificationRejected);
    return error as NotificationRejected;
  }
  throw new Error('expected NotificationRejected');
}

/** Signs any body as the platform would: for bodies whose content is wrong but whose signature is right. */
function signedAsPlatform(body: string): BuiltNotification {
  return { headers: wechatpaySignatureHeaders({ body, privateKey: platformKey, serial: PLATFORM_SERIAL, timestamp: Math.floor(Date.now() / 1000), nonce: 'resigned' }), body };
}

describe('payment notifications', () => {
  it('verifies, decrypts and maps TRANSACTION.SUCCESS: the order total in fen, the transaction id, the time in UTC', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const order = peer.orders.get(paidNo)!;
    expect(channel.verifyNotification(incoming(built), new Date())).toEqual({
      kind: 'payment',
      channel: 'wechat',
      outTradeNo: paidNo,
      transactionId: '4200000000202612017777777777',
      amountFen: 2_999n,
      paid: true,
      tradeState: 'SUCCESS',
      paidAt: new Date(order.successTime!).toISOString(),
    });
  });

  it('refuses a wrong signature and a serial we hold no key for (401 signature_invalid)', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const signature = built.headers['wechatpay-signature'];
    const flipped = (signature[5] === 'A' ? 'B' : 'A') + '';
    expect(rejection(() => channel.verifyNotification(incoming(built, { 'wechatpay-signature': signature.slice(0, 5) + flipped + signature.slice(6) }), new Date()))).toMatchObject(
      {
        code: 'signature_invalid',
        httpStatus: 401,
      },
    );
    expect(rejection(() => channel.verifyNotification(incoming(built, { 'wechatpay-serial': 'PUB_KEY_ID_0000' }), new Date()))).toMatchObject({ code: 'signature_invalid' });
    const { 'wechatpay-signature': _gone, ...unsigned } = built.headers;
    expect(rejection(() => channel.verifyNotification({ headers: unsigned, rawBody: Buffer.from(built.body) }, new Date()))).toMatchObject({ code: 'signature_invalid' });
  });

  it('refuses a notification signed by a key that is not the platform’s, even under the right serial', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const forged = wechatpaySignatureHeaders({
      body: built.body,
      privateKey: createPrivateKey(rsaKeyPair().privateKeyPem),
      serial: PLATFORM_SERIAL,
      timestamp: Math.floor(Date.now() / 1000),
      nonce: 'x',
    });
    expect(rejection(() => channel.verifyNotification(incoming(built, forged), new Date()))).toMatchObject({ code: 'signature_invalid' });
  });

  it('accepts ±300 s and refuses a timestamp 301 s old or 301 s ahead (a replay, or a clock gone wrong)', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const at = signedAt(built).getTime();
    expect(channel.verifyNotification(incoming(built), new Date(at + 300_000)).kind).toBe('payment');
    expect(channel.verifyNotification(incoming(built), new Date(at - 300_000)).kind).toBe('payment');
    expect(rejection(() => channel.verifyNotification(incoming(built), new Date(at + 301_000)))).toMatchObject({ code: 'timestamp_out_of_window' });
    expect(rejection(() => channel.verifyNotification(incoming(built), new Date(at - 301_000)))).toMatchObject({ code: 'timestamp_out_of_window' });
    const stale = peer.buildPaymentNotification(paidNo, { signedAt: new Date(Date.now() - 3_600_000) });
    expect(rejection(() => channel.verifyNotification(incoming(stale), new Date()))).toMatchObject({ code: 'timestamp_out_of_window' });
  });

  it('refuses the WECHATPAY/SIGNTEST/ probe', () => {
    const built = peer.buildPaymentNotification(paidNo);
    expect(rejection(() => channel.verifyNotification(incoming(built, { 'wechatpay-signature': 'WECHATPAY/SIGNTEST/Zm9vYmFy' }), new Date()))).toMatchObject({
      code: 'signature_probe',
    });
  });

  it('refuses a body changed after signing', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const changed = { ...built, body: built.body.replace('"summary":"支付成功"', '"summary":"支付成功 "') };
    expect(changed.body).not.toBe(built.body);
    expect(rejection(() => channel.verifyNotification(incoming(changed, built.headers), new Date()))).toMatchObject({ code: 'signature_invalid' });
  });

  it('refuses a ciphertext whose GCM tag fails, even when the envelope is signed (decrypt_failed)', () => {
    const envelope = JSON.parse(peer.buildPaymentNotification(paidNo).body);
    const sealed = Buffer.from(envelope.resource.ciphertext, 'base64');
    sealed[10] ^= 0x01;
    envelope.resource.ciphertext = sealed.toString('base64');
    expect(rejection(() => channel.verifyNotification(incoming(signedAsPlatform(JSON.stringify(envelope))), new Date()))).toMatchObject({ code: 'decrypt_failed' });
    // Another APIv3 key: the same failure.
    envelope.resource.ciphertext = encryptResource('{"a":1}', 'another-32-byte-apiv3-key-012345', envelope.resource.nonce, 'transaction');
    expect(rejection(() => channel.verifyNotification(incoming(signedAsPlatform(JSON.stringify(envelope))), new Date()))).toMatchObject({ code: 'decrypt_failed' });
  });

  it('refuses a resource for another mchid or another appid (merchant_mismatch)', () => {
    const otherMerchant = peer.buildPaymentNotification(paidNo, { resource: { mchid: '1900000110' } });
    expect(rejection(() => channel.verifyNotification(incoming(otherMerchant), new Date()))).toMatchObject({ code: 'merchant_mismatch' });
    const otherApp = peer.buildPaymentNotification(paidNo, { resource: { appid: 'wx0000000000000000' } });
    expect(rejection(() => channel.verifyNotification(incoming(otherApp), new Date()))).toMatchObject({ code: 'merchant_mismatch' });
  });

  it('answers malformed notifications 400: not JSON, no resource, another algorithm, a resource missing its amount, an unknown event', () => {
    const malformed = (body: string) => rejection(() => channel.verifyNotification(incoming(signedAsPlatform(body)), new Date()));
    expect(malformed('not json')).toMatchObject({ code: 'malformed', httpStatus: 400 });
    expect(malformed('{"id":"EV-1","event_type":"TRANSACTION.SUCCESS"}')).toMatchObject({ code: 'malformed', httpStatus: 400 });
    const envelope = JSON.parse(peer.buildPaymentNotification(paidNo).body);
    expect(malformed(JSON.stringify({ ...envelope, resource: { ...envelope.resource, algorithm: 'AES_128_CBC' } }))).toMatchObject({ code: 'malformed' });
    expect(malformed(JSON.stringify({ ...envelope, event_type: 'TRANSACTION.SOMETHING' }))).toMatchObject({ code: 'malformed' });
    const noAmount = peer.buildPaymentNotification(paidNo, { resource: { amount: { total: 1.5 } } });
    expect(rejection(() => channel.verifyNotification(incoming(noAmount), new Date()))).toMatchObject({ code: 'malformed', httpStatus: 400 });
  });
});

describe('refund notifications', () => {
  it.each([
    ['S', 'SUCCESS', 'succeeded'],
    ['C', 'CLOSED', 'failed'],
    ['A', 'ABNORMAL', 'failed'],
  ] as const)('maps REFUND.%s… (%s) to %s', (suffix, status, state) => {
    const built = peer.buildRefundNotification(`${refundedNo}${suffix}`);
    expect(JSON.parse(built.body).event_type).toBe(`REFUND.${status}`);
    const refund = peer.refunds.get(`${refundedNo}${suffix}`)!;
    expect(channel.verifyNotification(incoming(built), new Date())).toEqual({
      kind: 'refund',
      channel: 'wechat',
      outTradeNo: refundedNo,
      outRefundNo: `${refundedNo}${suffix}`,
      refundId: refund.refundId,
      refundFen: 300n,
      state,
      channelStatus: status,
    });
  });

  it('refuses a refund for another merchant', () => {
    const built = peer.buildRefundNotification(`${refundedNo}S`, { resource: { mchid: '1900000110' } });
    expect(rejection(() => channel.verifyNotification(incoming(built), new Date()))).toMatchObject({ code: 'merchant_mismatch' });
  });
});

describe('independent check: notifications built with wechatpay-axios-plugin', () => {
  /** Everything here comes from the plugin: nonces, AES-GCM, the message format, the RSA signature. */
  function pluginNotification(eventType: string, originalType: string, resource: object, at: number) {
    const aeadNonce = Formatter.nonce(12);
    const body = JSON.stringify({
      id: 'EV-2026120100000001',
      create_time: '2026-12-01T10:00:00+08:00',
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary: 'plugin',
      resource: {
        original_type: originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: Aes.AesGcm.encrypt(JSON.stringify(resource), fixture.apiV3Key, aeadNonce, originalType),
        associated_data: originalType,
        nonce: aeadNonce,
      },
    });
    const nonce = Formatter.nonce();
    const signature = Rsa.sign(Formatter.response(at, nonce, body), Rsa.from(fixture.platform.privateKeyPem, Rsa.KEY_TYPE_PRIVATE));
    return {
      headers: {
        'wechatpay-timestamp': String(at),
        'wechatpay-nonce': nonce,
        'wechatpay-signature': signature,
        'wechatpay-serial': PLATFORM_SERIAL,
        'content-type': 'application/json',
      },
      rawBody: Buffer.from(body),
    };
  }
  const at = 1_796_090_400; // 2026-12-01T02:00:00Z
  const now = new Date(at * 1000);

  it('accepts the plugin’s TRANSACTION.SUCCESS', () => {
    const notification = pluginNotification(
      'TRANSACTION.SUCCESS',
      'transaction',
      {
        appid: APPID,
        mchid: MCHID,
        out_trade_no: 'BM20261201000001',
        transaction_id: '4200000000202612010000000042',
        trade_type: 'NATIVE',
        trade_state: 'SUCCESS',
        trade_state_desc: '支付成功',
        bank_type: 'OTHERS',
        attach: '',
        success_time: '2026-12-01T10:00:00+08:00',
        payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
        amount: { total: 100_000_001, payer_total: 100_000_001, currency: 'CNY', payer_currency: 'CNY' },
      },
      at,
    );
    expect(channel.verifyNotification(notification, now)).toEqual({
      kind: 'payment',
      channel: 'wechat',
      outTradeNo: 'BM20261201000001',
      transactionId: '4200000000202612010000000042',
      amountFen: 100_000_001n,
      paid: true,
      tradeState: 'SUCCESS',
      paidAt: '2026-12-01T02:00:00.000Z',
    });
    expect(rejection(() => channel.verifyNotification(notification, new Date(now.getTime() + 301_000)))).toMatchObject({ code: 'timestamp_out_of_window' });
  });

  it('accepts the plugin’s REFUND.SUCCESS', () => {
    const notification = pluginNotification(
      'REFUND.SUCCESS',
      'refund',
      {
        mchid: MCHID,
        out_trade_no: 'BM20261201000001',
        transaction_id: '4200000000202612010000000042',
        out_refund_no: 'BM20261201000001R1',
        refund_id: '50000000382019052709732678859',
        refund_status: 'SUCCESS',
        success_time: '2026-12-01T10:05:00+08:00',
        user_received_account: '支付用户零钱',
        amount: { total: 999, refund: 1, payer_total: 999, payer_refund: 1 },
      },
      at,
    );
    expect(channel.verifyNotification(notification, now)).toMatchObject({ kind: 'refund', refundId: '50000000382019052709732678859', refundFen: 1n, state: 'succeeded' });
  });

  it('the plugin’s Rsa.verify accepts what our peer signs for our client (and rejects it under another key)', () => {
    const built = peer.buildPaymentNotification(paidNo);
    const message = Formatter.response(built.headers['wechatpay-timestamp'], built.headers['wechatpay-nonce'], built.body);
    expect(Rsa.verify(message, built.headers['wechatpay-signature'], Rsa.from(fixture.platform.publicKeyPem, Rsa.KEY_TYPE_PUBLIC))).toBe(true);
    expect(Rsa.verify(message, built.headers['wechatpay-signature'], Rsa.from(fixture.merchant.publicKeyPem, Rsa.KEY_TYPE_PUBLIC))).toBe(false);
    // And its AES-GCM decrypts our peer's resource.
    const { resource } = JSON.parse(built.body);
    expect(JSON.parse(Aes.AesGcm.decrypt(resource.ciphertext, fixture.apiV3Key, resource.nonce, resource.associated_data))).toMatchObject({ out_trade_no: paidNo, mchid: MCHID });
  });
});
