import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Aes, Formatter, Rsa } from 'wechatpay-axios-plugin';
import { describe, expect, it } from 'vitest';
import {
  authorizationHeader,
  decryptResource,
  encryptResource,
  parseAuthorizationHeader,
  requestMessage,
  responseMessage,
  signMessage,
  verifyMessage,
  verifyWechatpaySignature,
  WechatSignatureError,
  wechatpaySignatureHeaders,
} from './signing.js';
import { rfc3339ToIsoUtc, toBeijingRfc3339 } from './time.js';
import { randomApiV3Key, rsaKeyPair } from './wechat.fixtures.js';

const merchant = rsaKeyPair();
const platform = rsaKeyPair();
const merchantKey = createPrivateKey(merchant.privateKeyPem);
const platformKey = createPrivateKey(platform.privateKeyPem);
const platformKeys = new Map([['PUB_KEY_ID_01', createPublicKey(platform.publicKeyPem)]]);
const NOW = new Date('2026-12-01T02:00:00Z');
const NOW_S = NOW.getTime() / 1000;

function expectSignatureError(fn: () => void, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WechatSignatureError);
    expect((error as WechatSignatureError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('request signature WECHATPAY2-SHA256-RSA2048', () => {
  it('builds the message METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n, as the specification and the independent implementation do', () => {
    const message = requestMessage('GET', '/v3/certificates?x=1', '1554208460', '593BEC0C930BF1AFEB40B4A08C8FB242', '');
    expect(message).toBe('GET\n/v3/certificates?x=1\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n');
    expect(message).toBe(Formatter.request('GET', '/v3/certificates?x=1', 1554208460, '593BEC0C930BF1AFEB40B4A08C8FB242', ''));
    expect(responseMessage('1554208460', 'N', '{"a":1}')).toBe(Formatter.response(1554208460, 'N', '{"a":1}'));
  });

  it('signs byte-for-byte like wechatpay-axios-plugin (PKCS#1 v1.5 is deterministic), and its Rsa.verify accepts our signature', () => {
    const message = requestMessage('POST', '/v3/pay/transactions/native', '1764554400', 'abc', '{"description":"发票 INV-1"}');
    const ours = signMessage(message, merchantKey);
    expect(ours).toBe(Rsa.sign(message, merchantKey));
    expect(Rsa.verify(message, ours, createPublicKey(merchant.publicKeyPem))).toBe(true);
    expect(Rsa.verify(`${message}x`, ours, createPublicKey(merchant.publicKeyPem))).toBe(false);
  });

  it('formats the Authorization header with the five fields, and the signature inside verifies with Rsa.verify', () => {
    const body = '{"mchid":"1900000109"}';
    const header = authorizationHeader({
      mchid: '1900000109',
      serialNo: 'ABC123',
      privateKey: merchantKey,
      method: 'post',
      pathWithQuery: '/v3/pay/transactions/out-trade-no/BM000001/close',
      body,
      timestamp: 1764554400,
      nonce: 'n0nce',
    });
    expect(header).toMatch(/^WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="n0nce",signature="[A-Za-z0-9+/=]+",timestamp="1764554400",serial_no="ABC123"$/);
    const parsed = parseAuthorizationHeader(header)!;
    expect(parsed).toMatchObject({ mchid: '1900000109', nonce: 'n0nce', timestamp: '1764554400', serialNo: 'ABC123' });
    const signed = Formatter.request('POST', '/v3/pay/transactions/out-trade-no/BM000001/close', 1764554400, 'n0nce', body);
    expect(Rsa.verify(signed, parsed.signature, createPublicKey(merchant.publicKeyPem))).toBe(true);
  });

  it('parses the plugin’s Authorization (other field order) and refuses other schemes', () => {
    const header = Formatter.authorization('1900000109', 'N', 'c2ln', 1764554400, 'S');
    expect(parseAuthorizationHeader(header)).toEqual({ mchid: '1900000109', nonce: 'N', signature: 'c2ln', timestamp: '1764554400', serialNo: 'S' });
    expect(parseAuthorizationHeader('Bearer x')).toBeUndefined();
    expect(parseAuthorizationHeader('WECHATPAY2-SHA256-RSA2048 mchid="1"')).toBeUndefined();
  });

  it('refuses signatures that are not strict base64', () => {
    const message = 'm\n';
    const good = signMessage(message, merchantKey);
    expect(verifyMessage(message, good, createPublicKey(merchant.publicKeyPem))).toBe(true);
    expect(verifyMessage(message, `${good.slice(0, 10)}!${good.slice(10)}`, createPublicKey(merchant.publicKeyPem))).toBe(false);
    expect(verifyMessage(message, '', createPublicKey(merchant.publicKeyPem))).toBe(false);
  });
});

describe('response and notification verification', () => {
  const body = '{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}';
  const headers = (overrides: Record<string, string> = {}, at = NOW_S) => ({
    ...wechatpaySignatureHeaders({ body, privateKey: platformKey, serial: 'PUB_KEY_ID_01', timestamp: at, nonce: 'NONCE' }),
    ...overrides,
  });

  it('accepts a signature made by the plugin’s Rsa.sign over Formatter.response', () => {
    const signature = Rsa.sign(Formatter.response(NOW_S, 'pluginNonce', body), platformKey);
    expect(() =>
      verifyWechatpaySignature(
        { 'wechatpay-timestamp': String(NOW_S), 'wechatpay-nonce': 'pluginNonce', 'wechatpay-signature': signature, 'wechatpay-serial': 'PUB_KEY_ID_01' },
        body,
        platformKeys,
        NOW,
      ),
    ).not.toThrow();
  });

  it('accepts exactly ±300 s and refuses 301 s in both directions', () => {
    expect(() => verifyWechatpaySignature(headers({}, NOW_S - 300), body, platformKeys, NOW)).not.toThrow();
    expect(() => verifyWechatpaySignature(headers({}, NOW_S + 300), body, platformKeys, NOW)).not.toThrow();
    expectSignatureError(() => verifyWechatpaySignature(headers({}, NOW_S - 301), body, platformKeys, NOW), 'timestamp_out_of_window');
    expectSignatureError(() => verifyWechatpaySignature(headers({}, NOW_S + 301), body, platformKeys, NOW), 'timestamp_out_of_window');
  });

  it('refuses missing headers, an unknown serial, another body, another nonce, and the WECHATPAY/SIGNTEST/ probe', () => {
    const { 'wechatpay-signature': _omitted, ...unsigned } = headers();
    expectSignatureError(() => verifyWechatpaySignature(unsigned, body, platformKeys, NOW), 'signature_invalid');
    expectSignatureError(() => verifyWechatpaySignature(headers({ 'wechatpay-serial': 'OTHER' }), body, platformKeys, NOW), 'signature_invalid');
    expectSignatureError(() => verifyWechatpaySignature(headers(), `${body} `, platformKeys, NOW), 'signature_invalid');
    expectSignatureError(() => verifyWechatpaySignature(headers({ 'wechatpay-nonce': 'OTHER' }), body, platformKeys, NOW), 'signature_invalid');
    expectSignatureError(() => verifyWechatpaySignature(headers({ 'wechatpay-timestamp': '1e9' }), body, platformKeys, NOW), 'signature_invalid');
    expectSignatureError(() => verifyWechatpaySignature(headers({ 'wechatpay-signature': 'WECHATPAY/SIGNTEST/abc' }), body, platformKeys, NOW), 'signature_probe');
  });
});

describe('AEAD_AES_256_GCM', () => {
  const key = randomApiV3Key();

  it('interoperates with the plugin’s Aes.AesGcm in both directions', () => {
    const plaintext = '{"out_trade_no":"BM000001","amount":{"total":100}}';
    const theirs = Aes.AesGcm.encrypt(plaintext, key, 'abcdefghijkl', 'transaction');
    expect(decryptResource({ ciphertext: theirs, nonce: 'abcdefghijkl', associated_data: 'transaction' }, key)).toBe(plaintext);
    const ours = encryptResource(plaintext, key, 'abcdefghijkl', 'transaction');
    expect(ours).toBe(theirs);
    expect(Aes.AesGcm.decrypt(ours, key, 'abcdefghijkl', 'transaction')).toBe(plaintext);
  });

  it('matches a fixed vector (key, nonce, AAD → ciphertext ‖ tag)', () => {
    const fixedKey = '0123456789abcdef0123456789abcdef';
    const vector = encryptResource('hello', fixedKey, '000000000000', 'certificate');
    expect(vector).toBe(Aes.AesGcm.encrypt('hello', fixedKey, '000000000000', 'certificate'));
    expect(Buffer.from(vector, 'base64')).toHaveLength(5 + 16);
  });

  it('refuses a flipped ciphertext bit, another AAD, another key, and a short ciphertext', () => {
    const sealed = encryptResource('{"a":1}', key, 'abcdefghijkl', 'refund');
    const flipped = Buffer.from(sealed, 'base64');
    flipped[0] ^= 1;
    expect(() => decryptResource({ ciphertext: flipped.toString('base64'), nonce: 'abcdefghijkl', associated_data: 'refund' }, key)).toThrow();
    expect(() => decryptResource({ ciphertext: sealed, nonce: 'abcdefghijkl', associated_data: 'transaction' }, key)).toThrow();
    expect(() => decryptResource({ ciphertext: sealed, nonce: 'abcdefghijkl', associated_data: 'refund' }, randomApiV3Key())).toThrow();
    expect(() => decryptResource({ ciphertext: 'AAAA', nonce: 'abcdefghijkl', associated_data: 'refund' }, key)).toThrow();
    expect(() => encryptResource('x', 'short', 'abcdefghijkl', '')).toThrow(RangeError);
  });
});

describe('Beijing time at the edge', () => {
  it('writes UTC instants as +08:00 whole seconds and reads any offset back to UTC', () => {
    expect(toBeijingRfc3339(new Date('2026-12-01T16:30:05.789Z'))).toBe('2026-12-02T00:30:05+08:00');
    expect(rfc3339ToIsoUtc('2026-12-02T00:30:05+08:00')).toBe('2026-12-01T16:30:05.000Z');
    expect(rfc3339ToIsoUtc('2026-12-02 00:30:05')).toBeUndefined();
  });
});
