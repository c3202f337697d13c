/** The WeChat Pay API v3 Native channel: configuration, the client, and the local peer for tests and the sandbox. */
export { createWechatPayChannel, type WechatPayChannelDeps } from './client.js';
export { parsePlatformKeyList, WECHAT_ENV, type WechatPayConfig, type WechatPayConfigInput, wechatPayConfigFromEnv, wechatPayConfigSchema } from './config.js';
export {
  type BuiltNotification,
  type NotificationOptions,
  type PeerFault,
  type PeerOrder,
  type PeerRefund,
  createWechatPayPeer,
  startWechatPayPeer,
  type WechatPayPeerHandler,
  type WechatPayPeer,
  type WechatPayPeerOptions,
} from './peer.js';
export {
  authorizationHeader,
  decryptResource,
  encryptResource,
  SIGNATURE_PROBE_PREFIX,
  TIMESTAMP_TOLERANCE_SECONDS,
  verifyWechatpaySignature,
  WechatSignatureError,
  wechatpaySignatureHeaders,
} from './signing.js';
