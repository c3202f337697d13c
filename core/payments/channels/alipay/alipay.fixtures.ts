import { generateKeyPairSync } from 'node:crypto';

/** Test keys, made fresh per run: an app key pair (ours) and an "Alipay" key pair (the peer's). */
export function makeAlipayKeys() {
  const app = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    // PKCS#1 for our key, as Alipay's key tool writes it by default; the config accepts both.
    appPrivateKey: app.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    appPrivateKeyPkcs8: app.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    appPublicKey: app.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    alipayPrivateKey: alipay.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKey: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export const testAppId = '2021000123456789';
export const testSellerId = '2088123456789012';
