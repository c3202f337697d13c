import { generateKeyPairSync } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationRejected, type PaymentChannel } from '../types.js';
import { makeAlipayKeys, testAppId, testSellerId } from './alipay.fixtures.js';
import { createAlipayChannel } from './client.js';
import { type AlipayPeer, startAlipayPeer } from './peer.js';

const keys = makeAlipayKeys();
const now = new Date('2026-12-01T09:00:00Z');
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
let peer: AlipayPeer;
let channel: PaymentChannel;

function verify(body: string, headers: Record<string, string | undefined> = formHeaders) {
  return channel.verifyNotification({ headers, rawBody: Buffer.from(body, 'utf8') }, now);
}

function rejection(body: string, headers?: Record<string, string | undefined>): NotificationRejected {
  try {
    verify(body, headers);
  } catch (error) {
    expect(error).toBeInstanceOf(NotificationRejected);
    return error as NotificationRejected;
  }
  throw new Error('the notification was accepted');
}

/** Changes one parameter of a signed body, keeping the signature: what a forger can do. */
function tamper(body: string, key: string, value: string | undefined): string {
  const params = new URLSearchParams(body);
  if (value === undefined) params.delete(key);
  else params.set(key, value);
  return params.toString();
}

let tradeSeq = 0;

/** An order the peer knows, paid at 17:05:09 Beijing time (09:05:09 UTC). */
function paidOrder(outTradeNo: string, totalFen: bigint) {
  peer.orders.set(outTradeNo, {
    outTradeNo,
    tradeNo: `2026120122001400${String(++tradeSeq).padStart(12, '0')}`,
    totalFen,
    subject: 'Acme invoice INV-0042 ✓ 发票',
    qrCode: 'https://qr.alipay.com/bax00000',
    status: 'TRADE_SUCCESS',
    gmtCreate: '2026-12-01 17:04:00',
    gmtPayment: '2026-12-01 17:05:09',
    buyerId: '2088000000000001',
    refunds: new Map(),
    refundedFen: 0n,
  });
  return peer.orders.get(outTradeNo)!;
}

beforeAll(async () => {
  // The peer here only builds and signs notifications: it plays Alipay's private key.
  peer = await startAlipayPeer({ appPublicKey: keys.appPublicKey, alipayPrivateKey: keys.alipayPrivateKey, appId: testAppId, sellerId: testSellerId, now: () => now });
  channel = createAlipayChannel({ appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId }, { now: () => now });
});

afterAll(async () => {
  await peer.close();
});

describe('a payment notification', () => {
  it('verifies: amount in fen, trade_no as the transaction id, gmt_payment as ISO UTC', () => {
    const order = paidOrder('ord_valid_1', 123_456n);
    expect(verify(peer.buildPaymentNotification('ord_valid_1'))).toEqual({
      kind: 'payment',
      channel: 'alipay',
      outTradeNo: 'ord_valid_1',
      transactionId: order.tradeNo,
      amountFen: 123_456n,
      paid: true,
      tradeState: 'TRADE_SUCCESS',
      paidAt: '2026-12-01T09:05:09.000Z',
    });
  });

  it('verifies however the form encodes a space (+ or %20)', () => {
    paidOrder('ord_space_1', 100n);
    const body = peer.buildPaymentNotification('ord_space_1');
    expect(body).toContain('+');
    expect(verify(body.replaceAll('+', '%20'))).toMatchObject({ paid: true });
  });

  it('verifies with an empty parameter in it (signed as sent, empty value included)', () => {
    paidOrder('ord_empty', 100n);
    expect(verify(peer.buildPaymentNotification('ord_empty', { passback_params: '' }))).toMatchObject({ paid: true });
  });

  it('says TRADE_FINISHED is paid', () => {
    paidOrder('ord_finished', 100n);
    expect(verify(peer.buildPaymentNotification('ord_finished', { trade_status: 'TRADE_FINISHED' }))).toMatchObject({ paid: true, tradeState: 'TRADE_FINISHED' });
  });

  it('says WAIT_BUYER_PAY and TRADE_CLOSED are not paid, keeping the state word', () => {
    paidOrder('ord_waiting', 100n);
    const waiting = verify(peer.buildPaymentNotification('ord_waiting', { trade_status: 'WAIT_BUYER_PAY', gmt_payment: undefined }));
    expect(waiting).toMatchObject({ kind: 'payment', paid: false, tradeState: 'WAIT_BUYER_PAY', amountFen: 100n });
    expect(waiting).not.toHaveProperty('paidAt');
    expect(verify(peer.buildPaymentNotification('ord_waiting', { trade_status: 'TRADE_CLOSED', gmt_payment: undefined }))).toMatchObject({
      paid: false,
      tradeState: 'TRADE_CLOSED',
    });
  });

  it('is refused when the signature is wrong, missing, or made with another key', () => {
    paidOrder('ord_sig', 100n);
    const body = peer.buildPaymentNotification('ord_sig');
    const otherSignature = new URLSearchParams(peer.buildPaymentNotification('ord_sig', { total_amount: '0.01' })).get('sign')!;
    expect(rejection(tamper(body, 'sign', otherSignature)).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign', 'not base64 at all!')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign', undefined)).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign', '')).code).toBe('signature_invalid');

    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forgedPeerBody = new AlipaySdk({ appId: testAppId, privateKey: forger, keyType: 'PKCS8' }).sdkExecute(
      'alipay.trade.notify',
      Object.fromEntries(new URLSearchParams(body)),
    );
    expect(rejection(forgedPeerBody).code).toBe('signature_invalid');
  });

  it('is refused when sign_type is changed or removed (no downgrade to RSA/SHA-1)', () => {
    paidOrder('ord_signtype', 100n);
    const body = peer.buildPaymentNotification('ord_signtype');
    expect(rejection(tamper(body, 'sign_type', 'RSA')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign_type', 'rsa2')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign_type', undefined)).code).toBe('signature_invalid');
  });

  it('is refused when any signed value is changed: amount, status, order, trade number', () => {
    paidOrder('ord_tamper', 100n);
    const body = peer.buildPaymentNotification('ord_tamper', { trade_status: 'WAIT_BUYER_PAY' });
    expect(rejection(tamper(body, 'total_amount', '1000000.00')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'trade_status', 'TRADE_SUCCESS')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'out_trade_no', 'ord_other')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'trade_no', '2026120122001499999999999999')).code).toBe('signature_invalid');
    // An added parameter is part of the signed text too.
    expect(rejection(`${body}&refund_fee=1.00`).code).toBe('signature_invalid');
  });

  it('is refused, signature good, when it names another app_id or another seller', () => {
    paidOrder('ord_merchant', 100n);
    expect(rejection(peer.buildPaymentNotification('ord_merchant', { app_id: '2021000999999999' })).code).toBe('merchant_mismatch');
    expect(rejection(peer.buildPaymentNotification('ord_merchant', { seller_id: '2088999999999999' })).code).toBe('merchant_mismatch');
    expect(rejection(peer.buildPaymentNotification('ord_merchant', { seller_id: undefined })).code).toBe('merchant_mismatch');
  });

  it('is refused as malformed, signature good, when the amount has more than two decimals or a field is missing', () => {
    paidOrder('ord_malformed', 100n);
    const thirdDecimal = rejection(peer.buildPaymentNotification('ord_malformed', { total_amount: '1.001' }));
    expect(thirdDecimal.code).toBe('malformed');
    expect(thirdDecimal.httpStatus).toBe(400);
    expect(rejection(peer.buildPaymentNotification('ord_malformed', { total_amount: '1e2' })).code).toBe('malformed');
    expect(rejection(peer.buildPaymentNotification('ord_malformed', { trade_no: undefined })).code).toBe('malformed');
    expect(rejection(peer.buildPaymentNotification('ord_malformed', { trade_status: 'TRADE_PENDING' })).code).toBe('malformed');
    expect(rejection(peer.buildPaymentNotification('ord_malformed', { gmt_payment: '2026-12-01T17:05:09' })).code).toBe('malformed');
    expect(rejection(peer.buildPaymentNotification('ord_malformed', { charset: 'gbk' })).code).toBe('malformed');
  });

  it('is refused as malformed when a parameter appears twice, or the body is not a form', () => {
    paidOrder('ord_dup', 100n);
    const body = peer.buildPaymentNotification('ord_dup');
    expect(rejection(`${body}&total_amount=0.01`).code).toBe('malformed');
    expect(rejection(body, { 'content-type': 'application/json' }).code).toBe('malformed');
    expect(() => channel.verifyNotification({ headers: formHeaders, rawBody: Buffer.from([0x61, 0x3d, 0xff, 0xfe]) }, now)).toThrow(NotificationRejected);
  });
});

describe('the trade-status notification Alipay sends after a refund', () => {
  it('is a refund notification: out_biz_no is our refund number, refund_fee the trade’s refunded total', () => {
    const order = paidOrder('ord_refunded', 1000n);
    order.refunds.set('rf_1', { outRequestNo: 'rf_1', refundFen: 300n, gmtRefundPay: '2026-12-01 17:10:00' });
    order.refunds.set('rf_2', { outRequestNo: 'rf_2', refundFen: 200n, gmtRefundPay: '2026-12-01 17:11:00' });
    order.refundedFen = 500n;
    expect(verify(peer.buildRefundNotification('ord_refunded', 'rf_2'))).toEqual({
      kind: 'refund',
      channel: 'alipay',
      outTradeNo: 'ord_refunded',
      outRefundNo: 'rf_2',
      refundId: `${order.tradeNo}:rf_2`,
      refundFen: 500n,
      refundFenIsTradeTotal: true,
      state: 'succeeded',
      channelStatus: 'TRADE_SUCCESS',
    });
    expect(rejection(tamper(peer.buildRefundNotification('ord_refunded', 'rf_2'), 'refund_fee', '10.00')).code).toBe('signature_invalid');

    // Refunded in full, the trade closes: still a refund notification, never a "not paid" payment.
    order.refunds.set('rf_3', { outRequestNo: 'rf_3', refundFen: 500n, gmtRefundPay: '2026-12-01 17:12:00' });
    order.refundedFen = 1000n;
    order.status = 'TRADE_CLOSED';
    expect(verify(peer.buildRefundNotification('ord_refunded', 'rf_3'))).toMatchObject({ kind: 'refund', outRefundNo: 'rf_3', refundFen: 1000n, channelStatus: 'TRADE_CLOSED' });
  });
});

describe('replies to Alipay', () => {
  it('acknowledges with the literal success and refuses with fail (Alipay retries anything else)', () => {
    expect(channel.acknowledge()).toEqual({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });
    expect(channel.refuse('signature_invalid', 401)).toEqual({ status: 401, contentType: 'text/plain; charset=utf-8', body: 'fail' });
    expect(channel.refuse('database busy').status).toBe(500);
  });
});

describe('independent check: notifications signed by alipay-sdk itself, not by our peer', () => {
  // AlipaySdk.sdkExecute is the SDK's own request signer (its internal util.sign): RSA2 over the
  // sorted parameters, sign_type included, values URI-encoded into a query string — the form a
  // notification body takes. Given the "Alipay" private key, it stands in for Alipay.
  const alipaySide = () => new AlipaySdk({ appId: testAppId, privateKey: keys.alipayPrivateKey, keyType: 'PKCS8' });
  const fields = {
    notify_type: 'trade_status_sync',
    notify_id: 'ac05099524730693a8b330c5ecf72da9786',
    notify_time: '2026-12-01 17:05:10',
    out_trade_no: 'ord_sdk_signed',
    trade_no: '2026120122001412345678901234',
    trade_status: 'TRADE_SUCCESS',
    total_amount: '88.88',
    seller_id: testSellerId,
    gmt_payment: '2026-12-01 17:05:09',
    subject: 'Acme invoice INV-0088 & more = ✓ 发票',
    fund_bill_list: '[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]',
  };

  it('accepts them', () => {
    const body = alipaySide().sdkExecute('alipay.trade.notify', fields);
    expect(new URLSearchParams(body).get('sign_type')).toBe('RSA2');
    expect(verify(body)).toEqual({
      kind: 'payment',
      channel: 'alipay',
      outTradeNo: 'ord_sdk_signed',
      transactionId: '2026120122001412345678901234',
      amountFen: 8888n,
      paid: true,
      tradeState: 'TRADE_SUCCESS',
      paidAt: '2026-12-01T09:05:09.000Z',
    });
  });

  it('rejects them tampered', () => {
    const body = alipaySide().sdkExecute('alipay.trade.notify', fields);
    expect(rejection(tamper(body, 'total_amount', '8888.00')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'subject', 'Acme')).code).toBe('signature_invalid');
    expect(rejection(tamper(body, 'sign_type', 'RSA')).code).toBe('signature_invalid');
  });

  it('rejects them signed by the SDK with our own app key instead of Alipay’s', () => {
    const ours = new AlipaySdk({ appId: testAppId, privateKey: keys.appPrivateKeyPkcs8, keyType: 'PKCS8' });
    expect(rejection(ours.sdkExecute('alipay.trade.notify', fields)).code).toBe('signature_invalid');
  });

  it('agrees with the SDK’s own verifier on what our peer signs', () => {
    paidOrder('ord_cross', 4200n);
    const verifier = new AlipaySdk({ appId: testAppId, privateKey: keys.appPrivateKeyPkcs8, keyType: 'PKCS8', alipayPublicKey: keys.alipayPublicKey });
    const params = Object.fromEntries(new URLSearchParams(peer.buildPaymentNotification('ord_cross')));
    expect(verifier.checkNotifySignV2(params)).toBe(true);
    expect(verifier.checkNotifySignV2({ ...params, total_amount: '1.00' })).toBe(false);
  });
});
