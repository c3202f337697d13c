import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, HOUR, type ManualClock } from '../../core/context/index.js';
import { voidInvoice } from '../../core/invoices/index.js';
import { applyChannelNotification, createCheckout, installPaymentChannels } from '../../core/payments/index.js';
import { type FakeChannel, fakeChannels, finalizedInvoices } from '../../core/payments/testing.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../../core/testing/index.js';
import { CHECKOUT_PAGE_CSP, type CheckoutPageDeps, createCheckoutPageRouter } from './index.js';

/**
 * The hosted checkout page over real HTTP on 127.0.0.1: a small Express app with only this
 * router, a real test database (SQLite, or PostgreSQL under test:pg), and the fake channels
 * installed as the server installs the real ones.
 */

let t: TestContext;
let ctx: CoreContext;
let clock: ManualClock;
let wechat: FakeChannel;
let alipay: FakeChannel;
let server: http.Server;
let base: string;
const MERCHANT = 'mer_page';
const MERCHANT_NAME = 'Lumen AI 光年智能';
const scope = { merchantId: MERCHANT, environment: 'live' as const };

async function listen(deps: Partial<CheckoutPageDeps> = {}): Promise<void> {
  server?.close();
  const app = express();
  app.set('etag', false);
  app.use('/pay', createCheckoutPageRouter({ ctx, publicUrl: 'https://pay.example', ...deps }));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock } = t);
  await insertTestMerchant(ctx, MERCHANT);
  await ctx.db.kysely.updateTable('merchants').set({ name: MERCHANT_NAME }).where('id', '=', MERCHANT).execute();
  const fakes = fakeChannels();
  ({ wechat, alipay } = fakes);
  installPaymentChannels(ctx, fakes.registry);
  await listen();
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
  await t.close();
});

/** Two finalized invoices (71,234 fen and 142,468 fen) and an open WeChat Pay order for the first; its token. */
async function openOrder(channel: 'wechat' | 'alipay' = 'wechat') {
  const [invoiceId, otherInvoiceId] = await finalizedInvoices(ctx, clock, [
    { ...scope, customer: 'customer-secret-7' },
    { ...scope, customer: 'customer-other-8', runs: '2000' },
  ]);
  const view = await createCheckout(ctx, (name) => (name === 'wechat' ? wechat : alipay), {
    ...scope,
    invoiceId,
    channel,
    notifyUrl: (c) => `https://pay.example/api/webhooks/${c}`,
    hostedUrl: (token) => token,
  });
  const order = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', view.paymentOrderId).executeTakeFirstOrThrow();
  return { invoiceId, otherInvoiceId, token: view.checkout.url, order };
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });
const postSwitch = (token: string, body = '', headers: Record<string, string> = {}) =>
  fetch(`${base}/pay/${token}/channel`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers },
    redirect: 'manual',
  });
const shownPanel = (html: string) => /data-state="(\w+)"/.exec(html)?.[1];
const panelVisible = (html: string, panel: string) => new RegExp(`data-panel="${panel}">`).test(html);

describe('the page', () => {
  it('shows merchant, invoice, period, amount in CNY, the QR, the channel and a countdown, in English by default, with strict headers', async () => {
    const { token } = await openOrder();
    const res = await get(`/pay/${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(CHECKOUT_PAGE_CSP).toBe(res.headers.get('content-security-policy'));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-robots-tag')).toBe('noindex, nofollow');
    expect(res.headers.get('vary')).toBe('Accept-Language');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<title>Pay Lumen AI 光年智能</title>');
    expect(html).toContain('<h1 id="merchant">Lumen AI 光年智能</h1>');
    expect(html).toContain('Invoice BM-2026-000001');
    expect(html).toContain('May 1\u2009–\u200931, 2026');
    expect(html).toContain('<dd class="amount" id="amount">¥712.34<span class="ccy">CNY</span></dd>');
    expect(html).toMatch(/<img id="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="WeChat Pay QR code for this payment"/);
    expect(html).toContain('Open WeChat and scan the code to pay');
    expect(html).toContain('<span id="countdown" role="timer">2:00:00</span>');
    expect(html).toContain('data-expires-at="2026-06-02T02:00:00.000Z"');
    expect(shownPanel(html)).toBe('open');
    expect(panelVisible(html, 'open')).toBe(true);
    expect(panelVisible(html, 'paid')).toBe(false);
    expect(html).toContain('<button class="method" type="submit" name="channel" value="alipay"');
    // Nothing inline for the CSP to refuse: one script and one stylesheet, both from the router.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    const script = /<script src="([^"]+)" defer><\/script>/.exec(html)![1];
    const styles = /<link rel="stylesheet" href="([^"]+)">/.exec(html)![1];
    expect(script).toMatch(/^\/pay\/assets\/checkout\.[0-9a-f]{12}\.js$/);
    const js = await get(script);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toContain("getElementById('checkout')");
    const css = await get(styles);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('speaks Simplified Chinese when Accept-Language prefers it (q-values respected)', async () => {
    const { token } = await openOrder();
    const res = await get(`/pay/${token}`, { 'accept-language': 'en;q=0.5, zh-CN;q=0.9' });
    const html = await res.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<title>向Lumen AI 光年智能付款</title>');
    expect(html).toContain('账单 BM-2026-000001');
    expect(html).toContain('2026年5月1日至2026年5月31日');
    expect(html).toContain('¥712.34');
    expect(html).toContain('打开微信，扫描二维码付款');
    expect(html).toContain('支付宝');
    expect(res.headers.get('vary')).toBe('Accept-Language');
    for (const header of ['zh;q=0, en', 'fr-FR, de;q=0.8', '*', '']) {
      expect(await (await get(`/pay/${token}`, { 'accept-language': header })).text()).toContain('<html lang="en">');
    }
    expect(await (await get(`/pay/${token}`, { 'accept-language': 'fr, zh-Hans-CN;q=0.8, en;q=0.7' })).text()).toContain('<html lang="zh-CN">');
  });

  it('answers the same not-found page for every wrong token, well-formed or not', async () => {
    const { token } = await openOrder();
    const wrong = [`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, 'x'.repeat(43), 'short', '..%2F..%2Fetc', 'a'.repeat(500), `${token}.`];
    const bodies = new Set<string>();
    for (const w of wrong) {
      const res = await get(`/pay/${w}`);
      expect(res.status, w).toBe(404);
      expect(res.headers.get('content-security-policy')).toBe(CHECKOUT_PAGE_CSP);
      expect(res.headers.get('cache-control')).toBe('no-store');
      bodies.add(await res.text());
    }
    for (const path of ['/pay/', '/pay', `/pay/${token}/nope`, `/pay/${token}/status/x`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
    expect([...bodies][0]).toContain('This payment link is not valid');
    expect((await get(`/pay/${wrong[0]}/status`)).status).toBe(404);
    expect((await postSwitch(wrong[0])).status).toBe(404);
  });

  it('shows nothing beyond what the payer needs: no ids, no customer, no other invoice', async () => {
    const { token, invoiceId, otherInvoiceId, order } = await openOrder();
    const html = await (await get(`/pay/${token}`)).text();
    for (const secret of [
      MERCHANT,
      `${MERCHANT}@example.com`,
      invoiceId,
      otherInvoiceId,
      'BM-2026-000002',
      order.id,
      order.out_trade_no,
      'customer-secret-7',
      'customer-other-8',
      'pay.example',
    ]) {
      expect(html, secret).not.toContain(secret);
    }
  });

  it('escapes what it renders: a merchant named like markup stays text', async () => {
    await ctx.db.kysely.updateTable('merchants').set({ name: `<script>alert("x")</script> & 'Co'` }).where('id', '=', MERCHANT).execute();
    const { token } = await openOrder();
    const html = await (await get(`/pay/${token}`)).text();
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('<h1 id="merchant">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;</h1>');
    expect(html).toContain('data-title-paid="Paid — &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;"');
    expect(html.match(/<script/g)).toHaveLength(1);
  });
  it('says when it is a test (sandbox) payment', async () => {
    const [invoiceId] = await finalizedInvoices(ctx, clock, [{ merchantId: MERCHANT, environment: 'sandbox', customer: 'sandbox-payer' }]);
    const view = await createCheckout(ctx, (name) => (name === 'wechat' ? wechat : alipay), {
      merchantId: MERCHANT,
      environment: 'sandbox',
      invoiceId,
      channel: 'alipay',
      notifyUrl: (c) => `https://pay.example/api/webhooks/${c}`,
      hostedUrl: (token) => token,
    });
    const html = await (await get(`/pay/${view.checkout.url}`, { 'accept-language': 'zh-CN,zh;q=0.9' })).text();
    expect(html).toContain('<p class="sandbox">测试模式：不会产生真实扣款。</p>');
    expect(html).toContain('打开支付宝，扫描二维码付款');
    const live = await openOrder();
    expect(await (await get(`/pay/${live.token}`)).text()).not.toContain('class="sandbox"');
  });
});

describe('status', () => {
  it('answers only { status, expiresAt, paidAt? }, and turns to paid when the notification lands', async () => {
    const { token, order } = await openOrder();
    const open = await get(`/pay/${token}/status`);
    expect(open.status).toBe(200);
    expect(open.headers.get('cache-control')).toBe('no-store');
    expect(await open.json()).toEqual({ status: 'open', expiresAt: '2026-06-02T02:00:00.000Z' });

    const result = await applyChannelNotification(ctx, wechat.pay(order.out_trade_no, { at: '2026-06-02T00:05:00.000Z' }), { environment: 'live' });
    expect(result.outcome).toBe('applied');
    expect(await (await get(`/pay/${token}/status`)).json()).toEqual({ status: 'paid', expiresAt: '2026-06-02T02:00:00.000Z', paidAt: '2026-06-02T00:05:00.000Z' });
    const html = await (await get(`/pay/${token}`)).text();
    expect(shownPanel(html)).toBe('paid');
    expect(panelVisible(html, 'paid')).toBe(true);
    expect(panelVisible(html, 'open')).toBe(false);
    expect(html).toContain('<time id="paid-at" datetime="2026-06-02T00:05:00.000Z">Jun 2, 2026, 08:05 GMT+8</time>');
    // Paid past the order's expiry stays paid.
    clock.advance(3 * HOUR);
    expect((await (await get(`/pay/${token}/status`)).json()).status).toBe('paid');
  });

  it('an order past its expiry shows that it expired (by the clock, and once ended), and offers a new code', async () => {
    const { token, invoiceId } = await openOrder();
    clock.advance(2 * HOUR);
    const html = await (await get(`/pay/${token}`)).text();
    expect(shownPanel(html)).toBe('expired');
    expect(html).toContain('This payment request expired');
    expect(html).toContain('<title>Payment request expired — Lumen AI 光年智能</title>');
    expect(await (await get(`/pay/${token}/status`)).json()).toEqual({ status: 'expired', expiresAt: '2026-06-02T02:00:00.000Z' });

    // "Get a new payment code": same channel, a new order (the old one is ended), a new page.
    const res = await postSwitch(token, 'channel=wechat');
    expect(res.status).toBe(303);
    const next = res.headers.get('location')!;
    expect(next).toMatch(/^\/pay\/[A-Za-z0-9_-]{43}$/);
    expect(next).not.toBe(`/pay/${token}`);
    const orders = await ctx.db.kysely.selectFrom('payment_orders').select(['status', 'channel']).where('invoice_id', '=', invoiceId).orderBy('created_at').execute();
    expect(orders).toEqual([
      { status: 'expired', channel: 'wechat' },
      { status: 'open', channel: 'wechat' },
    ]);
    expect(await (await get(`/pay/${token}/status`)).json()).toMatchObject({ status: 'expired' });
    expect(shownPanel(await (await get(next)).text())).toBe('open');
  });

  it('a void invoice says it was cancelled', async () => {
    const { token, invoiceId } = await openOrder();
    await voidInvoice(ctx, invoiceId, 'issued by mistake', null);
    expect(await (await get(`/pay/${token}/status`)).json()).toEqual({ status: 'void', expiresAt: '2026-06-02T02:00:00.000Z' });
    const html = await (await get(`/pay/${token}`, { 'accept-language': 'zh-CN' })).text();
    expect(shownPanel(html)).toBe('void');
    expect(html).toContain('此账单已取消');
    expect(html).not.toContain('issued by mistake');
  });
});

describe('switching the payment method', () => {
  it('creates the other channel’s order for the same invoice and redirects to its page (303); again, the same order', async () => {
    const { token, invoiceId } = await openOrder();
    const res = await postSwitch(token);
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/pay\/[A-Za-z0-9_-]{43}$/);
    const orders = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('invoice_id', '=', invoiceId).orderBy('channel', 'desc').execute();
    expect(orders.map((o) => [o.channel, o.status])).toEqual([
      ['wechat', 'open'],
      ['alipay', 'open'],
    ]);
    expect(location).toBe(`/pay/${orders[1].checkout_token}`);
    expect(alipay.orders.get(orders[1].out_trade_no)!.input).toMatchObject({ amountFen: 71234n, notifyUrl: 'https://pay.example/api/webhooks/alipay' });
    const html = await (await get(location)).text();
    expect(html).toContain('Open Alipay and scan the code to pay');
    expect(html).toContain('data-channel="alipay"');
    expect(html).toContain('value="wechat"');

    // Back to WeChat Pay: the order already open, not a new one.
    const back = await postSwitch(orders[1].checkout_token, 'channel=wechat');
    expect(back.headers.get('location')).toBe(`/pay/${token}`);
    expect(wechat.callsOf('createOrder')).toHaveLength(1);
    expect(alipay.callsOf('createOrder')).toHaveLength(1);
  });

  it('refuses a cross-site post, and shows a notice when the channel is down', async () => {
    const { token, invoiceId } = await openOrder();
    expect((await postSwitch(token, '', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    alipay.failNext('createOrder');
    const res = await postSwitch(token);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/pay/${token}?notice=unavailable&channel=alipay`);
    const html = await (await get(res.headers.get('location')!)).text();
    expect(html).toContain('<p class="notice" role="alert">Alipay is not available right now.');
    expect(shownPanel(html)).toBe('open');
    // An invoice paid meanwhile: back to this page, which says so.
    const [order] = await ctx.db.kysely.selectFrom('payment_orders').selectAll().where('invoice_id', '=', invoiceId).where('channel', '=', 'wechat').execute();
    await applyChannelNotification(ctx, wechat.pay(order.out_trade_no));
    const after = await postSwitch(token);
    expect(after.headers.get('location')).toBe(`/pay/${token}`);
    expect(shownPanel(await (await get(`/pay/${token}`)).text())).toBe('paid');
    expect((await get(`/pay/${token}/channel`)).status).toBe(405);
  });
});

describe('rate limit', () => {
  it('refuses a client past its limit per minute with a 429 page and Retry-After', async () => {
    const { token } = await openOrder();
    await listen({ limits: { viewsPerMinute: 3 } });
    for (let i = 0; i < 3; i++) expect((await get(`/pay/${token}/status`)).status).toBe(200);
    const page = await get(`/pay/${token}`);
    expect(page.status).toBe(429);
    expect(page.headers.get('retry-after')).toBe('60');
    expect(await page.text()).toContain('Too many requests');
    const status = await get(`/pay/${token}/status`);
    expect(status.status).toBe(429);
    expect(await status.json()).toEqual({ status: 'rate_limited' });
    clock.advance(60_000);
    expect((await get(`/pay/${token}`)).status).toBe(200);
  });
});
