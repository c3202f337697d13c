import { describe, expect, it } from 'vitest';
import { makeAlipayKeys, testAppId, testSellerId } from './alipay.fixtures.js';
import { alipayConfigFromEnv, alipayProductionGateway, parseAlipayConfig } from './config.js';

const keys = makeAlipayKeys();
const files: Record<string, string> = { '/keys/app.pem': keys.appPrivateKey, '/keys/alipay.pem': keys.alipayPublicKey };
const readFile = (path: string) => {
  const content = files[path];
  if (content === undefined) throw new Error(`ENOENT: ${path}`);
  return content;
};
const fullEnv = {
  BUFFMONEY_ALIPAY_APP_ID: testAppId,
  BUFFMONEY_ALIPAY_PRIVATE_KEY_FILE: '/keys/app.pem',
  BUFFMONEY_ALIPAY_PUBLIC_KEY_FILE: '/keys/alipay.pem',
  BUFFMONEY_ALIPAY_SELLER_ID: testSellerId,
};

describe('Alipay configuration', () => {
  it('is built from the environment and key files, defaulting to the production gateway', () => {
    const config = alipayConfigFromEnv(fullEnv, readFile)!;
    expect(config.appId).toBe(testAppId);
    expect(config.sellerId).toBe(testSellerId);
    expect(config.gateway).toBe(alipayProductionGateway);
    expect(config.timeoutMs).toBe(10_000);
    // The PKCS#1 file is normalised to PKCS#8 PEM.
    expect(config.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(config.alipayPublicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('takes a gateway and a timeout when given', () => {
    const config = alipayConfigFromEnv({ ...fullEnv, BUFFMONEY_ALIPAY_GATEWAY: 'http://127.0.0.1:9999/gateway.do', BUFFMONEY_ALIPAY_TIMEOUT_MS: '2500' }, readFile)!;
    expect(config.gateway).toBe('http://127.0.0.1:9999/gateway.do');
    expect(config.timeoutMs).toBe(2500);
  });

  it('is null when nothing is set: the channel is not configured', () => {
    expect(alipayConfigFromEnv({ PATH: '/usr/bin', BUFFMONEY_ALIPAY_APP_ID: ' ' }, readFile)).toBeNull();
  });

  it('throws, naming what is missing, when half set', () => {
    expect(() => alipayConfigFromEnv({ BUFFMONEY_ALIPAY_APP_ID: testAppId }, readFile)).toThrow(
      /BUFFMONEY_ALIPAY_PRIVATE_KEY_FILE.*BUFFMONEY_ALIPAY_PUBLIC_KEY_FILE.*BUFFMONEY_ALIPAY_SELLER_ID/,
    );
    expect(() => alipayConfigFromEnv({ ...fullEnv, BUFFMONEY_ALIPAY_TIMEOUT_MS: '5s' }, readFile)).toThrow(/TIMEOUT_MS/);
  });

  it('accepts Alipay’s public key as bare base64, as the open-platform console shows it', () => {
    const bare = keys.alipayPublicKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    expect(parseAlipayConfig({ appId: testAppId, privateKey: keys.appPrivateKeyPkcs8, alipayPublicKey: bare, sellerId: testSellerId }).alipayPublicKey).toBe(keys.alipayPublicKey);
  });

  it('rejects keys that are not RSA keys, and ids of the wrong shape', () => {
    const base = { appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId };
    expect(() => parseAlipayConfig({ ...base, privateKey: keys.appPublicKey })).toThrow(/private key/);
    expect(() => parseAlipayConfig({ ...base, alipayPublicKey: 'not a key' })).toThrow(/public key/);
    expect(() => parseAlipayConfig({ ...base, appId: '12345' })).toThrow(/app id/);
    expect(() => parseAlipayConfig({ ...base, sellerId: '1088123456789012' })).toThrow(/2088/);
  });

  it('allows plain http only to a loopback gateway', () => {
    const base = { appId: testAppId, privateKey: keys.appPrivateKey, alipayPublicKey: keys.alipayPublicKey, sellerId: testSellerId };
    expect(parseAlipayConfig({ ...base, gateway: 'http://localhost:8080/gateway.do' }).gateway).toBe('http://localhost:8080/gateway.do');
    expect(parseAlipayConfig({ ...base, gateway: 'https://openapi-sandbox.dl.alipaydev.com/gateway.do' }).gateway).toMatch(/^https:/);
    expect(() => parseAlipayConfig({ ...base, gateway: 'http://openapi.alipay.com/gateway.do' })).toThrow(/https/);
  });
});
