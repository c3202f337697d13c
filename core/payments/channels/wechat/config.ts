import { createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { DomainError } from '../../../errors/index.js';

function parsesAs(load: (pem: string) => unknown): (pem: string) => boolean {
  return (pem) => {
    try {
      load(pem);
      return true;
    } catch {
      return false;
    }
  };
}

export const wechatPayConfigSchema = z.object({
  /** The merchant number (商户号), digits. */
  mchid: z.string().regex(/^\d{1,32}$/, 'mchid is the digits of the merchant number'),
  /** The AppID bound to the merchant (wx…). */
  appid: z.string().min(1).max(32),
  /** The merchant API private key (apiclient_key.pem). */
  merchantPrivateKeyPem: z.string().refine(parsesAs(createPrivateKey), 'merchantPrivateKeyPem is not a private key PEM'),
  /** The serial number of the merchant API certificate, sent as `serial_no`. */
  merchantCertSerial: z.string().regex(/^[0-9A-Za-z]{1,64}$/, 'merchantCertSerial is a hex serial'),
  /** The APIv3 key: 32 bytes, decrypts notification resources. */
  apiV3Key: z.string().refine((key) => Buffer.byteLength(key, 'utf8') === 32, 'apiV3Key must be 32 bytes'),
  /**
   * Keys that verify WeChat Pay's responses and notifications, by `Wechatpay-Serial`: platform
   * certificate serials → certificate or public key PEM, and `PUB_KEY_ID_…` → the "WeChat Pay
   * public key" PEM. Several at once while WeChat Pay rotates them.
   */
  platformPublicKeys: z
    .record(
      z.string().regex(/^[0-9A-Za-z_]{1,64}$/),
      // createPublicKey also takes a private key (deriving its public half): refuse one here, it does not belong in this file.
      z.string().refine((pem) => !pem.includes('PRIVATE KEY') && parsesAs(createPublicKey)(pem), 'not a public key or certificate PEM'),
    )
    .refine((keys) => Object.keys(keys).length > 0, 'at least one platform key is required'),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .default('https://api.mch.weixin.qq.com')
    .transform((url) => url.replace(/\/+$/, '')),
  requestTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export type WechatPayConfig = z.output<typeof wechatPayConfigSchema>;
export type WechatPayConfigInput = z.input<typeof wechatPayConfigSchema>;

export const WECHAT_ENV = {
  mchid: 'BUFFMONEY_WECHAT_MCHID',
  appid: 'BUFFMONEY_WECHAT_APPID',
  privateKeyFile: 'BUFFMONEY_WECHAT_PRIVATE_KEY_FILE',
  certSerial: 'BUFFMONEY_WECHAT_CERT_SERIAL',
  apiV3Key: 'BUFFMONEY_WECHAT_APIV3_KEY',
  platformKeys: 'BUFFMONEY_WECHAT_PLATFORM_KEYS',
  baseUrl: 'BUFFMONEY_WECHAT_BASE_URL',
  timeoutMs: 'BUFFMONEY_WECHAT_TIMEOUT_MS',
} as const;

function configInvalid(message: string): DomainError {
  return new DomainError('invalid_input', 'wechat_config_invalid', message);
}

/** `serial=path.pem,serial2=path2.pem` → entries; whitespace around items is ignored. */
export function parsePlatformKeyList(list: string): Array<[serial: string, path: string]> {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const at = item.indexOf('=');
      if (at <= 0 || at === item.length - 1) throw configInvalid(`${WECHAT_ENV.platformKeys}: "${item}" is not serial=path`);
      return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
    });
}

/**
 * Builds the configuration from environment variables. Core never reads `process.env` or the
 * disk itself: the caller passes both. Undefined when no WeChat variable is set at all (the
 * channel is simply not configured); a partial or wrong configuration throws
 * `wechat_config_invalid` naming what is wrong (never the secrets).
 */
export function wechatPayConfigFromEnv(env: Record<string, string | undefined>, readFile: (path: string) => string): WechatPayConfig | undefined {
  const names = Object.values(WECHAT_ENV);
  if (names.every((name) => !env[name])) return undefined;
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw configInvalid(`${name} is required`);
    return value;
  };
  const read = (name: string, path: string): string => {
    try {
      return readFile(path);
    } catch (error) {
      throw configInvalid(`${name}: cannot read ${path} (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  const platformPublicKeys: Record<string, string> = {};
  for (const [serial, path] of parsePlatformKeyList(required(WECHAT_ENV.platformKeys))) platformPublicKeys[serial] = read(WECHAT_ENV.platformKeys, path);
  const timeout = env[WECHAT_ENV.timeoutMs]?.trim();
  if (timeout && !/^\d+$/.test(timeout)) throw configInvalid(`${WECHAT_ENV.timeoutMs} must be milliseconds`);
  const parsed = wechatPayConfigSchema.safeParse({
    mchid: required(WECHAT_ENV.mchid),
    appid: required(WECHAT_ENV.appid),
    merchantPrivateKeyPem: read(WECHAT_ENV.privateKeyFile, required(WECHAT_ENV.privateKeyFile)),
    merchantCertSerial: required(WECHAT_ENV.certSerial),
    // The key is used as given: WeChat Pay's APIv3 keys are 32 ASCII characters, spaces included are significant.
    apiV3Key: env[WECHAT_ENV.apiV3Key] ?? '',
    platformPublicKeys,
    baseUrl: env[WECHAT_ENV.baseUrl]?.trim() || undefined,
    requestTimeoutMs: timeout ? Number(timeout) : undefined,
  });
  if (!parsed.success) {
    // zod messages name the field and rule, never the value: safe to show.
    throw configInvalid(`WeChat Pay configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}
