import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProduct } from '../catalog/products.js';
import { createRateCard, publishRateCard } from '../catalog/rate-cards.js';
import type { CoreContext, ManualClock } from '../context/index.js';
import { createContract } from '../contracts/contracts.js';
import { createCustomer } from '../customers/customers.js';
import { listEvents } from '../events/index.js';
import { FxRateInput, setFxRate } from '../fx/index.js';
import { ledgerBalances, verifyLedger } from '../ledger/index.js';
import { refuseInserts } from '../testing/database.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { insertUsageRowForTest } from '../usage/testing.js';
import { generateInvoices, invoiceAmounts, listInvoices, loadInvoiceView, voidInvoice } from './index.js';

let t: TestContext;
let dbFile: string;
let ctx: CoreContext;
let clock: ManualClock;
const scope = { merchantId: 'mer_inv', environment: 'live' as const };
let eventNo = 0;
const execFileAsync = promisify(execFile);

beforeEach(async () => {
  t = await openTestContext();
  ({ ctx, clock, dbFile } = t);
  await insertTestMerchant(ctx, scope.merchantId);
});

afterEach(async () => t.close());

async function rate(from: string, to: string, r: string, effectiveAt = '2026-01-01T00:00:00Z') {
  return setFxRate(ctx, FxRateInput.parse({ from, to, rate: r, effectiveAt, source: 'test' }), null);
}

async function contractFor(opts: {
  customer: string;
  currency: string;
  prices: unknown[];
  settlementCurrency?: string;
  billingCycle?: string;
  startsAt?: string;
  endsAt?: string;
}) {
  const product = await createProduct(ctx, scope, { key: `p_${opts.customer}`, name: 'P' } as never);
  const card = await createRateCard(ctx, scope, product.id, { currency: opts.currency, prices: opts.prices } as never);
  await publishRateCard(ctx, scope, card.id);
  await createCustomer(ctx, scope, { externalId: opts.customer, name: opts.customer } as never);
  return createContract(ctx, scope, {
    customerExternalId: opts.customer,
    rateCardId: card.id,
    billingCycle: opts.billingCycle ?? 'monthly_calendar',
    startsAt: opts.startsAt ?? '2026-05-01T00:00:00Z',
    endsAt: opts.endsAt,
    settlementCurrency: opts.settlementCurrency,
  } as never);
}

async function usage(customerId: string, metric: string, quantity: string, occurredAt: string, dimensions = '{}') {
  await insertUsageRowForTest(ctx.db, { ...scope, customerId, idempotencyKey: `e${++eventNo}`, metric: metric as never, quantity, occurredAt, dimensions });
}

describe('invoice figures (worked by hand)', () => {
  it('2,750 USD cents at 7.1234 → 19,589 fen; 80 bps → 22; net 2,728 (settled in USD)', () => {
    expect(invoiceAmounts({ subtotalMinor: '2750', pricingCurrency: 'USD', settlementCurrency: 'USD', serviceFeeBps: 80, collectionRate: '7.1234' })).toEqual({
      subtotalMinor: '2750',
      collectionAmountMinor: '19589',
      grossSettlementMinor: '2750',
      platformFeeMinor: '22',
      netSettlementMinor: '2728',
    });
  });

  it('CNY pricing settled in USDC: no collection conversion; 6-decimal settlement', () => {
    // 19,589 fen = 195.89 CNY × 0.1404 = 27.503 USDC → 27,502,956 micro-USDC; fee 80 bps = 220,023.648 → 220,024.
    expect(invoiceAmounts({ subtotalMinor: '19589', pricingCurrency: 'CNY', settlementCurrency: 'USDC', serviceFeeBps: 80, settlementRate: '0.1404' })).toEqual({
      subtotalMinor: '19589',
      collectionAmountMinor: '19589',
      grossSettlementMinor: '27502956',
      platformFeeMinor: '220024',
      netSettlementMinor: '27282932',
    });
  });

  it('USD pricing settled in CNY: gross is the collection amount; half-up fee', () => {
    // 1,250 cents × 7.2 = 9,000 fen; 9,000 × 125 bps = 112.5 → 113; net 8,887.
    expect(invoiceAmounts({ subtotalMinor: '1250', pricingCurrency: 'USD', settlementCurrency: 'CNY', serviceFeeBps: 125, collectionRate: '7.2' })).toEqual({
      subtotalMinor: '1250',
      collectionAmountMinor: '9000',
      grossSettlementMinor: '9000',
      platformFeeMinor: '113',
      netSettlementMinor: '8887',
    });
  });

  it('JPY pricing (exponent 0) settled in EUR', () => {
    // 1,000 yen × 0.0481 CNY = 48.1 CNY = 4,810 fen; × 0.0061 EUR = 6.1 EUR = 610 cents; fee 4.88 → 5; net 605.
    expect(
      invoiceAmounts({ subtotalMinor: '1000', pricingCurrency: 'JPY', settlementCurrency: 'EUR', serviceFeeBps: 80, collectionRate: '0.0481', settlementRate: '0.0061' }),
    ).toEqual({
      subtotalMinor: '1000',
      collectionAmountMinor: '4810',
      grossSettlementMinor: '610',
      platformFeeMinor: '5',
      netSettlementMinor: '605',
    });
  });
});

describe('invoice generation', () => {
  it('prices each model, locks the card and the FX snapshot, posts the receivable and announces invoice.finalized', async () => {
    await rate('USD', 'CNY', '7.0', '2026-04-01T00:00:00Z');
    const usd = await rate('USD', 'CNY', '7.1234', '2026-05-20T00:00:00Z');
    const contract = await contractFor({
      customer: 'c1',
      currency: 'USD',
      settlementCurrency: 'USD',
      prices: [
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002', dimensions: { model: 'gpt-5' } },
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00005' },
        { metric: 'image_generation', model: 'package', packageSize: '100', packagePriceMinor: '150' },
        {
          metric: 'agent_run',
          model: 'graduated',
          tiers: [
            { upTo: '1000', unitPriceMinor: '2' },
            { upTo: null, unitPriceMinor: '1' },
          ],
        },
        {
          metric: 'tokens_output',
          model: 'volume',
          tiers: [
            { upTo: '1000000', unitPriceMinor: '0.0004' },
            { upTo: null, unitPriceMinor: '0.0003' },
          ],
        },
      ],
    });
    const customerId = contract.customerId;
    await usage(customerId, 'tokens_input', '1000000', '2026-05-03T00:00:00Z', '{"model":"gpt-5"}'); // 200
    await usage(customerId, 'tokens_input', '2000000', '2026-05-04T00:00:00Z', '{"model":"other"}'); // 100
    await usage(customerId, 'image_generation', '250', '2026-05-05T00:00:00Z'); // 3 packages = 450
    await usage(customerId, 'agent_run', '1500', '2026-05-06T00:00:00Z'); // 1000×2 + 500×1 = 2500
    await usage(customerId, 'tokens_output', '1500000', '2026-05-31T23:59:59Z'); // volume 0.0003 × 1.5M = 450
    await usage(customerId, 'tokens_input', '999', '2026-06-01T00:00:00Z'); // next period
    // Total 200 + 100 + 450 + 2500 + 450 = 3700 cents; × 7.1234 = 26,356.58 → 26,357 fen; fee 29.6 → 30; net 3,670.
    clock.set('2026-06-01T01:00:00Z');
    const report = await generateInvoices(ctx);
    expect(report.failed).toEqual([]);
    expect(report.created).toHaveLength(1);
    const invoice = await loadInvoiceView(ctx, scope, report.created[0].invoiceId);
    expect(invoice).toMatchObject({
      _id: invoice.id,
      invoiceNumber: 'BM-2026-000001',
      status: 'finalized',
      pricingCurrency: 'USD',
      collectionCurrency: 'CNY',
      settlementCurrency: 'USD',
      subtotalMinor: '3700',
      collectionAmountMinor: '26357',
      platformFeeMinor: '30',
      netSettlementMinor: '3670',
      serviceFeeBps: 80,
      periodStart: '2026-05-01T00:00:00.000Z',
      periodEnd: '2026-06-01T00:00:00.000Z',
      rateCardId: contract.rateCardId,
      rateCardVersion: 1,
      fxSnapshot: [{ use: 'collection', id: usd.id, pair: 'USD/CNY', rate: '7.1234' }],
    });
    expect(invoice.lines.map((l) => [l.metric, l.pricingModel, l.quantity, l.amountMinor])).toEqual([
      ['tokens_input', 'per_unit', '1000000', '200'],
      ['tokens_input', 'per_unit', '2000000', '100'],
      ['image_generation', 'package', '250', '450'],
      ['agent_run', 'graduated', '1500', '2500'],
      ['tokens_output', 'volume', '1500000', '450'],
    ]);
    // A later rate does not change an issued invoice.
    await rate('USD', 'CNY', '9.9', '2026-05-25T00:00:00Z');
    expect((await loadInvoiceView(ctx, scope, invoice.id)).collectionAmountMinor).toBe('26357');

    const balances = Object.fromEntries((await ledgerBalances(ctx)).map((b) => [b.code, b.balanceMinor]));
    expect(balances).toEqual({
      'fx_position:platform:live:CNY': '-26357',
      'fx_position:platform:live:USD': '3700',
      'merchant_payable:mer_inv:live:USD': '3670',
      'platform_fee_revenue:platform:live:USD': '30',
      'receivable:mer_inv:live:CNY': '26357',
    });
    expect((await verifyLedger(ctx)).ok).toBe(true);
    const events = await listEvents(ctx, { merchantId: scope.merchantId, limit: 10 });
    expect(events.map((e) => [e.type, (e.data as { _id: string })._id])).toEqual([['invoice.finalized', invoice.id]]);
    expect((events[0].data as { collectionAmountMinor: string }).collectionAmountMinor).toBe('26357');
    // The event carries the invoice exactly as the API returns it.
    expect(events[0].data).toEqual(JSON.parse(JSON.stringify(await loadInvoiceView(ctx, scope, invoice.id))));
  });

  it('re-runs and concurrent runs (two processes) create one invoice per contract and period', { timeout: 90_000 }, async () => {
    await rate('USD', 'CNY', '7.1');
    const contract = await contractFor({ customer: 'c2', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    await usage(contract.customerId, 'agent_run', '5', '2026-05-10T00:00:00Z');
    clock.set('2026-08-15T00:00:00Z');
    // Two runs at once in two processes on the same file (as the scheduler and the CLI would).
    const run = () =>
      execFileAsync(process.execPath, ['--import', 'tsx', 'core/invoices/testing/run-generation.ts', dbFile, clock.now().toISOString()], {
        encoding: 'utf8',
        timeout: 60_000,
      }).then((r) => JSON.parse(r.stdout) as Awaited<ReturnType<typeof generateInvoices>>);
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.created.length + b.created.length).toBe(3); // May, June, July
    expect(a.failed.concat(b.failed)).toEqual([]);
    const again = await generateInvoices(ctx);
    expect(again.created).toEqual([]);
    const invoices = await ctx.db.kysely.selectFrom('invoices').select(['period_start', 'invoice_number', 'subtotal_minor']).orderBy('period_start').execute();
    expect(invoices).toEqual([
      { period_start: '2026-05-01T00:00:00.000Z', invoice_number: expect.stringMatching(/^BM-2026-00000[123]$/), subtotal_minor: '50' },
      { period_start: '2026-06-01T00:00:00.000Z', invoice_number: expect.stringMatching(/^BM-2026-00000[123]$/), subtotal_minor: '0' },
      { period_start: '2026-07-01T00:00:00.000Z', invoice_number: expect.stringMatching(/^BM-2026-00000[123]$/), subtotal_minor: '0' },
    ]);
    expect(new Set(invoices.map((i) => i.invoice_number)).size).toBe(3);
  });

  it('waits out the grace window after the period end', async () => {
    await rate('USD', 'CNY', '7.1');
    await contractFor({ customer: 'c3', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    clock.set('2026-06-01T00:59:59Z');
    expect((await generateInvoices(ctx)).created).toEqual([]);
    clock.set('2026-06-01T01:00:00Z');
    expect((await generateInvoices(ctx)).created).toHaveLength(1);
  });

  it('a missing FX rate fails that invoice with its reason; the others are created', async () => {
    await rate('USD', 'CNY', '7.1');
    const ok = await contractFor({ customer: 'c4', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    const eur = await contractFor({ customer: 'c5', currency: 'EUR', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    const cny = await contractFor({ customer: 'c6', currency: 'CNY', settlementCurrency: 'USDT', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    clock.set('2026-06-01T02:00:00Z');
    const report = await generateInvoices(ctx);
    expect(report.created.map((c) => c.contractId)).toEqual([ok.id]);
    expect(report.failed.map((f) => [f.contractId, f.error])).toEqual(
      expect.arrayContaining([
        [eur.id, 'fx_rate_missing'],
        [cny.id, 'fx_rate_missing'],
      ]),
    );
    expect(report.failed.find((f) => f.contractId === eur.id)?.message).toMatch(/EUR\/CNY/);
    expect(await ctx.db.kysely.selectFrom('invoices').select('id').execute()).toHaveLength(1);
    // Once the rate exists, the next run picks the failed periods up.
    await rate('EUR', 'CNY', '7.8');
    await rate('CNY', 'USDT', '0.14');
    const retry = await generateInvoices(ctx);
    expect(retry.created.map((c) => c.contractId).sort()).toEqual([eur.id, cny.id].sort());
  });

  it('a zero-usage period yields a zero invoice (finalized, nothing to collect, nothing posted)', async () => {
    await rate('USD', 'CNY', '7.1');
    await contractFor({ customer: 'c7', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    clock.set('2026-06-02T00:00:00Z');
    const report = await generateInvoices(ctx);
    const invoice = await loadInvoiceView(ctx, scope, report.created[0].invoiceId);
    expect(invoice).toMatchObject({ status: 'finalized', subtotalMinor: '0', collectionAmountMinor: '0', platformFeeMinor: '0', netSettlementMinor: '0', lines: [] });
    expect(await ctx.db.kysely.selectFrom('ledger_transactions').select('id').execute()).toEqual([]);
    expect((await listEvents(ctx, { limit: 10 })).map((e) => e.type)).toEqual(['invoice.finalized']);
  });

  it('closes the period for the customer: the lock stops at a period another contract has not invoiced', async () => {
    await rate('USD', 'CNY', '7.1');
    const monthly = await contractFor({ customer: 'c8', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    const lock = async () =>
      (await ctx.db.kysely.selectFrom('customers').select('usage_locked_until').where('id', '=', monthly.customerId).executeTakeFirstOrThrow()).usage_locked_until;
    clock.set('2026-06-01T02:00:00Z');
    await generateInvoices(ctx);
    expect(await lock()).toBe('2026-06-01T00:00:00.000Z');
  });

  it('voids an unpaid invoice: status, reversing posting, event; a void invoice cannot be voided again', async () => {
    await rate('USD', 'CNY', '7.1');
    const contract = await contractFor({ customer: 'c9', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    await usage(contract.customerId, 'agent_run', '3', '2026-05-10T00:00:00Z');
    clock.set('2026-06-02T00:00:00Z');
    const { created } = await generateInvoices(ctx);
    const voided = await voidInvoice(ctx, created[0].invoiceId, 'issued in error', 'stf_x');
    expect(voided).toMatchObject({ status: 'void', voidReason: 'issued in error' });
    expect((await ledgerBalances(ctx)).every((b) => b.balanceMinor === '0')).toBe(true);
    expect((await verifyLedger(ctx)).ok).toBe(true);
    expect((await listEvents(ctx, { limit: 10 })).map((e) => e.type)).toEqual(['invoice.finalized', 'invoice.voided']);
    await expect(voidInvoice(ctx, created[0].invoiceId, 'again', null)).rejects.toMatchObject({ code: 'invoice_not_voidable' });
    const page = await listInvoices(ctx, scope, { limit: 10, status: 'void' });
    expect(page.data.map((i) => i.id)).toEqual([created[0].invoiceId]);
  });

  it('the outbox row exists if and only if the invoice committed', async () => {
    await rate('USD', 'CNY', '7.1');
    const contract = await contractFor({ customer: 'c10', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '10' }] });
    await usage(contract.customerId, 'agent_run', '4', '2026-05-10T00:00:00Z');
    clock.set('2026-06-02T00:00:00Z');
    // The event insert fails (the last step): the invoice, its lines, its posting and the lock roll back with it.
    const outboxBack = await refuseInserts(ctx.db, 'domain_events', 'outbox unavailable');
    const failed = await generateInvoices(ctx);
    expect(failed.failed).toMatchObject([{ contractId: contract.id, message: expect.stringMatching(/outbox unavailable/) }]);
    for (const table of ['invoices', 'invoice_lines', 'ledger_transactions', 'ledger_entries', 'domain_events'] as const) {
      expect(await ctx.db.kysely.selectFrom(table).selectAll().execute(), table).toEqual([]);
    }
    expect(
      (await ctx.db.kysely.selectFrom('customers').select('usage_locked_until').where('id', '=', contract.customerId).executeTakeFirstOrThrow()).usage_locked_until,
    ).toBeNull();
    await outboxBack();
    const ok = await generateInvoices(ctx);
    expect(ok.created).toHaveLength(1);
    const events = await listEvents(ctx, { limit: 10 });
    expect(events.map((e) => [e.type, (e.data as { _id: string })._id])).toEqual([['invoice.finalized', ok.created[0].invoiceId]]);
  });

  it('cuts invoices on every billing cycle: month ends, quarters, years, leap years, anniversaries on the 31st', async () => {
    await rate('CNY', 'USD', '0.14', '2027-01-01T00:00:00Z');
    const price = [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' }];
    const monthly = await contractFor({ customer: 'cyc_m', currency: 'CNY', prices: price, billingCycle: 'monthly_calendar', startsAt: '2028-01-15T00:00:00Z' });
    const anniversary = await contractFor({ customer: 'cyc_a', currency: 'CNY', prices: price, billingCycle: 'monthly_anniversary', startsAt: '2028-01-31T10:00:00Z' });
    const quarterly = await contractFor({ customer: 'cyc_q', currency: 'CNY', prices: price, billingCycle: 'quarterly_calendar', startsAt: '2027-11-01T00:00:00Z' });
    const annual = await contractFor({
      customer: 'cyc_y',
      currency: 'CNY',
      prices: price,
      billingCycle: 'annual_calendar',
      startsAt: '2027-03-01T00:00:00Z',
      endsAt: '2028-05-20T00:00:00Z',
    });
    await usage(anniversary.customerId, 'agent_run', '5', '2028-02-29T09:59:59Z'); // the leap day, still in the first period
    await usage(anniversary.customerId, 'agent_run', '7', '2028-02-29T10:00:00Z'); // the second period starts on the 29th
    clock.set('2028-06-01T01:00:00Z');
    const report = await generateInvoices(ctx);
    expect(report.failed).toEqual([]);
    const periods = async (contractId: string) =>
      (
        await ctx.db.kysely.selectFrom('invoices').select(['period_start', 'period_end', 'subtotal_minor']).where('contract_id', '=', contractId).orderBy('period_start').execute()
      ).map((r) => `${r.period_start.slice(0, 16)} → ${r.period_end.slice(0, 16)}${r.subtotal_minor === '0' ? '' : ` ${r.subtotal_minor}`}`);
    expect(await periods(monthly.id)).toEqual([
      '2028-01-15T00:00 → 2028-02-01T00:00',
      '2028-02-01T00:00 → 2028-03-01T00:00', // 29 days: 2028 is a leap year
      '2028-03-01T00:00 → 2028-04-01T00:00',
      '2028-04-01T00:00 → 2028-05-01T00:00',
      '2028-05-01T00:00 → 2028-06-01T00:00',
    ]);
    expect(await periods(anniversary.id)).toEqual([
      '2028-01-31T10:00 → 2028-02-29T10:00 5',
      '2028-02-29T10:00 → 2028-03-31T10:00 7',
      '2028-03-31T10:00 → 2028-04-30T10:00',
      '2028-04-30T10:00 → 2028-05-31T10:00',
    ]);
    expect(await periods(quarterly.id)).toEqual(['2027-11-01T00:00 → 2028-01-01T00:00', '2028-01-01T00:00 → 2028-04-01T00:00']);
    expect(await periods(annual.id)).toEqual(['2027-03-01T00:00 → 2028-01-01T00:00', '2028-01-01T00:00 → 2028-05-20T00:00']);
  });

  it('refuses an as-of instant in the future (a period still to come cannot be invoiced)', async () => {
    clock.set('2026-06-10T00:00:00Z');
    await expect(generateInvoices(ctx, { asOf: new Date('9999-12-31T00:00:00Z') })).rejects.toMatchObject({ code: 'invoice_as_of_future' });
  });

  it('a contract that cannot be cut into periods is reported and does not stop the run', async () => {
    await rate('USD', 'CNY', '7.1', '1000-01-01T00:00:00Z');
    const ancient = await contractFor({
      customer: 'old',
      currency: 'USD',
      prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' }],
      startsAt: '1100-01-01T00:00:00Z',
    });
    const fine = await contractFor({ customer: 'new', currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' }] });
    clock.set('2026-06-02T00:00:00Z');
    const report = await generateInvoices(ctx);
    expect(report.failed).toMatchObject([{ contractId: ancient.id, error: 'invoice_periods_invalid' }]);
    expect(report.created.map((c) => c.contractId)).toEqual([fine.id]);
  });
});
