import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/context/index.js';
import type { UsageMetric } from '../../core/usage/index.js';
import { insertUsageRowForTest } from '../../core/usage/testing.js';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';
import { type Caller, created, keyWithScopes, publishedRateCard, withKey, withSession } from './catalog.fixtures.js';

const prices = [
  { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00015' },
  { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.001', dimensions: { model: 'gpt-5' } },
  { metric: 'tokens_output', model: 'package', packageSize: '1000000', packagePriceMinor: '150' },
  {
    metric: 'agent_run',
    model: 'graduated',
    tiers: [
      { upTo: '1000', unitPriceMinor: '1', flatMinor: '100' },
      { upTo: '5000', unitPriceMinor: '0.5' },
      { upTo: null, unitPriceMinor: '0.1', flatMinor: '50' },
    ],
  },
  { metric: 'storage_gb', model: 'per_unit', unitPriceMinor: '10' },
];

describe('GET /api/v1/customers/{externalId}/usage', () => {
  const clock = new ManualClock('2026-05-20T12:00:00.000Z');
  let server: TestServer;
  let api: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  let rateCard: any;
  let seq = 0;

  /** Writes usage rows directly: the ingestion endpoint is built separately. */
  async function usage(
    customerId: string,
    metric: string,
    quantity: string,
    occurredAt: string,
    dimensions: Record<string, string> = {},
    environment: 'sandbox' | 'live' = 'sandbox',
    merchantId = merchant.id,
  ) {
    const sorted = Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1)));
    seq++;
    await insertUsageRowForTest(server.db, {
      merchantId,
      environment,
      customerId,
      idempotencyKey: `k${seq}`,
      metric: metric as UsageMetric,
      quantity,
      occurredAt: new Date(occurredAt).toISOString(),
      dimensions: JSON.stringify(sorted),
      receivedAt: clock.now().toISOString(),
    });
  }

  beforeAll(async () => {
    server = await startTestServer({ clock });
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    ({ rateCard } = await publishedRateCard(api, prices, { key: 'chat_api' }));
  });
  afterAll(async () => server.stop());

  it('prices the current period on the active contract: every model, dimension matches, storage peak, unpriced', async () => {
    const cust = await created(await api('POST', '/customers', { externalId: 'user_42', name: 'User 42' }));
    const contract = await created(
      await api('POST', '/contracts', { customerExternalId: 'user_42', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-01-01T00:00:00Z' }),
    );
    const may = (d: string) => `2026-05-${d}T10:00:00Z`;
    await usage(cust.id, 'tokens_input', '12500', may('02'), { model: 'gpt-4o-mini', region: 'us-east-1' }); // fallback 0.00015
    await usage(cust.id, 'tokens_input', '1000', may('03'), { model: 'gpt-5', region: 'us-east-1' });
    await usage(cust.id, 'tokens_input', '500', may('04'), { model: 'gpt-5', region: 'us-east-1' });
    await usage(cust.id, 'tokens_output', '2500001', may('05'));
    await usage(cust.id, 'agent_run', '6000', may('06'));
    await usage(cust.id, 'storage_gb', '3', may('07'));
    await usage(cust.id, 'storage_gb', '7', may('08'));
    await usage(cust.id, 'storage_gb', '5', may('09'));
    await usage(cust.id, 'image_generation', '4', may('10')); // no price for images
    await usage(cust.id, 'tokens_input', '999999', '2026-04-30T23:59:59.999Z'); // previous period
    await usage(cust.id, 'tokens_input', '999999', '2026-06-01T00:00:00.000Z'); // next period

    const res = await api('GET', '/customers/user_42/usage');
    expect(res.status, res.text).toBe(200);
    const s = res.body;
    expect(s).toMatchObject({
      customerExternalId: 'user_42',
      from: '2026-05-01T00:00:00.000Z',
      to: '2026-06-01T00:00:00.000Z',
      currency: 'USD',
      contractId: contract.id,
      rateCardId: rateCard.id,
      rateCardVersion: 1,
      hasUnpricedUsage: true,
    });
    const byKey = Object.fromEntries(s.metrics.map((m: any) => [`${m.metric}${JSON.stringify(m.dimensions)}`, m]));
    expect(byKey['tokens_input{}']).toMatchObject({ quantity: '12500', amountExact: '1.875', amountMinor: '2', pricingModel: 'per_unit' });
    expect(byKey['tokens_input{}'].usage).toEqual([{ dimensions: { model: 'gpt-4o-mini', region: 'us-east-1' }, quantity: '12500' }]);
    expect(byKey['tokens_input{"model":"gpt-5"}']).toMatchObject({ quantity: '1500', amountMinor: '2' }); // 1.5 → 2
    expect(byKey['tokens_output{}']).toMatchObject({ quantity: '2500001', amountMinor: '450', pricingModel: 'package' });
    expect(byKey['agent_run{}']).toMatchObject({ quantity: '6000', amountMinor: '3250', pricingModel: 'graduated' });
    expect(byKey['storage_gb{}']).toMatchObject({ quantity: '7', amountMinor: '70' }); // peak, not 15
    expect(byKey['image_generation{}']).toMatchObject({ quantity: '4', amountMinor: null, amountExact: null, pricingModel: null });
    expect(s.totalMinor).toBe(String(2 + 2 + 450 + 3250 + 70));
  });

  it('sums huge quantities exactly over HTTP (10^30 and beyond)', async () => {
    const cust = await created(await api('POST', '/customers', { externalId: 'huge', name: 'Huge' }));
    await created(await api('POST', '/contracts', { customerExternalId: 'huge', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' }));
    const e30 = (10n ** 30n).toString();
    const e40 = (10n ** 40n + 7n).toString();
    await usage(cust.id, 'tokens_input', e30, '2026-05-02T00:00:00Z');
    await usage(cust.id, 'tokens_input', e30, '2026-05-03T00:00:00Z');
    await usage(cust.id, 'tokens_input', e40, '2026-05-04T00:00:00Z');
    await usage(cust.id, 'tokens_input', '1', '2026-05-05T00:00:00Z');
    const s = (await api('GET', '/customers/huge/usage')).body;
    const total = 2n * 10n ** 30n + 10n ** 40n + 8n;
    expect(s.metrics).toHaveLength(1);
    expect(s.metrics[0].quantity).toBe(total.toString());
    // × 0.00015 = total × 15 / 100000
    const exact = total * 15n;
    expect(s.metrics[0].amountExact).toBe(`${exact / 100000n}.${(exact % 100000n).toString().padStart(5, '0')}`.replace(/\.?0+$/, ''));
    expect(s.metrics[0].amountMinor).toBe(((exact + 50000n) / 100000n).toString());
    expect(s.totalMinor).toBe(s.metrics[0].amountMinor);
  });

  it('reports usage without a contract, with amounts null, over the calendar month by default', async () => {
    const cust = await created(await api('POST', '/customers', { externalId: 'free', name: 'Free' }));
    await usage(cust.id, 'tokens_input', '10', '2026-05-02T00:00:00Z', { model: 'gpt-5' });
    await usage(cust.id, 'tokens_input', '15', '2026-05-03T00:00:00Z', { model: 'gpt-5' });
    await usage(cust.id, 'agent_run', '2', '2026-05-03T00:00:00Z');
    const s = (await api('GET', '/customers/free/usage')).body;
    expect(s).toMatchObject({ from: '2026-05-01T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z', currency: null, contractId: null, rateCardId: null, totalMinor: null });
    expect(s.metrics).toEqual([
      {
        metric: 'agent_run',
        dimensions: {},
        quantity: '2',
        amountMinor: null,
        amountExact: null,
        pricingModel: null,
        usage: [{ dimensions: {}, quantity: '2' }],
        contractId: null,
        currency: null,
      },
      {
        metric: 'tokens_input',
        dimensions: { model: 'gpt-5' },
        quantity: '25',
        amountMinor: null,
        amountExact: null,
        pricingModel: null,
        usage: [{ dimensions: { model: 'gpt-5' }, quantity: '25' }],
        contractId: null,
        currency: null,
      },
    ]);
  });

  it('takes an explicit window, anniversary periods by default, and validates the window', async () => {
    const cust = await created(await api('POST', '/customers', { externalId: 'anniv', name: 'Anniv' }));
    await created(await api('POST', '/contracts', { customerExternalId: 'anniv', rateCardId: rateCard.id, billingCycle: 'monthly_anniversary', startsAt: '2026-01-31T00:00:00Z' }));
    await usage(cust.id, 'agent_run', '10', '2026-04-29T00:00:00Z');
    await usage(cust.id, 'agent_run', '20', '2026-04-30T00:00:00Z');
    await usage(cust.id, 'agent_run', '40', '2026-05-19T00:00:00Z');
    const current = (await api('GET', '/customers/anniv/usage')).body;
    expect([current.from, current.to]).toEqual(['2026-04-30T00:00:00.000Z', '2026-05-31T00:00:00.000Z']);
    expect(current.metrics[0].quantity).toBe('60');
    const window = (await api('GET', `/customers/anniv/usage?from=${encodeURIComponent('2026-04-29T00:00:00+00:00')}&to=2026-04-30T00:00:00Z`)).body;
    expect(window.metrics[0]).toMatchObject({ quantity: '10', amountMinor: '110' }); // 10×1 + flat 100
    const bad = await api('GET', '/customers/anniv/usage?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('usage_window_invalid');
    expect((await api('GET', '/customers/anniv/usage?from=yesterday')).status).toBe(400);
    expect((await api('GET', '/customers/nobody/usage')).body.error).toBe('customer_not_found');
  });

  it('routes each metric to the contract that prices it, without a contractId; contractId filters', async () => {
    await created(await api('POST', '/customers', { externalId: 'multi', name: 'Multi' }));
    const { rateCard: images } = await publishedRateCard(api, [{ metric: 'image_generation', model: 'per_unit', unitPriceMinor: '3' }]);
    const { rateCard: runs } = await publishedRateCard(api, [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '2' }]);
    const a = await created(
      await api('POST', '/contracts', { customerExternalId: 'multi', rateCardId: runs.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' }),
    );
    const b = await created(
      await api('POST', '/contracts', { customerExternalId: 'multi', rateCardId: images.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' }),
    );
    // A third contract pricing a metric one of them already prices is refused.
    const clash = await api('POST', '/contracts', { customerExternalId: 'multi', rateCardId: rateCard.id, billingCycle: 'monthly_calendar', startsAt: '2026-05-01T00:00:00Z' });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ error: 'contract_metric_overlap' });
    await usage(a.customerId, 'agent_run', '10', '2026-05-02T00:00:00Z');
    await usage(a.customerId, 'image_generation', '4', '2026-05-02T00:00:00Z');
    const both = await api('GET', '/customers/multi/usage');
    expect(both.status).toBe(200);
    expect(both.body.contractId).toBeNull();
    expect(both.body.contracts.map((c: any) => [c.contractId, c.totalMinor]).sort()).toEqual(
      [
        [a.id, '20'],
        [b.id, '12'],
      ].sort(),
    );
    expect(both.body.metrics.map((m: any) => [m.metric, m.contractId, m.amountMinor])).toEqual(
      expect.arrayContaining([
        ['agent_run', a.id, '20'],
        ['image_generation', b.id, '12'],
      ]),
    );
    expect(both.body.totalMinor).toBe('32');
    const chosen = await api('GET', `/customers/multi/usage?contractId=${b.id}`);
    expect(chosen.status).toBe(200);
    expect(chosen.body).toMatchObject({ contractId: b.id, rateCardId: images.id, totalMinor: '12', hasUnpricedUsage: true });
    const theirs = await api('GET', `/customers/huge/usage?contractId=${b.id}`);
    expect(theirs.body.error).toBe('contract_not_found');
  });

  it('never mixes environments or merchants, and needs usage:read', async () => {
    const m = await signupMerchant(server);
    const sandbox = withKey(server, m.sandboxKey);
    const live = withSession(server, m.token, 'live');
    const s = await created(await sandbox('POST', '/customers', { externalId: 'iso', name: 'iso' }));
    const l = await created(await live('POST', '/customers', { externalId: 'iso', name: 'iso' }));
    await usage(s.id, 'agent_run', '5', '2026-05-02T00:00:00Z', {}, 'sandbox', m.id);
    await usage(l.id, 'agent_run', '700', '2026-05-02T00:00:00Z', {}, 'live', m.id);
    expect((await sandbox('GET', '/customers/iso/usage')).body.metrics.map((x: any) => x.quantity)).toEqual(['5']);
    expect((await live('GET', '/customers/iso/usage')).body.metrics.map((x: any) => x.quantity)).toEqual(['700']);
    expect((await api('GET', '/customers/iso/usage')).status).toBe(404);

    const customersOnly = withKey(server, await keyWithScopes(server, m.token, ['customers:read']));
    expect((await customersOnly('GET', '/customers/iso/usage')).body.error).toBe('scope_missing');
    const usageRead = withKey(server, await keyWithScopes(server, m.token, ['usage:read']));
    expect((await usageRead('GET', '/customers/iso/usage')).status).toBe(200);
    expect((await usageRead('GET', '/customers/iso')).status).toBe(403);
  });

  it('documents every new endpoint in the OpenAPI document', async () => {
    const doc = (await server.call('GET', '/api/openapi')).body;
    const expected: Array<[string, string, string | null]> = [
      ['/api/v1/products', 'post', 'catalog:write'],
      ['/api/v1/products', 'get', 'catalog:read'],
      ['/api/v1/products/{productId}', 'get', 'catalog:read'],
      ['/api/v1/products/{productId}', 'patch', 'catalog:write'],
      ['/api/v1/products/{productId}/archive', 'post', 'catalog:write'],
      ['/api/v1/products/{productId}/rate-cards', 'post', 'catalog:write'],
      ['/api/v1/products/{productId}/rate-cards', 'get', 'catalog:read'],
      ['/api/v1/rate-cards/{rateCardId}', 'get', 'catalog:read'],
      ['/api/v1/rate-cards/{rateCardId}', 'patch', 'catalog:write'],
      ['/api/v1/rate-cards/{rateCardId}/publish', 'post', 'catalog:write'],
      ['/api/v1/rate-cards/{rateCardId}/archive', 'post', 'catalog:write'],
      ['/api/v1/customers', 'post', 'customers:write'],
      ['/api/v1/customers', 'get', 'customers:read'],
      ['/api/v1/customers/{externalId}', 'get', 'customers:read'],
      ['/api/v1/customers/{externalId}', 'patch', 'customers:write'],
      ['/api/v1/customers/{externalId}/archive', 'post', 'customers:write'],
      ['/api/v1/customers/{externalId}/usage', 'get', 'usage:read'],
      ['/api/v1/contracts', 'post', 'customers:write'],
      ['/api/v1/contracts', 'get', 'customers:read'],
      ['/api/v1/contracts/{contractId}', 'get', 'customers:read'],
      ['/api/v1/contracts/{contractId}/end', 'post', 'customers:write'],
      ['/api/v1/contracts/{contractId}/archive', 'post', 'customers:write'],
    ];
    for (const [path, method, scope] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.security, `${method} ${path}`).toContainEqual({ bearerApiKey: [scope] });
    }
    for (const id of [
      'Product',
      'RateCard',
      'Price',
      'PerUnitPrice',
      'PackagePrice',
      'TieredPrice',
      'Customer',
      'Contract',
      'BillingCycle',
      'UsageSummary',
      'CustomerList',
      'ContractList',
    ]) {
      expect(doc.components.schemas[id], id).toBeDefined();
    }
    const listParams = doc.paths['/api/v1/customers'].get.parameters.map((p: any) => p.name);
    expect(listParams).toEqual(expect.arrayContaining(['limit', 'cursor']));
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.valid, JSON.stringify(result.errors)?.slice(0, 2000)).toBe(true);
  });
});
