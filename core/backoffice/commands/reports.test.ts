import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProduct } from '../../catalog/products.js';
import { createRateCard, publishRateCard } from '../../catalog/rate-cards.js';
import { createContract } from '../../contracts/contracts.js';
import { createCustomer } from '../../customers/customers.js';
import { FxRateInput, setFxRate } from '../../fx/index.js';
import { generateInvoices, voidInvoice } from '../../invoices/index.js';
import { signup } from '../../merchants/accounts.js';
import { submitKyb } from '../../merchants/kyb.js';
import { insertUsageRowForTest } from '../../usage/testing.js';
import type { CommandResult } from '../registry.js';
import { type Harness, PDF_BYTES, openHarness } from '../testing/harness.js';

function dataOf(r: CommandResult<any>): any {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.data;
}

async function merchantWaitingForKyb(h: Harness, n: number) {
  const m = await signup(h.ctx, { name: `Waiting ${n}`, email: `w${n}@merchant.test`, password: 'merchant password' } as never);
  await submitKyb(h.ctx, m.id, { companyName: `Waiting ${n} Ltd`, registrationNumber: `REG-${n}`, country: 'CN' }, [
    { kind: 'companyRegistration', originalName: 'r.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`r${n}`)]) },
    { kind: 'ownerId', originalName: 'o.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`o${n}`)]) },
    { kind: 'bankProof', originalName: 'b.pdf', content: Buffer.concat([PDF_BYTES, Buffer.from(`b${n}`)]) },
  ]);
  return m.id;
}

describe('reports:overview (the home screen)', () => {
  let h: Harness;
  beforeEach(async () => {
    // 2026-05-01T09:00Z: March and April are over and invoiced below.
    h = await openHarness();
  });
  afterEach(async () => h.close());

  it('reads well on a fresh database: nothing waiting, twelve empty months', async () => {
    const finance = await h.staff('finance');
    const data = dataOf(await h.run(finance, 'reports:overview'));
    expect(data.environment).toBe('live');
    expect(data.attention).toEqual([
      { kind: 'kyb_pending_review', severity: 'action', count: 0, oldestAt: null },
      { kind: 'kyb_info_requested', severity: 'action', count: 0, oldestAt: null },
      { kind: 'invoice_periods_overdue', severity: 'failure', count: 0, oldestAt: null },
    ]);
    expect(data.series.months).toHaveLength(12);
    // the twelve months that are over, at 2026-05-01T09:00Z
    expect(data.series.months[0]).toBe('2025-05');
    expect(data.series.months.at(-1)).toBe('2026-04');
    expect(data.series).toMatchObject({ usage: [], invoiced: [] });
  });

  it('counts KYB waiting and periods not invoiced; sums invoiced usage and amounts exactly per month', async () => {
    const first = await merchantWaitingForKyb(h, 1);
    h.clock.advance(60_000);
    await merchantWaitingForKyb(h, 2);
    const admin = await h.staff('admin');
    dataOf(await h.run(admin, 'kyb:request-info', { merchant: first, message: 'Please send a clearer owner ID' }));

    const m = await signup(h.ctx, { name: 'Billing Co', email: 'billing@merchant.test', password: 'merchant password' } as never);
    const scope = { merchantId: m.id, environment: 'live' as const };
    const product = await createProduct(h.ctx, scope, { key: 'chat', name: 'Chat' } as never);
    const card = await createRateCard(h.ctx, scope, product.id, {
      currency: 'USD',
      prices: [
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0001' },
        { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '5' },
      ],
    } as never);
    await publishRateCard(h.ctx, scope, card.id);
    const customer = await createCustomer(h.ctx, scope, { externalId: 'c1', name: 'C1' } as never);
    await createContract(h.ctx, scope, { customerExternalId: 'c1', rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: '2026-03-01T00:00:00Z' } as never);
    // Quantities past 2^53 and 2^64: summed exactly.
    const big = '18446744073709551616'; // 2^64
    let n = 0;
    const usage = (metric: 'tokens_input' | 'agent_run', quantity: string, occurredAt: string) =>
      insertUsageRowForTest(h.db, { ...scope, customerId: customer.id, idempotencyKey: `e${++n}`, metric, quantity, occurredAt });
    await usage('tokens_input', big, '2026-03-02T00:00:00Z');
    await usage('tokens_input', '9007199254740993', '2026-03-03T00:00:00Z'); // 2^53 + 1
    await usage('agent_run', '3', '2026-04-03T00:00:00Z');

    // No USD→CNY rate yet: the run fails both periods, and they show as overdue.
    const failed = await generateInvoices(h.ctx);
    expect(failed.failed).toHaveLength(2);
    let data = dataOf(await h.run(admin, 'reports:overview'));
    expect(data.attention).toEqual([
      { kind: 'kyb_pending_review', severity: 'action', count: 1, oldestAt: expect.any(String) },
      { kind: 'kyb_info_requested', severity: 'action', count: 1, oldestAt: expect.any(String) },
      { kind: 'invoice_periods_overdue', severity: 'failure', count: 2, oldestAt: '2026-04-01T00:00:00.000Z' },
    ]);

    await setFxRate(h.ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1', effectiveAt: '2026-01-01T00:00:00Z' }), null);
    const run = await generateInvoices(h.ctx);
    expect(run.created).toHaveLength(2);
    data = dataOf(await h.run(admin, 'reports:overview'));
    expect(data.attention[2]).toMatchObject({ kind: 'invoice_periods_overdue', count: 0, oldestAt: null });
    const march = data.series.months.indexOf('2026-03');
    const april = data.series.months.indexOf('2026-04');
    const tokens = data.series.usage.find((u: { metric: string }) => u.metric === 'tokens_input');
    expect(tokens.quantities[march]).toBe((2n ** 64n + 2n ** 53n + 1n).toString());
    expect(data.series.usage.find((u: { metric: string }) => u.metric === 'agent_run').quantities[april]).toBe('3');
    const usd = data.series.invoiced.find((i: { currency: string }) => i.currency === 'USD');
    const marchInvoice = run.created.find((c) => c.periodStart.startsWith('2026-03'))!;
    expect(usd.amountsMinor[march]).toBe(marchInvoice.subtotalMinor);
    expect(usd.amountsMinor[april]).toBe('15');
    expect(usd.invoiceCounts[april]).toBe(1);
    // sandbox is counted apart
    expect(dataOf(await h.run(admin, 'reports:overview', { environment: 'sandbox' })).series).toMatchObject({ usage: [], invoiced: [] });

    // A voided invoice's amount leaves the series; its usage stays (the period stays closed).
    await voidInvoice(h.ctx, run.created.find((c) => c.periodStart.startsWith('2026-04'))!.invoiceId, 'issued in error', null);
    data = dataOf(await h.run(admin, 'reports:overview'));
    expect(data.series.invoiced[0].amountsMinor[april]).toBe('0');
    expect(data.series.usage.find((u: { metric: string }) => u.metric === 'agent_run').quantities[april]).toBe('3');
  });

  it('gives support the attention counts but not the money series', async () => {
    await merchantWaitingForKyb(h, 3);
    const support = await h.staff('support');
    const data = dataOf(await h.run(support, 'reports:overview'));
    expect(data.attention[0]).toMatchObject({ kind: 'kyb_pending_review', count: 1 });
    expect(data.series).toBeNull();
  });
});

describe('ledger:transactions', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(async () => h.close());

  it('lists an invoice’s finalization and its reversal, newest first, with totals per currency', async () => {
    const m = await signup(h.ctx, { name: 'Ledger Co', email: 'l@merchant.test', password: 'merchant password' } as never);
    const scope = { merchantId: m.id, environment: 'live' as const };
    await setFxRate(h.ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7', effectiveAt: '2026-01-01T00:00:00Z' }), null);
    const product = await createProduct(h.ctx, scope, { key: 'chat', name: 'Chat' } as never);
    const card = await createRateCard(h.ctx, scope, product.id, { currency: 'USD', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '100' }] } as never);
    await publishRateCard(h.ctx, scope, card.id);
    const customer = await createCustomer(h.ctx, scope, { externalId: 'c1', name: 'C1' } as never);
    await createContract(h.ctx, scope, {
      customerExternalId: 'c1',
      rateCardId: card.id,
      billingCycle: 'monthly_calendar',
      startsAt: '2026-04-01T00:00:00Z',
      settlementCurrency: 'USD',
    } as never);
    await insertUsageRowForTest(h.db, { ...scope, customerId: customer.id, idempotencyKey: 'e1', metric: 'agent_run', quantity: '2', occurredAt: '2026-04-02T00:00:00Z' });
    const invoiceId = (await generateInvoices(h.ctx)).created[0].invoiceId;
    h.clock.advance(60_000);
    await voidInvoice(h.ctx, invoiceId, 'issued in error', null);

    const finance = await h.staff('finance');
    const listed = dataOf(await h.run(finance, 'ledger:transactions', { cause: invoiceId }));
    expect(listed.items.map((t: { kind: string }) => t.kind)).toEqual(['invoice.voided', 'invoice.finalized']);
    const [reversal, finalization] = listed.items;
    expect(reversal.reversesTxId).toBe(finalization.id);
    expect(finalization).toMatchObject({ cause: { type: 'invoice', id: invoiceId }, merchantId: m.id, environment: 'live' });
    expect(finalization.totals).toEqual(reversal.totals);
    expect(finalization.totals.find((t: { currency: string }) => t.currency === 'USD')).toMatchObject({ debitsMinor: '200' });
    expect(dataOf(await h.run(finance, 'ledger:transactions', { before: reversal.id })).items.map((t: { id: string }) => t.id)).toEqual([finalization.id]);
    expect(dataOf(await h.run(finance, 'ledger:transactions', { kind: 'invoice.voided', limit: 5 })).items).toHaveLength(1);
    const byAccount = dataOf(await h.run(finance, 'ledger:transactions', { account: `merchant_payable:${m.id}:live:USD` }));
    expect(byAccount.items.map((t: { id: string }) => t.id)).toEqual([reversal.id, finalization.id]);
    expect(await h.run(finance, 'ledger:transactions', { account: 'bank:platform:live:USD' })).toMatchObject({ ok: false, error: { code: 'ledger_account_not_found' } });
    const support = await h.staff('support');
    expect(await h.run(support, 'ledger:transactions')).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
  });
});
