/**
 * The hosted checkout page for checkout-page.spec.ts: a fresh SQLite file with one merchant and
 * four finalized invoices, each with a WeChat Pay order made by core's own createCheckout through
 * the fake channels (core/payments/testing.ts), served by the page's router on 127.0.0.1. The
 * invoices are made on a manual clock (their May 2026 period); then the clock runs in real time,
 * so the countdowns tick and one order, made with a 1 ms lifetime, has already expired.
 *
 * Test-only endpoint: `POST /__test/pay/<token>` — the payer pays at the (fake) channel, and the
 * channel's notification is applied through the core (`applyChannelNotification`), as the
 * callback route would after verifying it. Answers the NotificationResult.
 *
 * Writes { url, tokens: { pay, expired, zh, switch } } to the file named by the first argument,
 * then runs until SIGTERM. Usage: node --import tsx test/browser/serve-checkout.ts <info.json>
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { ManualClock, createContext } from '../../core/context/index.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import { applyChannelNotification, createCheckout, installPaymentChannels } from '../../core/payments/index.js';
import { fakeChannels, finalizedInvoices } from '../../core/payments/testing.js';
import { insertTestMerchant } from '../../core/testing/index.js';
import { createCheckoutPageRouter } from '../../server/checkout-page/index.js';

const infoFile = process.argv[2];
if (!infoFile) throw new Error('usage: serve-checkout.ts <info.json>');

/** Manual while the invoices are made, then the wall clock. */
class SetUpThenRealClock extends ManualClock {
  real = false;
  override now(): Date {
    return this.real ? new Date() : super.now();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-browser-checkout-'));
const db = openDatabase(path.join(dir, 'buffmoney.db'), { durable: false });
await migrateToLatest(db);
const clock = new SetUpThenRealClock();
const ctx = createContext({ db, clock, bcryptCost: 4, secrets: { jwtSecret: randomBytes(32), dataKey: randomBytes(32) } });

const merchant = { merchantId: 'mer_checkout_page', environment: 'live' as const };
await insertTestMerchant(ctx, merchant.merchantId);
await ctx.db.kysely.updateTable('merchants').set({ name: 'Lumen AI 光年智能' }).where('id', '=', merchant.merchantId).execute();
const invoices = await finalizedInvoices(
  ctx,
  clock,
  ['pay', 'expired', 'zh', 'switch'].map((customer) => ({ ...merchant, customer })),
);
clock.real = true;

const fakes = fakeChannels();
installPaymentChannels(ctx, fakes.registry);
const app = express();
app.disable('x-powered-by');
let publicUrl = '';
const open = async (invoiceId: string, ttlMs?: number) => {
  const view = await createCheckout(ctx, fakes.registry, {
    ...merchant,
    invoiceId,
    channel: 'wechat',
    ttlMs,
    notifyUrl: (c) => `${publicUrl}/api/webhooks/${c}`,
    hostedUrl: (token) => token,
  });
  return view.checkout.url;
};

app.post('/__test/pay/:token', async (req, res) => {
  const order = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('checkout_token', '=', req.params.token).executeTakeFirst();
  if (!order) return void res.status(404).json({ error: 'no such order' });
  const channel = order.channel === 'wechat' ? fakes.wechat : fakes.alipay;
  const result = await applyChannelNotification(ctx, channel.pay(order.out_trade_no, { at: new Date().toISOString() }), { environment: order.environment });
  res.json(result);
});

const server = http.createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
publicUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
app.use('/pay', createCheckoutPageRouter({ ctx, publicUrl }));

const tokens = {
  pay: await open(invoices[0]),
  expired: await open(invoices[1], 1),
  zh: await open(invoices[2]),
  switch: await open(invoices[3]),
};
fs.writeFileSync(infoFile, JSON.stringify({ url: publicUrl, tokens }));

const stop = async () => {
  server.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
