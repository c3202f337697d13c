import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../errors/index.js';
import { tempDir } from '../../../test/helpers.js';
import { createPaymentChannelRegistry } from './registry.js';
import { SANDBOX_KEYS_FILE, loadSandboxChannelKeys } from './sandbox-keys.js';
import { rsaKeyPair, randomApiV3Key } from '../channels/wechat/wechat.fixtures.js';

const dirs: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of dirs) cleanup();
});
function dataDir(): string {
  const { dir, cleanup } = tempDir('buffmoney-channels-');
  dirs.push(cleanup);
  return dir;
}

describe('sandbox channel keys', () => {
  it('are generated once into sandbox-channels.json (0600) and read back after', async () => {
    const dir = dataDir();
    const [a, b] = await Promise.all([loadSandboxChannelKeys(dir), loadSandboxChannelKeys(dir)]);
    // Two processes starting at once end up with one set of keys.
    const c = await loadSandboxChannelKeys(dir);
    expect(c).toEqual(JSON.parse(fs.readFileSync(path.join(dir, SANDBOX_KEYS_FILE), 'utf8')));
    expect([a.wechat.platformSerial, b.wechat.platformSerial]).toContain(c.wechat.platformSerial);
    expect(fs.statSync(path.join(dir, SANDBOX_KEYS_FILE)).mode & 0o777).toBe(0o600);
    expect(c.alipay.appId).toMatch(/^[0-9]{16}$/);
    expect(c.wechat.apiV3Key).toHaveLength(32);
  });

  it('refuses a file that is not a key file, naming the file and not its contents', async () => {
    const dir = dataDir();
    fs.writeFileSync(path.join(dir, SANDBOX_KEYS_FILE), JSON.stringify({ version: 1, wechat: { apiV3Key: 'secret-secret' } }));
    await expect(loadSandboxChannelKeys(dir)).rejects.toThrow(/sandbox-channels\.json is not a sandbox channel key file/);
    await expect(loadSandboxChannelKeys(dir)).rejects.not.toThrow(/secret-secret/);
  });
});

describe('createPaymentChannelRegistry', () => {
  it('builds the sandbox clients on the peer URL, refuses live channels without configuration, and names the environment of a sender', async () => {
    const setup = await createPaymentChannelRegistry({ env: {}, dataDir: dataDir(), publicUrl: 'https://pay.example.com/' });
    expect(setup.notifyUrl('wechat')).toBe('https://pay.example.com/api/webhooks/wechat');
    expect(setup.notifyUrl('alipay')).toBe('https://pay.example.com/api/webhooks/alipay');
    expect(setup.hostedUrl('tok_1')).toBe('https://pay.example.com/pay/tok_1');
    expect(setup.channels('wechat', 'sandbox').name).toBe('wechat');
    expect(setup.channels('alipay', 'sandbox').name).toBe('alipay');
    for (const name of ['wechat', 'alipay'] as const) {
      let error: unknown;
      try {
        setup.channels(name, 'live');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'channel_not_configured', kind: 'unavailable' });
    }
    const keys = setup.sandboxKeys!;
    expect(setup.wechatEnvironmentOfSerial(keys.wechat.platformSerial)).toBe('sandbox');
    expect(setup.wechatEnvironmentOfSerial('PUB_KEY_ID_OTHER')).toBeNull();
    expect(setup.alipayEnvironmentOfAppId(keys.alipay.appId)).toBe('sandbox');
    expect(setup.alipayEnvironmentOfAppId('2021000000000000')).toBeNull();
    expect(setup.configured).toEqual({ live: { wechat: false, alipay: false }, sandbox: { wechat: true, alipay: true } });
  });

  it('reads live WeChat Pay from the environment; a partial configuration fails at start; the sandbox can be off', async () => {
    const merchant = rsaKeyPair();
    const platform = rsaKeyPair();
    const files: Record<string, string> = { '/keys/apiclient_key.pem': merchant.privateKeyPem, '/keys/platform.pem': platform.publicKeyPem };
    const env = {
      BUFFMONEY_WECHAT_MCHID: '1900000109',
      BUFFMONEY_WECHAT_APPID: 'wxd678efh567hg6787',
      BUFFMONEY_WECHAT_PRIVATE_KEY_FILE: '/keys/apiclient_key.pem',
      BUFFMONEY_WECHAT_CERT_SERIAL: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
      BUFFMONEY_WECHAT_APIV3_KEY: randomApiV3Key(),
      BUFFMONEY_WECHAT_PLATFORM_KEYS: 'PUB_KEY_ID_0119000001092025120100000000000001=/keys/platform.pem',
    };
    const readFile = (file: string) =>
      files[file] ??
      (() => {
        throw new Error('ENOENT');
      })();
    const setup = await createPaymentChannelRegistry({ env, dataDir: dataDir(), publicUrl: 'https://pay.example.com', readFile, sandbox: false });
    expect(setup.channels('wechat', 'live').name).toBe('wechat');
    expect(setup.wechatEnvironmentOfSerial('PUB_KEY_ID_0119000001092025120100000000000001')).toBe('live');
    expect(setup.sandboxKeys).toBeNull();
    expect(() => setup.channels('wechat', 'sandbox')).toThrow(/sandbox channels are off/);
    const { BUFFMONEY_WECHAT_APPID: _appid, ...partial } = env;
    await expect(createPaymentChannelRegistry({ env: partial, dataDir: dataDir(), publicUrl: 'https://x.example', readFile, sandbox: false })).rejects.toMatchObject({
      code: 'wechat_config_invalid',
    });
    await expect(
      createPaymentChannelRegistry({ env: { BUFFMONEY_ALIPAY_APP_ID: '2021000123456789' }, dataDir: dataDir(), publicUrl: 'https://x.example', readFile, sandbox: false }),
    ).rejects.toThrow(/BUFFMONEY_ALIPAY_PRIVATE_KEY_FILE/);
  });
});
