import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../core/context/index.js';
import { lockCustomerUsageUntil } from '../../core/customers/lookup.js';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';
import { type Caller, allPages, created, keyWithScopes, publishedRateCard, withKey, withSession } from './catalog.fixtures.js';

const prices = [{ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' }];

describe('contracts API', () => {
  const clock = new ManualClock('2026-05-20T12:00:00.000Z');
  let server: TestServer;
  let api: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  let rateCard: any;
  let product: any;

  beforeAll(async () => {
    server = await startTestServer({ clock });
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    ({ rateCard, product } = await publishedRateCard(api, prices, { key: 'chat_api' }));
  });
  afterAll(async () => server.stop());

  const customer = async (externalId: string) => created(await api('POST', '/customers', { externalId, name: externalId }));

  it('binds a customer to a published rate card with a start in the past and shows the current period', async () => {
    await customer('acme');
    const c = await created(
      await api('POST', '/contracts', { customerExternalId: 'acme', rateCardId: rateCard.id, billingCycle: 'monthly_anniversary', startsAt: '2026-01-31T10:00:00+00:00' }),
    );
    expect(c).toMatchObject({
      customerExternalId: 'acme',
      productId: product.id,
      productKey: 'chat_api',
      rateCardId: rateCard.id,
      rateCardVersion: 1,
      pricingCurrency: 'USD',
      settlementCurrency: 'USD', // no merchant settlement currency yet: the rate card's
      billingCycle: 'monthly_anniversary',
      startsAt: '2026-01-31T10:00:00.000Z',
      endsAt: null,
      status: 'active',
      currentPeriod: { start: '2026-04-30T10:00:00.000Z', end: '2026-05-31T10:00:00.000Z' },
    });
    expect(c.id).toMatch(/^ctr_[0-9a-z]{26}$/);
    expect((await api('GET', `/contracts/${c.id}`)).body).toEqual(c);
  });

  it('defaults the settlement currency to the merchant’s, and accepts an explicit one', async () => {
    const m = await signupMerchant(server);
    const own = withKey(server, m.sandboxKey);
    const patched = await server.call('PATCH', '/api/v1/merchants/me', { headers: { authorization: `Bearer ${m.token}` }, body: { settlementCurrency: 'USDC' } });
    expect(patched.status, patched.text).toBe(200);
    const { rateCard: card } = await publishedRateCard(own, prices, { currency: 'CNY' });
    await created(await own('POST', '/customers', { externalId: 'a', name: 'a' }));
    await created(await own('POST', '/customers', { externalId: 'b', name: 'b' }));
    const a = await created(await own('POST', '/contracts', { customerExternalId: 'a', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' }));
    expect(a).toMatchObject({ pricingCurrency: 'CNY', settlementCurrency: 'USDC' });
    const b = await created(
      await own('POST', '/contracts', {
        customerExternalId: 'b',
        rateCardId: card.id,
        billingCycle: 'quarterly_calendar',
        startsAt: '2026-05-01T00:00:00Z',
        settlementCurrency: 'EUR',
      }),
    );
    expect(b).toMatchObject({ settlementCurrency: 'EUR', currentPeriod: { start: '2026-05-01T00:00:00.000Z', end: '2026-07-01T00:00:00.000Z' } });
  });

  it('refuses drafts, archived cards, unknown customers and bad periods', async () => {
    await customer('picky');
    const draft = await created(await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices }));
    const body = { customerExternalId: 'picky', rateCardId: draft.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' };
    const notPublished = await api('POST', '/contracts', body);
    expect(notPublished.status).toBe(409);
    expect(notPublished.body.error).toBe('rate_card_not_published');
    await api('POST', `/rate-cards/${draft.id}/archive`);
    expect((await api('POST', '/contracts', body)).body.error).toBe('rate_card_not_published');

    expect((await api('POST', '/contracts', { ...body, rateCardId: 'rc_01aaaaaaaaaaaaaaaaaaaaaaaa' })).body.error).toBe('rate_card_not_found');
    expect((await api('POST', '/contracts', { ...body, rateCardId: rateCard.id, customerExternalId: 'ghost' })).body.error).toBe('customer_not_found');
    expect((await api('POST', '/contracts', { ...body, rateCardId: rateCard.id, billingCycle: 'weekly' })).status).toBe(400);
    expect((await api('POST', '/contracts', { ...body, rateCardId: rateCard.id, startsAt: '2026-05-01' })).status).toBe(400);
    const backwards = await api('POST', '/contracts', { ...body, rateCardId: rateCard.id, endsAt: '2026-04-01T00:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(backwards.body.error).toBe('contract_period_invalid');
  });

  it('allows at most one contract per customer and product at any instant', async () => {
    await customer('serial');
    const base = { customerExternalId: 'serial', rateCardId: rateCard.id, billingCycle: 'monthly_calendar' };
    const first = await created(await api('POST', '/contracts', { ...base, startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-04-01T00:00:00Z' }));
    const overlap = await api('POST', '/contracts', { ...base, startsAt: '2026-03-15T00:00:00Z' });
    expect(overlap.status).toBe(409);
    expect(overlap.body).toMatchObject({ error: 'contract_overlap', contractId: first.id });
    expect((await api('POST', '/contracts', { ...base, startsAt: '2025-06-01T00:00:00Z', endsAt: '2026-01-02T00:00:00Z' })).body.error).toBe('contract_overlap');
    // back to back is fine: periods are half-open
    const second = await created(await api('POST', '/contracts', { ...base, startsAt: '2026-04-01T00:00:00Z' }));
    expect(second.status).toBe('active');
    expect((await api('GET', `/contracts/${first.id}`)).body.status).toBe('ended');
    // extending the first into the second is refused
    expect((await api('POST', `/contracts/${first.id}/end`, { endsAt: '2026-04-02T00:00:00Z' })).body.error).toBe('contract_overlap');
    // another product for the same customer is independent when it prices other metrics …
    const { rateCard: other } = await publishedRateCard(api, [{ metric: 'storage_gb', model: 'per_unit', unitPriceMinor: '9' }]);
    expect((await api('POST', '/contracts', { ...base, rateCardId: other.id, startsAt: '2026-01-01T00:00:00Z' })).status).toBe(201);
    // … and refused when it prices a metric a contract in force already prices (events name no product)
    const { rateCard: same } = await publishedRateCard(api, prices);
    const clash = await api('POST', '/contracts', { ...base, rateCardId: same.id, startsAt: '2026-01-01T00:00:00Z' });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ error: 'contract_metric_overlap', contractId: first.id });
  });

  it('ends a contract now or at a given instant, never before its start or inside an invoiced period', async () => {
    const cust = await customer('ending');
    const c = await created(
      await api('POST', '/contracts', { customerExternalId: 'ending', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-03-01T00:00:00Z' }),
    );
    const later = await created(await api('POST', `/contracts/${c.id}/end`, { endsAt: '2026-07-01T00:00:00Z' }), 200);
    expect(later).toMatchObject({ endsAt: '2026-07-01T00:00:00.000Z', status: 'active' });
    expect((await api('POST', `/contracts/${c.id}/end`, { endsAt: '2026-02-01T00:00:00Z' })).body.error).toBe('contract_period_invalid');

    await lockCustomerUsageUntil(server.ctx, cust.id, new Date('2026-05-01T00:00:00Z'));
    const invoiced = await api('POST', `/contracts/${c.id}/end`, { endsAt: '2026-04-15T00:00:00Z' });
    expect(invoiced.status).toBe(409);
    expect(invoiced.body.error).toBe('period_invoiced');
    expect(
      (await api('POST', '/contracts', { customerExternalId: 'ending', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-04-01T00:00:00Z' })).body.error,
    ).toBe('period_invoiced');

    const now = await created(await api('POST', `/contracts/${c.id}/end`, {}), 200);
    expect(now).toMatchObject({ endsAt: '2026-05-20T12:00:00.000Z', status: 'ended', currentPeriod: null });
  });

  it('archives only contracts that are not running, and the database refuses repointing one', async () => {
    await customer('arch');
    const base = { customerExternalId: 'arch', rateCardId: rateCard.id, billingCycle: 'monthly_calendar' };
    const running = await created(await api('POST', '/contracts', { ...base, startsAt: '2026-05-01T00:00:00Z', endsAt: '2026-06-01T00:00:00Z' }));
    const refused = await api('POST', `/contracts/${running.id}/archive`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('contract_running');

    const future = await created(await api('POST', '/contracts', { ...base, startsAt: '2026-06-01T00:00:00Z' }));
    const archived = await created(await api('POST', `/contracts/${future.id}/archive`), 200);
    expect(archived).toMatchObject({ status: 'archived', currentPeriod: null });
    expect((await api('POST', `/contracts/${future.id}/archive`)).status).toBe(200);
    expect((await api('POST', `/contracts/${future.id}/end`, {})).body.error).toBe('contract_archived');
    // an archived contract no longer blocks its dates
    await created(await api('POST', '/contracts', { ...base, startsAt: '2026-06-01T00:00:00Z' }));

    clock.advance(15 * DAY); // running has ended (2026-06-04 > 2026-06-01)
    expect((await api('GET', `/contracts/${running.id}`)).body.status).toBe('ended');
    expect((await api('POST', `/contracts/${running.id}/archive`)).status).toBe(200);
    clock.set('2026-05-20T12:00:00.000Z');

    const { rateCard: other } = await publishedRateCard(api, prices);
    await expect(server.db.kysely.updateTable('contracts').set({ rate_card_id: other.id }).where('id', '=', running.id).execute()).rejects.toThrow(/contract_terms_frozen/);
    await expect(server.db.kysely.updateTable('contracts').set({ starts_at: '2020-01-01T00:00:00.000Z' }).where('id', '=', running.id).execute()).rejects.toThrow(
      /contract_terms_frozen/,
    );
  });

  it('lists contracts with cursors, filtered by customer and status', async () => {
    const m = await signupMerchant(server);
    const own = withKey(server, m.sandboxKey);
    const { rateCard: card } = await publishedRateCard(own, prices);
    const { rateCard: card2 } = await publishedRateCard(own, prices);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      await created(await own('POST', '/customers', { externalId: `lc${i}`, name: `lc${i}` }));
      ids.push(
        (await created(await own('POST', '/contracts', { customerExternalId: `lc${i}`, rateCardId: card.id, billingCycle: 'annual_calendar', startsAt: '2026-01-01T00:00:00Z' })))
          .id,
      );
    }
    ids.push(
      (
        await created(
          await own('POST', '/contracts', {
            customerExternalId: 'lc0',
            rateCardId: card2.id,
            billingCycle: 'annual_calendar',
            startsAt: '2025-01-01T00:00:00Z',
            endsAt: '2026-01-01T00:00:00Z',
          }),
        )
      ).id,
    );
    const { pages, items } = await allPages(own, '/contracts', 3);
    expect(pages.map((p) => p.length)).toEqual([3, 1]);
    expect(items.map((c: any) => c.id)).toEqual(ids);
    expect((await allPages(own, '/contracts?customerExternalId=lc0', 1)).items.map((c: any) => c.id)).toEqual([ids[0], ids[3]]);
    expect((await own('GET', '/contracts?customerExternalId=ghost')).body).toEqual({ data: [], nextCursor: null });
    expect((await own('GET', '/contracts?status=ended')).body.data.map((c: any) => c.id)).toEqual([ids[3]]);
    expect((await own('GET', '/contracts?status=active')).body.data.map((c: any) => c.id)).toEqual(ids.slice(0, 3));
  });

  it('keeps sandbox and live contracts apart and enforces customers:* scopes', async () => {
    const m = await signupMerchant(server);
    const sandbox = withKey(server, m.sandboxKey);
    const live = withSession(server, m.token, 'live');
    const { rateCard: card } = await publishedRateCard(sandbox, prices);
    await created(await sandbox('POST', '/customers', { externalId: 'iso', name: 'iso' }));
    await created(await live('POST', '/customers', { externalId: 'iso', name: 'iso' }));
    // a sandbox rate card is invisible from live
    expect(
      (await live('POST', '/contracts', { customerExternalId: 'iso', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' })).body.error,
    ).toBe('rate_card_not_found');
    const c = await created(
      await sandbox('POST', '/contracts', { customerExternalId: 'iso', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' }),
    );
    expect((await live('GET', `/contracts/${c.id}`)).status).toBe(404);
    expect((await live('GET', '/contracts')).body.data).toEqual([]);
    expect((await api('GET', `/contracts/${c.id}`)).status).toBe(404); // another merchant

    const reader = withKey(server, await keyWithScopes(server, m.token, ['customers:read']));
    expect((await reader('GET', `/contracts/${c.id}`)).status).toBe(200);
    expect((await reader('POST', `/contracts/${c.id}/end`, {})).body.error).toBe('scope_missing');
    const catalog = withKey(server, await keyWithScopes(server, m.token, ['catalog:read', 'catalog:write']));
    expect((await catalog('GET', '/contracts')).status).toBe(403);
    expect(
      (await catalog('POST', '/contracts', { customerExternalId: 'iso', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-07-01T00:00:00Z' })).status,
    ).toBe(403);
  });
});
