import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';
import { type Caller, allPages, created, keyWithScopes, publishedRateCard, withKey, withSession } from './catalog.fixtures.js';

const perUnit = { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' };

describe('products and rate cards API', () => {
  let server: TestServer;
  let api: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;

  beforeAll(async () => {
    server = await startTestServer();
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
  });
  afterAll(async () => server.stop());

  it('creates, gets, renames and archives a product; its key stays taken', async () => {
    const product = await created(await api('POST', '/products', { key: 'chat_api', name: 'Chat API' }));
    expect(product).toMatchObject({ key: 'chat_api', name: 'Chat API', status: 'active', description: null });
    expect(product.id).toMatch(/^prd_[0-9a-z]{26}$/);

    expect((await api('GET', `/products/${product.id}`)).body).toEqual(product);
    const renamed = await created(await api('PATCH', `/products/${product.id}`, { name: 'Chat', description: 'LLM chat' }), 200);
    expect(renamed).toMatchObject({ name: 'Chat', description: 'LLM chat', key: 'chat_api' });

    const dup = await api('POST', '/products', { key: 'chat_api', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ ok: false, error: 'product_key_taken' });

    const archived = await created(await api('POST', `/products/${product.id}/archive`), 200);
    expect(archived.status).toBe('archived');
    expect(archived.archivedAt).toBeTruthy();
    // idempotent, still readable, refuses changes and new rate cards, key still taken
    expect((await api('POST', `/products/${product.id}/archive`)).status).toBe(200);
    expect((await api('GET', `/products/${product.id}`)).body.status).toBe('archived');
    expect((await api('PATCH', `/products/${product.id}`, { name: 'x' })).body.error).toBe('product_archived');
    expect((await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [perUnit] })).body.error).toBe('product_archived');
    expect((await api('POST', '/products', { key: 'chat_api', name: 'Again' })).status).toBe(409);
  });

  it('validates product input and answers 404 for unknown products', async () => {
    const bad = await api('POST', '/products', { key: 'Chat API!', name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ ok: false, error: 'validation_failed' });
    expect((await api('POST', '/products', { key: 'x', name: 'y', extra: 1 })).status).toBe(400);
    const missing = await api('GET', '/products/prd_01aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('product_not_found');
    expect((await api('GET', '/rate-cards/rc_01aaaaaaaaaaaaaaaaaaaaaaaa')).body.error).toBe('rate_card_not_found');
    expect((await api('PATCH', '/rate-cards/rc_01aaaaaaaaaaaaaaaaaaaaaaaa', { currency: 'USD' })).status).toBe(404);
    expect((await api('POST', '/rate-cards/rc_01aaaaaaaaaaaaaaaaaaaaaaaa/publish')).status).toBe(404);
    expect((await api('GET', '/products/prd_01aaaaaaaaaaaaaaaaaaaaaaaa/rate-cards')).status).toBe(404);
  });

  it('creates versioned drafts, edits a draft, publishes once, and freezes the published version', async () => {
    const product = await created(await api('POST', '/products', { key: 'versions', name: 'Versions' }));
    const v1 = await created(await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [perUnit] }));
    expect(v1).toMatchObject({ version: 1, status: 'draft', currency: 'USD', productId: product.id, productKey: 'versions', publishedAt: null });
    expect(v1.id).toMatch(/^rc_/);
    expect(v1.contentHash).toMatch(/^[0-9a-f]{64}$/);

    const edited = await created(
      await api('PATCH', `/rate-cards/${v1.id}`, {
        prices: [
          { ...perUnit, unitPriceMinor: '0.00015' },
          { metric: 'storage_gb', model: 'package', packageSize: '1', packagePriceMinor: '10' },
        ],
      }),
      200,
    );
    expect(edited.prices).toHaveLength(2);
    expect(edited.contentHash).not.toBe(v1.contentHash);

    const published = await created(await api('POST', `/rate-cards/${v1.id}/publish`), 200);
    expect(published).toMatchObject({ status: 'published', version: 1, contentHash: edited.contentHash });
    expect(published.publishedAt).toBeTruthy();

    const again = await api('POST', `/rate-cards/${v1.id}/publish`);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('rate_card_not_draft');
    const patch = await api('PATCH', `/rate-cards/${v1.id}`, { currency: 'EUR' });
    expect(patch.status).toBe(409);
    expect(patch.body.error).toBe('rate_card_not_draft');

    const v2 = await created(await api('POST', `/products/${product.id}/rate-cards`, { currency: 'CNY', prices: [perUnit] }));
    expect(v2.version).toBe(2);
    expect((await api('GET', `/rate-cards/${v1.id}`)).body).toEqual(published);
  });

  it('has the database refuse any change to a published version, even bypassing the API', async () => {
    const { rateCard } = await publishedRateCard(api, [perUnit]);
    const db = server.db.kysely;
    await expect(db.updateTable('rate_cards').set({ prices: '[]' }).where('id', '=', rateCard.id).execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(db.updateTable('rate_cards').set({ currency: 'EUR' }).where('id', '=', rateCard.id).execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(db.updateTable('rate_cards').set({ status: 'draft' }).where('id', '=', rateCard.id).execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(db.deleteFrom('rate_cards').where('id', '=', rateCard.id).execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(sql`UPDATE rate_cards SET prices = '[]' WHERE id = ${rateCard.id}`.execute(db)).rejects.toThrow(/rate_card_frozen/);
    expect((await api('GET', `/rate-cards/${rateCard.id}`)).body.prices).toEqual([perUnit]);
    // archiving (status only) is still allowed
    expect((await created(await api('POST', `/rate-cards/${rateCard.id}/archive`), 200)).status).toBe('archived');
    await expect(db.updateTable('rate_cards').set({ prices: '[]' }).where('id', '=', rateCard.id).execute()).rejects.toThrow(/rate_card_frozen/);
  });

  it('accepts every pricing model and refuses malformed or ambiguous prices', async () => {
    const product = await created(await api('POST', '/products', { key: 'models', name: 'Models' }));
    const ok = await api('POST', `/products/${product.id}/rate-cards`, {
      currency: 'USD',
      prices: [
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' },
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.001', dimensions: { model: 'gpt-5' } },
        { metric: 'tokens_output', model: 'package', packageSize: '1000000', packagePriceMinor: '150' },
        {
          metric: 'agent_run',
          model: 'graduated',
          tiers: [
            { upTo: '100', unitPriceMinor: '5', flatMinor: '0' },
            { upTo: null, unitPriceMinor: '2' },
          ],
        },
        {
          metric: 'image_generation',
          model: 'volume',
          tiers: [
            { upTo: '1000', unitPriceMinor: '4' },
            { upTo: null, unitPriceMinor: '3', flatMinor: '100' },
          ],
        },
      ],
    });
    expect(ok.status, ok.text).toBe(201);

    const cases: Array<[unknown, string]> = [
      [{ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: 0.0002 }, 'validation_failed'],
      [{ metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '-1' }, 'validation_failed'],
      [{ metric: 'tokens_input', model: 'package', packageSize: '0', packagePriceMinor: '1' }, 'validation_failed'],
      [{ metric: 'tokens_input', model: 'graduated', tiers: [{ upTo: '100', unitPriceMinor: '1' }] }, 'validation_failed'],
      [
        {
          metric: 'tokens_input',
          model: 'volume',
          tiers: [
            { upTo: '100', unitPriceMinor: '1' },
            { upTo: '50', unitPriceMinor: '1' },
            { upTo: null, unitPriceMinor: '1' },
          ],
        },
        'validation_failed',
      ],
      [{ metric: 'gpu_hours', model: 'per_unit', unitPriceMinor: '1' }, 'validation_failed'],
      [{ metric: 'tokens_input', model: 'flat', unitPriceMinor: '1' }, 'validation_failed'],
    ];
    for (const [price, code] of cases) {
      const res = await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [price] });
      expect(res.status, JSON.stringify(price)).toBe(400);
      expect(res.body.error).toBe(code);
    }
    expect((await api('POST', `/products/${product.id}/rate-cards`, { currency: 'XYZ', prices: [perUnit] })).status).toBe(400);
    expect((await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [] })).status).toBe(400);

    const ambiguous = await api('POST', `/products/${product.id}/rate-cards`, {
      currency: 'USD',
      prices: [
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '1', dimensions: { model: 'gpt-5' } },
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '2', dimensions: { region: 'eu' } },
      ],
    });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error).toBe('rate_card_prices_ambiguous');
    const duplicate = await api('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [perUnit, perUnit] });
    expect(duplicate.body.error).toBe('rate_card_prices_ambiguous');
  });

  it('pages through products and rate cards with opaque cursors, oldest first', async () => {
    const m = await signupMerchant(server);
    const own = withKey(server, m.sandboxKey);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await created(await own('POST', '/products', { key: `page_${i}`, name: `P${i}` }))).id);
    const { pages, items } = await allPages(own, '/products', 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(items.map((p: any) => p.id)).toEqual(ids);

    const first = await own('GET', '/products');
    expect(first.body.data).toHaveLength(7); // default page size 20
    expect(first.body.nextCursor).toBeNull();

    for (let i = 0; i < 3; i++) await created(await own('POST', `/products/${ids[0]}/rate-cards`, { currency: 'USD', prices: [perUnit] }));
    const cards = await allPages(own, `/products/${ids[0]}/rate-cards`, 2);
    expect(cards.items.map((c: any) => c.version)).toEqual([1, 2, 3]);

    await own('POST', `/products/${ids[1]}/archive`);
    const active = await own('GET', '/products?status=active&limit=100');
    expect(active.body.data.map((p: any) => p.id)).toEqual(ids.filter((id) => id !== ids[1]));

    expect((await own('GET', '/products?key=page_4')).body.data.map((p: any) => p.id)).toEqual([ids[4]]);
    expect((await own('GET', '/products?cursor=not-a-cursor')).body.error).toBe('invalid_cursor');
    expect((await own('GET', '/products?limit=0')).status).toBe(400);
    expect((await own('GET', '/products?limit=101')).status).toBe(400);
    expect((await own('GET', '/products?limit=abc')).status).toBe(400);
  });

  it('keeps sandbox and live catalogs apart', async () => {
    const m = await signupMerchant(server);
    const sandbox = withSession(server, m.token, 'sandbox');
    const live = withSession(server, m.token, 'live');
    const product = await created(await sandbox('POST', '/products', { key: 'chat_api', name: 'Sandbox chat' }));
    const card = await created(await sandbox('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [perUnit] }));

    expect((await live('GET', `/products/${product.id}`)).status).toBe(404);
    expect((await live('GET', `/rate-cards/${card.id}`)).status).toBe(404);
    expect((await live('POST', `/rate-cards/${card.id}/publish`)).status).toBe(404);
    expect((await live('GET', '/products')).body.data).toEqual([]);
    // the same key is free in live
    const liveProduct = await created(await live('POST', '/products', { key: 'chat_api', name: 'Live chat' }));
    expect((await sandbox('GET', '/products')).body.data.map((p: any) => p.id)).toEqual([product.id]);
    expect((await live('GET', '/products')).body.data.map((p: any) => p.id)).toEqual([liveProduct.id]);
    // and the sandbox API key sees only sandbox
    expect((await withKey(server, m.sandboxKey)('GET', `/products/${liveProduct.id}`)).status).toBe(404);
    // another merchant sees nothing
    expect((await api('GET', `/products/${product.id}`)).status).toBe(404);
  });

  it('enforces catalog:read and catalog:write scopes on API keys', async () => {
    const m = await signupMerchant(server);
    const product = await created(await withKey(server, m.sandboxKey)('POST', '/products', { key: 'scoped', name: 'Scoped' }));

    const usageOnly = withKey(server, await keyWithScopes(server, m.token, ['usage:write']));
    const denied = await usageOnly('GET', '/products');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ ok: false, error: 'scope_missing' });
    expect((await usageOnly('POST', '/products', { key: 'nope', name: 'Nope' })).status).toBe(403);

    const readOnly = withKey(server, await keyWithScopes(server, m.token, ['catalog:read']));
    expect((await readOnly('GET', `/products/${product.id}`)).status).toBe(200);
    expect((await readOnly('GET', `/products/${product.id}/rate-cards`)).status).toBe(200);
    expect((await readOnly('POST', '/products', { key: 'nope', name: 'Nope' })).body.error).toBe('scope_missing');
    expect((await readOnly('POST', `/products/${product.id}/rate-cards`, { currency: 'USD', prices: [perUnit] })).status).toBe(403);

    const writer = withKey(server, await keyWithScopes(server, m.token, ['catalog:write']));
    expect((await writer('POST', '/products', { key: 'yes', name: 'Yes' })).status).toBe(201);
    expect((await writer('GET', '/products')).status).toBe(403); // write does not imply read

    expect((await server.call('GET', '/api/v1/products')).status).toBe(401);
  });
});
