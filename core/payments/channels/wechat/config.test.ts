import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../errors/index.js';
import { parsePlatformKeyList, WECHAT_ENV, wechatPayConfigFromEnv, wechatPayConfigSchema } from './config.js';
import { randomApiV3Key, rsaKeyPair } from './wechat.fixtures.js';

const merchant = rsaKeyPair();
const platform = rsaKeyPair();
const publicKey = rsaKeyPair();
const apiV3Key = randomApiV3Key();
const files: Record<string, string> = {
  '/keys/apiclient_key.pem': merchant.privateKeyPem,
  '/keys/platform.pem': platform.publicKeyPem,
  '/keys/pub_key.pem': publicKey.publicKeyPem,
};
const readFile = (path: string): string => {
  const content = files[path];
  if (content === undefined) throw new Error('ENOENT');
  return content;
};
const env = (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> => ({
  [WECHAT_ENV.mchid]: '1900000109',
  [WECHAT_ENV.appid]: 'wxd678efh567hg6787',
  [WECHAT_ENV.privateKeyFile]: '/keys/apiclient_key.pem',
  [WECHAT_ENV.certSerial]: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
  [WECHAT_ENV.apiV3Key]: apiV3Key,
  [WECHAT_ENV.platformKeys]: '3775B6A45ACD588826D15E583A95F5DD=/keys/platform.pem, PUB_KEY_ID_0119000001092025120100000000000001=/keys/pub_key.pem',
  ...overrides,
});

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('wechat_config_invalid');
    return (error as DomainError).message;
  }
  throw new Error('expected wechat_config_invalid');
}

describe('WeChat Pay configuration from the environment', () => {
  it('reads every variable, the key files through the given reader, and defaults the gateway and timeout', () => {
    const serialEnv = env();
    const config = wechatPayConfigFromEnv(serialEnv, readFile)!;
    expect(config).toEqual({
      mchid: '1900000109',
      appid: 'wxd678efh567hg6787',
      merchantPrivateKeyPem: merchant.privateKeyPem,
      merchantCertSerial: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
      apiV3Key,
      platformPublicKeys: { '3775B6A45ACD588826D15E583A95F5DD': platform.publicKeyPem, PUB_KEY_ID_0119000001092025120100000000000001: publicKey.publicKeyPem },
      baseUrl: 'https://api.mch.weixin.qq.com',
      requestTimeoutMs: 10_000,
    });
    const sandbox = wechatPayConfigFromEnv({ ...serialEnv, [WECHAT_ENV.baseUrl]: 'http://127.0.0.1:4010/', [WECHAT_ENV.timeoutMs]: '2500' }, readFile)!;
    expect(sandbox.baseUrl).toBe('http://127.0.0.1:4010');
    expect(sandbox.requestTimeoutMs).toBe(2_500);
  });

  it('is not configured when no WeChat variable is set', () => {
    expect(wechatPayConfigFromEnv({ PATH: '/usr/bin' }, readFile)).toBeUndefined();
  });

  it('names what is missing or wrong, never the secrets', () => {
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.mchid]: undefined }), readFile))).toContain(WECHAT_ENV.mchid);
    const shortKey = configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.apiV3Key]: 'too-short-secret' }), readFile));
    expect(shortKey).toContain('apiV3Key must be 32 bytes');
    expect(shortKey).not.toContain('too-short-secret');
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.privateKeyFile]: '/keys/missing.pem' }), readFile))).toContain('cannot read /keys/missing.pem');
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.privateKeyFile]: '/keys/platform.pem' }), readFile))).toContain('merchantPrivateKeyPem');
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.platformKeys]: 'no-equals-sign' }), readFile))).toContain('serial=path');
    // A private key where a platform key belongs is a mistake worth stopping at (it would even "work": a public key derives from it).
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.platformKeys]: 'S1=/keys/apiclient_key.pem' }), readFile))).toContain('platformPublicKeys.S1');
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.baseUrl]: 'ftp://x' }), readFile))).toContain('baseUrl');
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.timeoutMs]: 'soon' }), readFile))).toContain(WECHAT_ENV.timeoutMs);
    expect(configError(() => wechatPayConfigFromEnv(env({ [WECHAT_ENV.mchid]: 'abc' }), readFile))).toContain('mchid');
  });

  it('parses serial=path lists, tolerating spaces and a trailing comma', () => {
    expect(parsePlatformKeyList(' A=/a.pem , PUB_KEY_ID_1=/b.pem,')).toEqual([
      ['A', '/a.pem'],
      ['PUB_KEY_ID_1', '/b.pem'],
    ]);
  });
});

describe('the configuration schema', () => {
  const base = { mchid: '1900000109', appid: 'wx1', merchantPrivateKeyPem: merchant.privateKeyPem, merchantCertSerial: 'ABC', apiV3Key };

  it('needs at least one platform key', () => {
    expect(wechatPayConfigSchema.safeParse({ ...base, platformPublicKeys: {} }).success).toBe(false);
  });

  // Platform certificates (the older verification keys) are PEM certificates, not bare keys.
  // node:crypto cannot mint one, so this runs where the openssl binary is installed.
  const openssl = spawnSync('openssl', ['version']).status === 0;
  it.skipIf(!openssl)('accepts a platform certificate PEM as a verification key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wechat-cert-'));
    try {
      writeFileSync(join(dir, 'key.pem'), platform.privateKeyPem);
      const made = spawnSync('openssl', ['req', '-new', '-x509', '-key', join(dir, 'key.pem'), '-subj', '/CN=Tenpay.com Root CA', '-days', '1', '-out', join(dir, 'cert.pem')]);
      expect(made.status).toBe(0);
      const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
      expect(certificate).toContain('BEGIN CERTIFICATE');
      expect(wechatPayConfigSchema.safeParse({ ...base, platformPublicKeys: { [new X509Certificate(certificate).serialNumber]: certificate } }).success).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
