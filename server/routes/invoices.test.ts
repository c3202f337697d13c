import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FxRateInput, setFxRate } from '../../core/fx/index.js';
import { generateInvoices } from '../../core/invoices/index.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';
import { type Caller, created, keyWithScopes, publishedRateCard, withKey } from './catalog.fixtures.js';

describe('GET /api/v1/invoices', () => {
  let server: TestServer;
  let api: Caller;
  let merchant: Awaited<ReturnType<typeof signupMerchant>>;
  let invoiceIds: string[];

  beforeAll(async () => {
    server = await startTestServer();
    merchant = await signupMerchant(server);
    api = withKey(server, merchant.sandboxKey);
    await setFxRate(server.ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1234', effectiveAt: '2026-01-01T00:00:00Z', source: 'test' }), null);
    const { rateCard } = await publishedRateCard(api, [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '275' }]);
    for (const c of ['alice', 'bob']) {
      await created(await api('POST', '/customers', { externalId: c, name: c }));
      await created(
        await api('POST', '/contracts', {
          customerExternalId: c,
          rateCardId: rateCard.id,
          billingCycle: 'monthly_calendar',
          startsAt: '2026-09-01T00:00:00Z',
          settlementCurrency: 'USD',
        }),
      );
    }
    const ingest = await api('POST', '/usage-events', {
      events: [{ customerExternalId: 'alice', idempotencyKey: 'a-1', metric: 'agent_run', quantity: '10', occurredAt: '2026-09-15T00:00:00Z' }],
    });
    expect(ingest.status, ingest.text).toBe(200);
    const report = await generateInvoices(server.ctx, { asOf: new Date('2026-11-01T01:00:00Z') });
    expect(report.failed).toEqual([]);
    invoiceIds = report.created.map((c) => c.invoiceId);
    expect(invoiceIds).toHaveLength(4); // two customers × September, October
  });
  afterAll(async () => server.stop());

  it('lists newest first with cursor pagination and filters', async () => {
    const first = await api('GET', '/invoices?limit=3');
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(3);
    const rest = await api('GET', `/invoices?limit=3&cursor=${first.body.nextCursor}`);
    expect(rest.body).toMatchObject({ nextCursor: null });
    expect([...first.body.data, ...rest.body.data].map((i: { _id: string }) => i._id)).toEqual([...invoiceIds].reverse());
    const alice = await api('GET', '/invoices?customerExternalId=alice&period=2026-09');
    expect(alice.body.data.map((i: any) => [i.customerExternalId, i.periodStart, i.subtotalMinor, i.collectionAmountMinor, i.platformFeeMinor, i.netSettlementMinor])).toEqual([
      // 10 × 275 = 2,750 cents; × 7.1234 = 19,589 fen; 80 bps = 22; net 2,728
      ['alice', '2026-09-01T00:00:00.000Z', '2750', '19589', '22', '2728'],
    ]);
    expect((await api('GET', '/invoices?status=void')).body.data).toEqual([]);
    expect((await api('GET', '/invoices?period=2026-13')).status).toBe(400);
    expect((await api('GET', '/invoices?cursor=bogus')).body.error).toBe('invalid_cursor');
  });

  it('shows one invoice with lines and the FX snapshot; others are 404', async () => {
    const one = await api('GET', `/invoices/${invoiceIds[0]}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      _id: invoiceIds[0],
      id: invoiceIds[0],
      status: 'finalized',
      invoiceNumber: expect.stringMatching(/^BM-2026-\d{6}$/),
      lines: [{ metric: 'agent_run', quantity: '10', amountMinor: '2750', pricingModel: 'per_unit' }],
      fxSnapshot: [{ use: 'collection', pair: 'USD/CNY', rate: '7.1234' }],
      // Not collected yet (server/routes/sandbox.test.ts follows them through payment and refunds).
      paidAt: null,
      refundedAt: null,
      refundedMinor: '0',
    });
    expect((await api('GET', '/invoices/inv_nope')).status).toBe(404);
    expect((await api('GET', `/invoices/${'x'.repeat(65)}`)).status).toBe(400);
    // Another merchant, or the other environment, sees nothing.
    const other = await signupMerchant(server);
    expect((await withKey(server, other.sandboxKey)('GET', `/invoices/${invoiceIds[0]}`)).status).toBe(404);
    const live = await server.call('GET', `/api/v1/invoices/${invoiceIds[0]}`, { headers: { authorization: `Bearer ${merchant.token}`, 'buffmoney-environment': 'live' } });
    expect(live.status).toBe(404);
  });

  it('needs the invoice:read scope', async () => {
    const key = await keyWithScopes(server, merchant.token, ['usage:write']);
    const refused = await withKey(server, key)('GET', '/invoices');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'scope_missing', requiredScope: 'invoice:read' });
  });
});
