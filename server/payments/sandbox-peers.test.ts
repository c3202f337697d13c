import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/context/index.js';
import { createAlipayChannel } from '../../core/payments/channels/alipay/index.js';
import type { PaymentChannel, VerifiedNotification } from '../../core/payments/channels/types.js';
import { createWechatPayChannel } from '../../core/payments/channels/wechat/index.js';
import { startNotifyReceiver } from '../../core/payments/channels/wechat/wechat.fixtures.js';
import { sandboxAlipayConfig, sandboxWechatConfig } from '../../core/payments/setup/registry.js';
import { sandboxPeerStore } from '../../core/payments/setup/sandbox-peer-store.js';
import { type SandboxChannelKeys, loadSandboxChannelKeys } from '../../core/payments/setup/sandbox-keys.js';
import { type TestContext, openTestContext } from '../../core/testing/index.js';
import { type SandboxChannelPeers, createSandboxChannelPeers } from './sandbox-peers.js';

/**
 * Two replicas' sandbox peers over one database: what one is told, the other knows. Each peer is
 * served on its own listener and spoken to by the real channel clients over HTTP, with the
 * sandbox keys, exactly as the server's replicas behind a load balancer would be.
 */
describe('sandbox channel peers over one database', () => {
  let t: TestContext;
  let keys: SandboxChannelKeys;
  const replicas: Array<{ peers: SandboxChannelPeers; server: Server; url: string }> = [];
  const verified: VerifiedNotification[] = [];
  let receiver: Awaited<ReturnType<typeof startNotifyReceiver>>;
  const client = { wechat: [] as PaymentChannel[], alipay: [] as PaymentChannel[] };

  beforeAll(async () => {
    t = await openTestContext();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-sandbox-peers-'));
    keys = await loadSandboxChannelKeys(dataDir);
    for (let i = 0; i < 2; i++) {
      const peers = createSandboxChannelPeers(keys, { clock: systemClock, store: (channel) => sandboxPeerStore(t.ctx, channel), settleRefundsEveryMs: 3_600_000 });
      const server = createServer((req, res) => {
        if (!peers.handle(req, res)) res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      replicas.push({ peers, server, url });
      client.wechat.push(createWechatPayChannel(sandboxWechatConfig(keys, url), { now: () => new Date(), nonce: () => randomBytes(16).toString('hex') }));
      client.alipay.push(createAlipayChannel(sandboxAlipayConfig(keys, url), { now: () => new Date() }));
    }
    // Our callback in miniature: whichever channel signed it, verified with the sandbox keys.
    receiver = await startNotifyReceiver((received) => {
      const channel = received.headers['wechatpay-signature'] ? client.wechat[0] : client.alipay[0];
      try {
        verified.push(channel.verifyNotification(received, new Date()));
        return channel.acknowledge();
      } catch (e) {
        return channel.refuse(e instanceof Error ? e.message : 'rejected', 401);
      }
    });
  });

  afterAll(async () => {
    for (const r of replicas) {
      r.peers.close();
      r.server.closeAllConnections();
      await new Promise((resolve) => r.server.close(resolve));
    }
    await receiver?.close();
    await t?.close();
  });

  const order = (outTradeNo: string) => ({
    outTradeNo,
    amountFen: 71_234n,
    description: 'Sandbox order',
    expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    notifyUrl: receiver.url,
  });

  it('WeChat Pay: an order created through one replica is paid through the other, queried and refunded through either', async () => {
    const no = `BMw${Date.now().toString(36)}`;
    const created = await client.wechat[0].createOrder(order(no));
    // The same order asked of the other replica: the same code, not a "duplicate number" refusal.
    expect((await client.wechat[1].createOrder(order(no))).codeUrl).toBe(created.codeUrl);
    expect(await client.wechat[1].queryOrder(no)).toMatchObject({ state: 'open' });
    expect(await replicas[1].peers.wechat.knowsOrder(no)).toBe(true);

    // Both replicas' payers at once: the trade is paid once, and one signed notification arrives.
    const attempts = await Promise.allSettled([replicas[0].peers.wechat.pay(no), replicas[1].peers.wechat.pay(no)]);
    expect(attempts.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<number>).value)).toEqual([204]);
    const paid = verified.filter((v) => v.kind === 'payment' && v.outTradeNo === no);
    expect(paid).toHaveLength(1);
    expect(await client.wechat[0].queryOrder(no)).toMatchObject({ state: 'paid', transactionId: paid[0].kind === 'payment' ? paid[0].transactionId : '', amountFen: 71_234n });

    // A refund asked through one replica is settled by the other's timer, and queried through the first.
    const refund = await client.wechat[0].refund({ outTradeNo: no, outRefundNo: `${no}r1`, refundFen: 1_234n, totalFen: 71_234n, reason: 'goodwill', notifyUrl: receiver.url });
    expect(refund.state).toBe('pending');
    expect(await replicas[1].peers.settleRefunds()).toBe(1);
    expect(await replicas[0].peers.settleRefunds()).toBe(0);
    expect(await client.wechat[0].queryRefund(no, `${no}r1`)).toMatchObject({ state: 'succeeded', refundFen: 1_234n });
    // More than is left is refused by the other replica, which knows what was refunded.
    await expect(
      client.wechat[1].refund({ outTradeNo: no, outRefundNo: `${no}r2`, refundFen: 70_001n, totalFen: 71_234n, reason: 'too much', notifyUrl: receiver.url }),
    ).rejects.toThrow();
  });

  it('Alipay: precreated through one replica, paid through the other, closed and refunded as one gateway', async () => {
    const no = `BMa${Date.now().toString(36)}`;
    const created = await client.alipay[0].createOrder(order(no));
    expect((await client.alipay[1].createOrder(order(no))).codeUrl).toBe(created.codeUrl);
    const answer = await replicas[1].peers.alipay.pay(no);
    expect(answer).toEqual({ status: 200, body: 'success' });
    await expect(replicas[0].peers.alipay.pay(no)).rejects.toThrow(/cannot be paid: TRADE_SUCCESS/);
    expect(verified.filter((v) => v.kind === 'payment' && v.outTradeNo === no)).toHaveLength(1);
    expect(await client.alipay[0].queryOrder(no)).toMatchObject({ state: 'paid', amountFen: 71_234n });
    expect(
      await client.alipay[1].refund({ outTradeNo: no, outRefundNo: `${no}r1`, refundFen: 71_234n, totalFen: 71_234n, reason: 'cancelled', notifyUrl: receiver.url }),
    ).toMatchObject({
      state: 'succeeded',
    });
    expect(await client.alipay[0].queryOrder(no)).toMatchObject({ state: 'refunded' });

    // A second order, closed through one replica, cannot be paid through the other.
    const other = `${no}b`;
    await client.alipay[1].createOrder(order(other));
    expect((await client.alipay[0].queryOrder(other)).state).toBe('not_found'); // precreated, never scanned: Alipay knows no trade yet
    expect(await replicas[0].peers.alipay.knowsOrder(other)).toBe(true);
    const rows = await t.ctx.db.kysely.selectFrom('sandbox_channel_records').select(['channel', 'kind', 'state']).where('key', 'in', [no, other]).orderBy('key').execute();
    expect(rows).toEqual([
      { channel: 'alipay', kind: 'order', state: 'TRADE_CLOSED' },
      { channel: 'alipay', kind: 'order', state: 'CREATED' },
    ]);
  });
});
