/** The Alipay open-API channel (face-to-face precreate), its configuration, and a local gateway peer. */
export { fenToYuan, fromShanghaiTime, toShanghaiTime, yuanToFen } from './amounts.js';
export { type AlipayChannelDeps, createAlipayChannel } from './client.js';
export { type AlipayConfig, type AlipayConfigInput, alipayConfigFromEnv, alipayConfigSchema, alipayProductionGateway, parseAlipayConfig } from './config.js';
export {
  type AlipayPeer,
  type AlipayPeerFault,
  type AlipayPeerHandler,
  type AlipayPeerOptions,
  type AlipayPeerOrder,
  alipaySignContent,
  createAlipayPeer,
  startAlipayPeer,
} from './peer.js';
