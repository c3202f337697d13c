/** Keys and configuration for the WeChat Pay tests: generated per run, never checked in. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WechatPayConfig } from './config.js';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function rsaKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** 32 printable ASCII bytes, like the key a merchant sets in the WeChat Pay console. */
export function randomApiV3Key(): string {
  return randomBytes(24).toString('base64');
}

export const MCHID = '1900000109';
export const APPID = 'wxd678efh567hg6787';
export const MERCHANT_SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
export const PLATFORM_SERIAL = 'PUB_KEY_ID_0119000001092025120100000000000001';

export interface WechatFixture {
  merchant: KeyPairPem;
  platform: KeyPairPem;
  apiV3Key: string;
  config: WechatPayConfig;
}

export function wechatFixture(baseUrl = 'https://api.mch.weixin.qq.com'): WechatFixture {
  const merchant = rsaKeyPair();
  const platform = rsaKeyPair();
  const apiV3Key = randomApiV3Key();
  return {
    merchant,
    platform,
    apiV3Key,
    config: {
      mchid: MCHID,
      appid: APPID,
      merchantPrivateKeyPem: merchant.privateKeyPem,
      merchantCertSerial: MERCHANT_SERIAL,
      apiV3Key,
      platformPublicKeys: { [PLATFORM_SERIAL]: platform.publicKeyPem },
      baseUrl,
      requestTimeoutMs: 5_000,
    },
  };
}

let counter = 0;
/** A fresh out-trade number per test. */
export function outTradeNo(prefix = 'BM'): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString().padStart(4, '0')}`;
}

export interface ReceivedNotification {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
}

/**
 * A notify_url for the tests: hands each POST to `answer` (the channel's verify + reply, in
 * the client tests) and keeps what it received.
 */
export async function startNotifyReceiver(answer: (received: ReceivedNotification) => { status: number; contentType?: string; body?: string }): Promise<{
  url: string;
  received: ReceivedNotification[];
  close(): Promise<void>;
}> {
  const received: ReceivedNotification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const notification = { headers, rawBody: Buffer.concat(chunks) };
      received.push(notification);
      const reply = answer(notification);
      res.writeHead(reply.status, reply.contentType ? { 'content-type': reply.contentType } : {}).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/wechat/notify`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
