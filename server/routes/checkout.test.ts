import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import { voidInvoice } from '../../core/invoices/void.js';
import { finalizedInvoices } from '../../core/payments/testing.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type Caller, keyWithScopes, withKey, withSession } from './catalog.fixtures.js';

describe('POST /api/v1/invoices/{invoiceId}/checkout', () => {
  const clock = new ManualClock('2026-06-01T12:00:00.000Z');
  let server: TestServer;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  let other: Awaited<ReturnType<typeof signupMerchant>>;
  let api: Caller;
  let ids: string[];

  beforeAll(async () => {
    server = await startTestServer({ clock });
    merchant = await signupMerchant(server);
    other = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    ids = await finalizedInvoices(server.ctx, clock, [
      { merchantId: merchant.id, environment: 'sandbox', customer: 'co_a' },
      { merchantId: merchant.id, environment: 'sandbox', customer: 'co_b' },
      { merchantId: merchant.id, environment: 'sandbox', customer: 'co_c' },
      { merchantId: merchant.id, environment: 'live', customer: 'co_live' },
      { merchantId: other.id, environment: 'sandbox', customer: 'co_other' },
    ]);
  });
  afterAll(async () => server?.stop());

  it('creates an order, then reuses it; each channel has its own', async () => {
    const first = await api('POST', `/invoices/${ids[0]}/checkout`, { channel: 'wechat' });
    expect(first.status, first.text).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['amountMinor', 'channel', 'checkout', 'currency', 'expiresAt', 'paymentOrderId', 'status']);
    expect(first.body).toMatchObject({ channel: 'wechat', status: 'open', amountMinor: '71234', currency: 'CNY', expiresAt: '2026-06-02T02:00:00.000Z' });
    const again = await api('POST', `/invoices/${ids[0]}/checkout`, { channel: 'wechat' });
    expect(again.body).toEqual(first.body);
    // No body: WeChat Pay, the same order.
    const bare = await server.call('POST', `/api/v1/invoices/${ids[0]}/checkout`, { headers: { authorization: `Bearer ${merchant.sandboxKey}` } });
    expect(bare.body.paymentOrderId).toBe(first.body.paymentOrderId);
    const alipay = await api('POST', `/invoices/${ids[0]}/checkout`, { channel: 'alipay' });
    expect(alipay.body).toMatchObject({ channel: 'alipay', status: 'open' });
    expect(alipay.body.paymentOrderId).not.toBe(first.body.paymentOrderId);
    expect((await api('GET', `/invoices/${ids[0]}`)).body.status).toBe('payment_pending');
  });

  it('refuses an unknown channel, another merchant’s invoice, a void invoice', async () => {
    expect((await api('POST', `/invoices/${ids[1]}/checkout`, { channel: 'paypal' })).body).toMatchObject({ error: 'validation_failed' });
    expect((await api('POST', `/invoices/${ids[4]}/checkout`, { channel: 'wechat' })).body).toMatchObject({ error: 'invoice_not_found' });
    expect((await api('POST', '/invoices/inv_nope/checkout', { channel: 'wechat' })).status).toBe(404);
    // The live invoice is invisible to the sandbox key.
    expect((await api('POST', `/invoices/${ids[3]}/checkout`, { channel: 'wechat' })).status).toBe(404);
    await voidInvoice(server.ctx, ids[2], 'test', null);
    const voided = await api('POST', `/invoices/${ids[2]}/checkout`, { channel: 'wechat' });
    expect(voided.status).toBe(409);
    expect(voided.body).toMatchObject({ error: 'invoice_void', status: 'void' });
  });

  it('answers 503 channel_not_configured for live without channel configuration', async () => {
    const live = await withSession(server, merchant.token, 'live')('POST', `/invoices/${ids[3]}/checkout`, { channel: 'wechat' });
    expect(live.status).toBe(503);
    expect(live.body).toMatchObject({ error: 'channel_not_configured' });
  });

  it('needs credentials and the checkout:write scope', async () => {
    expect((await server.call('POST', `/api/v1/invoices/${ids[1]}/checkout`, { body: { channel: 'wechat' } })).status).toBe(401);
    const third = await signupMerchant(server);
    const readOnly = await keyWithScopes(server, third.token, ['invoice:read']);
    const refused = await withKey(server, readOnly)('POST', `/invoices/${ids[4]}/checkout`, { channel: 'wechat' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'scope_missing', requiredScope: 'checkout:write' });
  });

  it('honours Idempotency-Key: a replay answers the stored response; another request with the key is 409', async () => {
    const call = (body: unknown, key: string) =>
      server.call('POST', `/api/v1/invoices/${ids[1]}/checkout`, { headers: { authorization: `Bearer ${merchant.sandboxKey}`, 'idempotency-key': key }, body });
    const first = await call({ channel: 'alipay' }, 'co-key-1');
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await call({ channel: 'alipay' }, 'co-key-1');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    const reused = await call({ channel: 'wechat' }, 'co-key-1');
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ error: 'idempotency_key_reused' });
    // A stored refusal replays too.
    const missing = await server.call('POST', '/api/v1/invoices/inv_missing/checkout', {
      headers: { authorization: `Bearer ${merchant.sandboxKey}`, 'idempotency-key': 'co-key-2' },
      body: { channel: 'wechat' },
    });
    expect(missing.status).toBe(404);
    const missingAgain = await server.call('POST', '/api/v1/invoices/inv_missing/checkout', {
      headers: { authorization: `Bearer ${merchant.sandboxKey}`, 'idempotency-key': 'co-key-2' },
      body: { channel: 'wechat' },
    });
    expect(missingAgain.status).toBe(404);
    expect(missingAgain.headers.get('idempotent-replayed')).toBe('true');
    // Keys are per merchant: the other merchant's same key is its own.
    const theirs = await withKey(server, other.sandboxKey)('POST', `/invoices/${ids[4]}/checkout`, { channel: 'wechat' });
    expect(theirs.status).toBe(200);
  });

  it('replays one execution to concurrent retries with the same key', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.call('POST', `/api/v1/invoices/${ids[4]}/checkout`, {
          headers: { authorization: `Bearer ${other.sandboxKey}`, 'idempotency-key': 'co-concurrent' },
          body: { channel: 'alipay' },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((r) => r.body.paymentOrderId)).size).toBe(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r.body).toMatchObject({ error: 'idempotency_key_in_use' });
  });
});
