/** The server's payment channels: live configuration, the sandbox (keys, mounted peers, payer). */
export {
  CHANNEL_CALLBACK_PATHS,
  createPaymentChannelRegistry,
  HOSTED_CHECKOUT_PATH,
  type PaymentChannelRegistryOptions,
  type PaymentChannelSetup,
  SANDBOX_ALIPAY_PATH,
  SANDBOX_CHANNELS_PATH,
  SANDBOX_WECHAT_PATH,
  sandboxAlipayConfig,
  sandboxWechatConfig,
} from '../../core/payments/setup/registry.js';
export { createSandboxChannelPeers, createSandboxPayer, type SandboxChannelPeers } from './sandbox-peers.js';
export { loadSandboxChannelKeys, SANDBOX_KEYS_FILE, type SandboxChannelKeys } from '../../core/payments/setup/sandbox-keys.js';
