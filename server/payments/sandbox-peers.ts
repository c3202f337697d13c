import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, CoreContext } from '../../core/context/index.js';
import type { PeerStateStore } from '../../core/payments/channels/peer-state.js';
import type { ChannelName } from '../../core/payments/channels/types.js';
import { DomainError, conflict, notFound } from '../../core/errors/index.js';
import { ChannelError, type SandboxPayer } from '../../core/payments/index.js';
import { type AlipayPeerHandler, createAlipayPeer } from '../../core/payments/channels/alipay/index.js';
import { createWechatPayPeer, type WechatPayPeerHandler } from '../../core/payments/channels/wechat/index.js';
import { type PaymentChannelSetup, SANDBOX_ALIPAY_PATH, SANDBOX_CHANNELS_PATH, SANDBOX_WECHAT_PATH } from '../../core/payments/setup/registry.js';
import type { SandboxChannelKeys } from '../../core/payments/setup/sandbox-keys.js';

/**
 * The sandbox's WeChat Pay and Alipay: the local peers (core/payments/channels/*\/peer.ts) with
 * the sandbox keys, served on the server's own listener — WeChat Pay's v3 API below
 * /sandbox/channels/wechat, Alipay's gateway at /sandbox/channels/alipay/gateway.do — so any
 * process that knows the server's URL reaches them. With `store` (the server: the database,
 * core/payments/setup/sandbox-peer-store.ts) their orders and refunds are shared by every replica
 * and survive restarts; without, they live in this process's memory.
 */
export interface SandboxChannelPeers {
  wechat: WechatPayPeerHandler;
  alipay: AlipayPeerHandler;
  /**
   * Ends every WeChat Pay refund still PROCESSING with SUCCESS and sends its notification (WeChat
   * Pay refunds asynchronously; Alipay answers at once). The server does this every second.
   * Resolves to how many it settled.
   */
  settleRefunds(): Promise<number>;
  /** Serves the request when it is one of the peers' (true); false leaves it to the app. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

export function createSandboxChannelPeers(
  keys: SandboxChannelKeys,
  options: { clock: Clock; store?: (channel: ChannelName) => PeerStateStore; settleRefundsEveryMs?: number },
): SandboxChannelPeers {
  const now = () => options.clock.now();
  const wechat = createWechatPayPeer({
    merchantPublicKeys: { [keys.wechat.merchantCertSerial]: keys.wechat.merchantPublicKeyPem },
    platformPrivateKey: keys.wechat.platformPrivateKeyPem,
    platformSerial: keys.wechat.platformSerial,
    apiV3Key: keys.wechat.apiV3Key,
    mchid: keys.wechat.mchid,
    appid: keys.wechat.appid,
    now,
    basePath: SANDBOX_WECHAT_PATH,
    store: options.store?.('wechat'),
  });
  const alipay = createAlipayPeer({
    appPublicKey: keys.alipay.appPublicKeyPem,
    alipayPrivateKey: keys.alipay.alipayPrivateKeyPem,
    appId: keys.alipay.appId,
    sellerId: keys.alipay.sellerId,
    now,
    basePath: SANDBOX_ALIPAY_PATH,
    store: options.store?.('alipay'),
  });
  let settling: Promise<number> | undefined;
  const settleRefunds = (): Promise<number> => {
    settling ??= (async () => {
      // Yield first: the finally below must run after `settling` is assigned.
      await Promise.resolve();
      let settled = 0;
      try {
        for (const outRefundNo of await wechat.processingRefunds()) {
          try {
            await wechat.notifyRefund(outRefundNo);
            settled++;
          } catch (e) {
            // Our callback could not be reached: the refund is SUCCESS at the peer; reconciliation's query finds it.
            // Anything else: another replica settled it first.
            const undelivered = e instanceof TypeError || (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'));
            if (undelivered) console.warn(`[buffmoney] sandbox wechat: refund ${outRefundNo} notification not delivered: ${e.message}`);
          }
        }
      } finally {
        settling = undefined;
      }
      return settled;
    })();
    return settling;
  };
  const timer = setInterval(() => void settleRefunds(), options.settleRefundsEveryMs ?? 1_000);
  timer.unref();
  return {
    wechat,
    alipay,
    settleRefunds,
    handle(req, res) {
      const url = req.url ?? '';
      if (!url.startsWith(`${SANDBOX_CHANNELS_PATH}/`)) return false;
      if (url.startsWith(`${SANDBOX_WECHAT_PATH}/`)) {
        wechat.handle(req, res);
        return true;
      }
      if (url.startsWith(`${SANDBOX_ALIPAY_PATH}/`)) {
        alipay.handle(req, res);
        return true;
      }
      return false;
    },
    close() {
      clearInterval(timer);
      alipay.dropHangingRequests();
    },
  };
}

/**
 * The sandbox payer (installSandboxPayer): the peer's payer scans and pays, and the peer sends
 * our callback a notification signed as the channel signs it. An order the peer does not know
 * (made before its records were kept in the database, or by a process without them) is first
 * registered with it again through the sandbox client, with the same out-trade number.
 */
export function createSandboxPayer(ctx: CoreContext, peers: SandboxChannelPeers, setup: PaymentChannelSetup): SandboxPayer {
  return async ({ channel, outTradeNo }) => {
    const known = await (channel === 'wechat' ? peers.wechat : peers.alipay).knowsOrder(outTradeNo);
    if (!known) {
      const order = await ctx.db.kysely
        .selectFrom('payment_orders')
        .selectAll()
        .where('out_trade_no', '=', outTradeNo)
        .where('channel', '=', channel)
        .where('environment', '=', 'sandbox')
        .executeTakeFirst();
      if (!order) throw notFound('payment_order_not_found', `No sandbox ${channel} order ${outTradeNo}`);
      try {
        await setup.channels(channel, 'sandbox').createOrder({
          outTradeNo,
          amountFen: BigInt(order.amount_minor),
          description: `Sandbox order ${order.id}`,
          expiresAt: order.expires_at,
          notifyUrl: setup.notifyUrl(channel),
        });
      } catch (e) {
        if (!(e instanceof ChannelError)) throw e;
        throw new DomainError('unavailable', 'channel_unavailable', `The sandbox ${channel} did not take the order again: ${e.message}`, {
          details: { channel, channelCode: e.channelCode, retryable: e.retryable },
          retryAfterSeconds: e.retryable ? 5 : undefined,
        });
      }
    }
    try {
      if (channel === 'wechat') return { callbackStatus: await peers.wechat.pay(outTradeNo) };
      return { callbackStatus: (await peers.alipay.pay(outTradeNo)).status };
    } catch (e) {
      if (e instanceof DomainError) throw e;
      // The peer refuses as the channel would (expired, closed, already paid); a failed delivery is the network's.
      if (e instanceof TypeError) {
        throw new DomainError('unavailable', 'sandbox_callback_failed', `The sandbox ${channel} could not reach the callback URL ${setup.notifyUrl(channel)}: ${e.message}`);
      }
      throw conflict('sandbox_payment_refused', `The sandbox ${channel} refused the payment: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
