import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { type Clock, type Environment, systemClock } from '../../context/index.js';
import { DomainError } from '../../errors/index.js';
import type { ChannelName, ChannelRegistry, PaymentChannel } from '../index.js';
import { type AlipayConfig, alipayConfigFromEnv, alipayConfigSchema, createAlipayChannel } from '../channels/alipay/index.js';
import { createWechatPayChannel, type WechatPayConfig, wechatPayConfigFromEnv, wechatPayConfigSchema } from '../channels/wechat/index.js';
import { type SandboxChannelKeys, loadSandboxChannelKeys } from './sandbox-keys.js';

/** Where the sandbox peers are mounted on the server's listener. */
export const SANDBOX_CHANNELS_PATH = '/sandbox/channels';
export const SANDBOX_WECHAT_PATH = `${SANDBOX_CHANNELS_PATH}/wechat`;
export const SANDBOX_ALIPAY_PATH = `${SANDBOX_CHANNELS_PATH}/alipay`;
/** The channel callbacks (notify URLs), below the public base URL. */
export const CHANNEL_CALLBACK_PATHS: Readonly<Record<ChannelName, string>> = { wechat: '/api/webhooks/wechat', alipay: '/api/webhooks/alipay' };
/** The hosted checkout page of an order, below the public base URL (server/checkout-page). */
export const HOSTED_CHECKOUT_PATH = '/pay';

type Lazy<T> = T | (() => T);
const resolve = <T>(value: Lazy<T>): T => (typeof value === 'function' ? (value as () => T)() : value);

export interface PaymentChannelRegistryOptions {
  /** The process environment (BUFFMONEY_WECHAT_*, BUFFMONEY_ALIPAY_*). */
  env: Readonly<Record<string, string | undefined>>;
  /** Where sandbox-channels.json lives (the server's data dir). */
  dataDir: string;
  /** The base URL the channels and payers reach this server at (BUFFMONEY_PUBLIC_URL); lazy when the port is known only after listening. */
  publicUrl: Lazy<string>;
  /** Where the sandbox clients reach the sandbox peers (default: publicUrl). The server passes its own loopback listener. */
  sandboxPeerUrl?: Lazy<string>;
  /** false: no sandbox channels in this process (BUFFMONEY_SANDBOX_CHANNELS=0). Default true. */
  sandbox?: boolean;
  /** For the WeChat Pay clients (tests observe or fail requests); Alipay's client uses the global fetch. */
  fetch?: typeof fetch;
  /** The clients' clock (request timestamps, answer windows): the context's clock. */
  clock?: Clock;
  /** Reads key files named by the environment (default: fs, utf8). */
  readFile?: (path: string) => string;
}

export interface PaymentChannelSetup {
  /** What `installPaymentChannels(ctx, …)` takes: `channel_not_configured` (503) for a channel without configuration. */
  channels: ChannelRegistry;
  publicUrl(): string;
  /** The callback URL the channel is told for an order (`<public>/api/webhooks/<channel>`). */
  notifyUrl(channel: ChannelName): string;
  /** The hosted checkout page of an order's token (`<public>/pay/<token>`). */
  hostedUrl(checkoutToken: string): string;
  /** The environment whose WeChat Pay platform keys include this `Wechatpay-Serial`, or null. Live first. */
  wechatEnvironmentOfSerial(serial: string): Environment | null;
  /** The environment whose Alipay app this `app_id` is, or null. Live first. */
  alipayEnvironmentOfAppId(appId: string): Environment | null;
  /** The sandbox keys (null when the sandbox is off): the server's peers are built from them. */
  sandboxKeys: SandboxChannelKeys | null;
  /** Which channels are configured, per environment (for logs and readiness). */
  configured: Record<Environment, Record<ChannelName, boolean>>;
}

function notConfigured(name: ChannelName, environment: Environment): DomainError {
  const how =
    environment === 'live'
      ? `set the BUFFMONEY_${name === 'wechat' ? 'WECHAT' : 'ALIPAY'}_* variables (README: Payment channels)`
      : 'the sandbox channels are off in this process (BUFFMONEY_SANDBOX_CHANNELS=0)';
  return new DomainError('unavailable', 'channel_not_configured', `${name === 'wechat' ? 'WeChat Pay' : 'Alipay'} is not configured for ${environment}: ${how}`);
}

export function sandboxWechatConfig(keys: SandboxChannelKeys, peerUrl: string): WechatPayConfig {
  return wechatPayConfigSchema.parse({
    mchid: keys.wechat.mchid,
    appid: keys.wechat.appid,
    merchantPrivateKeyPem: keys.wechat.merchantPrivateKeyPem,
    merchantCertSerial: keys.wechat.merchantCertSerial,
    apiV3Key: keys.wechat.apiV3Key,
    platformPublicKeys: { [keys.wechat.platformSerial]: keys.wechat.platformPublicKeyPem },
    baseUrl: `${peerUrl.replace(/\/+$/, '')}${SANDBOX_WECHAT_PATH}`,
  });
}

export function sandboxAlipayConfig(keys: SandboxChannelKeys, peerUrl: string): AlipayConfig {
  const checked = alipayConfigSchema.parse({
    appId: keys.alipay.appId,
    privateKey: keys.alipay.appPrivateKeyPem,
    alipayPublicKey: keys.alipay.alipayPublicKeyPem,
    sellerId: keys.alipay.sellerId,
  });
  // The schema allows plain http only to loopback to protect live keys; the sandbox gateway is
  // this server's own listener (which may be a LAN address), its keys throwaway.
  return { ...checked, gateway: `${peerUrl.replace(/\/+$/, '')}${SANDBOX_ALIPAY_PATH}/gateway.do` };
}

/**
 * The payment channels of a process (the server; later the CLI and the desktop shell): live
 * WeChat Pay and Alipay from the environment (a partial or invalid configuration throws here, at
 * start), and the sandbox — the same real clients with generated sandbox keys, pointed at the
 * peers the server mounts under /sandbox/channels. Clients are built on first use.
 */
export async function createPaymentChannelRegistry(options: PaymentChannelRegistryOptions): Promise<PaymentChannelSetup> {
  const readFile = options.readFile ?? ((file: string) => fs.readFileSync(file, 'utf8'));
  const live = {
    wechat: wechatPayConfigFromEnv(options.env, readFile) ?? null,
    alipay: alipayConfigFromEnv(options.env, readFile),
  };
  const sandboxKeys = options.sandbox === false ? null : await loadSandboxChannelKeys(options.dataDir);
  const clock = options.clock ?? systemClock;
  const publicUrl = () => resolve(options.publicUrl).replace(/\/+$/, '');
  const peerUrl = () => (options.sandboxPeerUrl === undefined ? publicUrl() : resolve(options.sandboxPeerUrl));
  const deps = { now: () => clock.now() };
  const wechatDeps = { ...deps, fetch: options.fetch, nonce: () => randomBytes(16).toString('hex') };

  const build = (name: ChannelName, environment: Environment): PaymentChannel => {
    if (environment === 'live') {
      if (name === 'wechat') {
        if (!live.wechat) throw notConfigured(name, environment);
        return createWechatPayChannel(live.wechat, wechatDeps);
      }
      if (!live.alipay) throw notConfigured(name, environment);
      return createAlipayChannel(live.alipay, deps);
    }
    if (!sandboxKeys) throw notConfigured(name, environment);
    return name === 'wechat'
      ? createWechatPayChannel(sandboxWechatConfig(sandboxKeys, peerUrl()), wechatDeps)
      : createAlipayChannel(sandboxAlipayConfig(sandboxKeys, peerUrl()), deps);
  };
  const built = new Map<string, PaymentChannel>();
  const channels: ChannelRegistry = (name, environment) => {
    const key = `${name}:${environment}`;
    let channel = built.get(key);
    if (!channel) {
      channel = build(name, environment);
      built.set(key, channel);
    }
    return channel;
  };

  return {
    channels,
    publicUrl,
    notifyUrl: (channel) => `${publicUrl()}${CHANNEL_CALLBACK_PATHS[channel]}`,
    hostedUrl: (token) => `${publicUrl()}${HOSTED_CHECKOUT_PATH}/${encodeURIComponent(token)}`,
    wechatEnvironmentOfSerial(serial) {
      if (live.wechat && Object.hasOwn(live.wechat.platformPublicKeys, serial)) return 'live';
      if (sandboxKeys && sandboxKeys.wechat.platformSerial === serial) return 'sandbox';
      return null;
    },
    alipayEnvironmentOfAppId(appId) {
      if (live.alipay && live.alipay.appId === appId) return 'live';
      if (sandboxKeys && sandboxKeys.alipay.appId === appId) return 'sandbox';
      return null;
    },
    sandboxKeys,
    configured: {
      live: { wechat: live.wechat !== null, alipay: live.alipay !== null },
      sandbox: { wechat: sandboxKeys !== null, alipay: sandboxKeys !== null },
    },
  };
}
