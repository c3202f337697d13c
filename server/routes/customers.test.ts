import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';
import { type Caller, allPages, created, keyWithScopes, publishedRateCard, withKey, withSession } from './catalog.fixtures.js';

describe('customers API', () => {
  let server: TestServer;
  let api: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;

  beforeAll(async () => {
    server = await startTestServer();
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
  });
  afterAll(async () => server.stop());

  it('creates a customer by externalId (201) and refuses a duplicate (409 customer_exists)', async () => {
    const c = await created(await api('POST', '/customers', { externalId: 'user_42', name: 'Ada', email: 'Ada@Example.com', metadata: { plan: 'pro' } }));
    expect(c).toMatchObject({ externalId: 'user_42', name: 'Ada', email: 'Ada@Example.com', metadata: { plan: 'pro' }, status: 'active', autoCreated: false });
    expect(c.id).toMatch(/^cus_[0-9a-z]{26}$/);
    const dup = await api('POST', '/customers', { externalId: 'user_42', name: 'Other' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ ok: false, error: 'customer_exists' });
    expect((await api('GET', '/customers/user_42')).body).toEqual(c);
  });

  it('validates input and answers 404 customer_not_found', async () => {
    expect((await api('POST', '/customers', { externalId: '', name: 'x' })).status).toBe(400);
    expect((await api('POST', '/customers', { externalId: 'a', name: 'x', email: 'not-an-email' })).status).toBe(400);
    expect((await api('POST', '/customers', { externalId: 'a', name: 'x', metadata: { n: 1 } })).status).toBe(400);
    expect((await api('POST', '/customers', { externalId: 'a', name: 'x', extra: true })).status).toBe(400);
    const missing = await api('GET', '/customers/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ ok: false, error: 'customer_not_found' });
  });

  it('addresses externalIds with reserved URL characters', async () => {
    const externalId = 'org/42 user@x.com';
    await created(await api('POST', '/customers', { externalId, name: 'Slash' }));
    const got = await api('GET', `/customers/${encodeURIComponent(externalId)}`);
    expect(got.status).toBe(200);
    expect(got.body.externalId).toBe(externalId);
  });

  it('updates only the supplied fields, clears email with null, replaces metadata', async () => {
    await created(await api('POST', '/customers', { externalId: 'upd', name: 'Before', email: 'a@b.co', metadata: { a: '1', b: '2' } }));
    const renamed = await created(await api('PATCH', '/customers/upd', { name: 'After' }), 200);
    expect(renamed).toMatchObject({ name: 'After', email: 'a@b.co', metadata: { a: '1', b: '2' } });
    const cleared = await created(await api('PATCH', '/customers/upd', { email: null, metadata: { c: '3' } }), 200);
    expect(cleared).toMatchObject({ name: 'After', email: null, metadata: { c: '3' } });
    expect((await api('GET', '/customers/upd')).body).toEqual(cleared);
    expect((await api('PATCH', '/customers/nobody', { name: 'x' })).status).toBe(404);
    expect((await api('PATCH', '/customers/upd', { externalId: 'changed' })).status).toBe(400);
  });

  it('archives instead of deleting: still readable, read-only, idempotent; refused while a contract runs', async () => {
    await created(await api('POST', '/customers', { externalId: 'leaving', name: 'Leaving' }));
    const archived = await created(await api('POST', '/customers/leaving/archive'), 200);
    expect(archived.status).toBe('archived');
    expect((await api('POST', '/customers/leaving/archive')).status).toBe(200);
    expect((await api('GET', '/customers/leaving')).body.status).toBe('archived');
    expect((await api('PATCH', '/customers/leaving', { name: 'x' })).body.error).toBe('customer_archived');
    expect((await api('POST', '/customers', { externalId: 'leaving', name: 'Again' })).body.error).toBe('customer_exists');

    await created(await api('POST', '/customers', { externalId: 'bound', name: 'Bound' }));
    const { rateCard } = await publishedRateCard(api, [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' }]);
    const contract = await created(
      await api('POST', '/contracts', { customerExternalId: 'bound', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-01-01T00:00:00Z' }),
    );
    const refused = await api('POST', '/customers/bound/archive');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'customer_has_active_contract', contractId: contract.id });
    await created(await api('POST', `/contracts/${contract.id}/end`, {}), 200);
    expect((await api('POST', '/customers/bound/archive')).status).toBe(200);
    expect(
      (await api('POST', '/contracts', { customerExternalId: 'bound', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2030-01-01T00:00:00Z' })).body.error,
    ).toBe('customer_archived');
  });

  it('pages through customers with cursors and filters by status', async () => {
    const m = await signupMerchant(server);
    const own = withKey(server, m.sandboxKey);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await created(await own('POST', '/customers', { externalId: `c${i}`, name: `C${i}` }))).id);
    const { pages, items } = await allPages(own, '/customers', 2);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(items.map((c: any) => c.id)).toEqual(ids);
    await own('POST', '/customers/c2/archive');
    expect((await allPages(own, '/customers?status=archived', 2)).items.map((c: any) => c.externalId)).toEqual(['c2']);
    expect((await allPages(own, '/customers?status=active', 3)).items.map((c: any) => c.externalId)).toEqual(['c0', 'c1', 'c3', 'c4']);
    // a cursor from another list is refused, not misread
    const products = await own('POST', '/products', { key: 'k', name: 'K' });
    const foreign = Buffer.from(products.body.id).toString('base64url');
    expect((await own('GET', `/customers?cursor=${foreign}`)).body.error).toBe('invalid_cursor');
  });

  it('keeps sandbox and live customers apart, with the same externalId allowed in both', async () => {
    const m = await signupMerchant(server);
    const sandbox = withKey(server, m.sandboxKey);
    const live = withSession(server, m.token, 'live');
    const s = await created(await sandbox('POST', '/customers', { externalId: 'shared', name: 'Sandbox' }));
    expect((await live('GET', '/customers/shared')).status).toBe(404);
    expect((await live('GET', '/customers')).body.data).toEqual([]);
    const l = await created(await live('POST', '/customers', { externalId: 'shared', name: 'Live' }));
    expect(l.id).not.toBe(s.id);
    expect((await sandbox('GET', '/customers/shared')).body.name).toBe('Sandbox');
    expect((await live('GET', '/customers/shared')).body.name).toBe('Live');
    await live('POST', '/customers/shared/archive');
    expect((await sandbox('GET', '/customers/shared')).body.status).toBe('active');
    // another merchant cannot see either
    expect((await api('GET', '/customers/shared')).status).toBe(404);
  });

  it('enforces customers:read and customers:write scopes', async () => {
    const m = await signupMerchant(server);
    await created(await withKey(server, m.sandboxKey)('POST', '/customers', { externalId: 'scoped', name: 'Scoped' }));
    const catalogOnly = withKey(server, await keyWithScopes(server, m.token, ['catalog:read', 'catalog:write']));
    expect((await catalogOnly('GET', '/customers/scoped')).body.error).toBe('scope_missing');
    const reader = withKey(server, await keyWithScopes(server, m.token, ['customers:read']));
    expect((await reader('GET', '/customers/scoped')).status).toBe(200);
    expect((await reader('GET', '/customers')).status).toBe(200);
    expect((await reader('POST', '/customers', { externalId: 'x', name: 'x' })).status).toBe(403);
    expect((await reader('PATCH', '/customers/scoped', { name: 'x' })).status).toBe(403);
    expect((await reader('POST', '/customers/scoped/archive')).status).toBe(403);
    const writer = withKey(server, await keyWithScopes(server, m.token, ['customers:write']));
    expect((await writer('POST', '/customers', { externalId: 'x', name: 'x' })).status).toBe(201);
  });
});
