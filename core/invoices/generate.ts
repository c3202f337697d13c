import { rateCardPrices } from '../catalog/rate-cards.js';
import type { CoreContext, Environment } from '../context/index.js';
import { contractSchedule } from '../contracts/contracts.js';
import { type BillingCycle, type BillingPeriod, periodsBetween } from '../contracts/periods.js';
import { lockCustomerUsageUntil } from '../customers/lookup.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { isDomainError } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { fxRateAt } from '../fx/index.js';
import { type PostingEntry, postLedgerTransaction } from '../ledger/index.js';
import type { Price } from '../pricing/schemas.js';
import { rateUsage } from '../pricing/rate.js';
import { aggregateUsage } from '../usage/aggregate.js';
import { COLLECTION_CURRENCY, invoiceAmounts, ratesNeeded } from './amounts.js';
import type { InvoicesTable } from './tables.js';
import { type InvoiceView, loadInvoiceView } from './view.js';

/** Late events may still arrive for this long after a period ends before it is invoiced. */
export const DEFAULT_INVOICE_GRACE_MS = 60 * 60 * 1000;

export interface InvoiceRunOptions {
  /** Invoice every period that ended at or before asOf − grace (default: now). */
  asOf?: Date;
  graceMs?: number;
  merchantId?: string;
  environment?: Environment;
  /** Called after each period is handled (the CLI shows progress with it). */
  onProgress?: (done: number, total: number) => void;
}

export interface InvoiceRunReport {
  asOf: string;
  cutoff: string;
  created: Array<{ invoiceId: string; invoiceNumber: string; contractId: string; periodStart: string; periodEnd: string; subtotalMinor: string; pricingCurrency: string }>;
  skipped: Array<{ contractId: string; periodStart: string; periodEnd: string; reason: 'already_invoiced' }>;
  failed: Array<{ contractId: string; periodStart: string; periodEnd: string; error: string; message: string }>;
}

interface CandidateContract {
  id: string;
  merchant_id: string;
  environment: Environment;
  customer_id: string;
  rate_card_id: string;
  billing_cycle: BillingCycle;
  starts_at: string;
  ends_at: string | null;
  settlement_currency: string;
  invoiced_until: string | null;
}

/**
 * The invoice run: for every contract (not archived) of the scope, every billing period that
 * ended at or before the cutoff and has no invoice yet gets one, each in its own transaction.
 * A period that fails (e.g. a missing FX rate) is reported with its reason and the run goes on;
 * it is retried by the next run. Re-runs and concurrent runs create nothing twice: the unique
 * index on (contract, period start) decides, and a run that loses the race reports the period
 * as already invoiced.
 */
export async function generateInvoices(ctx: CoreContext, options: InvoiceRunOptions = {}): Promise<InvoiceRunReport> {
  // Each invoice commits on its own: inside a caller's transaction a failed period could not
  // roll back alone, and one long transaction would hold the single SQLite writer for the run.
  if (ctx.db.kysely.isTransaction) throw new Error('generateInvoices commits each invoice itself; call it outside a transaction');
  const asOf = options.asOf ?? ctx.clock.now();
  const cutoff = new Date(asOf.getTime() - (options.graceMs ?? DEFAULT_INVOICE_GRACE_MS));
  const report: InvoiceRunReport = { asOf: asOf.toISOString(), cutoff: cutoff.toISOString(), created: [], skipped: [], failed: [] };

  let q = ctx.db.kysely
    .selectFrom('contracts as c')
    .select([
      'c.id',
      'c.merchant_id',
      'c.environment',
      'c.customer_id',
      'c.rate_card_id',
      'c.billing_cycle',
      'c.starts_at',
      'c.ends_at',
      'c.settlement_currency',
      (eb) =>
        eb
          .selectFrom('invoices as i')
          .select((e) => e.fn.max('i.period_end').as('m'))
          .whereRef('i.contract_id', '=', 'c.id')
          .as('invoiced_until'),
    ])
    .where('c.status', '!=', 'archived')
    .where('c.starts_at', '<', cutoff.toISOString())
    .orderBy('c.id');
  if (options.merchantId) q = q.where('c.merchant_id', '=', options.merchantId);
  if (options.environment) q = q.where('c.environment', '=', options.environment);
  const contracts = (await q.execute()) as unknown as CandidateContract[];

  const work: Array<{ contract: CandidateContract; period: BillingPeriod }> = [];
  for (const contract of contracts) {
    const from = new Date(contract.invoiced_until ?? contract.starts_at);
    for (const period of periodsBetween(contractSchedule(contract), from, cutoff)) {
      if (period.end.getTime() <= cutoff.getTime() && period.start.getTime() >= from.getTime()) work.push({ contract, period });
    }
  }

  let done = 0;
  for (const { contract, period } of work) {
    const ref = { contractId: contract.id, periodStart: period.start.toISOString(), periodEnd: period.end.toISOString() };
    try {
      const invoice = await invoicePeriod(ctx, contract, period);
      if (invoice === null) report.skipped.push({ ...ref, reason: 'already_invoiced' });
      else {
        report.created.push({
          invoiceId: invoice._id,
          invoiceNumber: invoice.invoiceNumber,
          ...ref,
          subtotalMinor: invoice.subtotalMinor,
          pricingCurrency: invoice.pricingCurrency,
        });
      }
    } catch (e) {
      if (isUniqueViolation(e)) report.skipped.push({ ...ref, reason: 'already_invoiced' });
      else if (isDomainError(e)) report.failed.push({ ...ref, error: e.code, message: e.message });
      else report.failed.push({ ...ref, error: 'internal_error', message: e instanceof Error ? e.message : String(e) });
    }
    options.onProgress?.(++done, work.length);
  }
  return report;
}

/** The instant an invoice's rates are taken at: the last moment of its period. */
export function fxInstantFor(period: { end: Date }): Date {
  return new Date(period.end.getTime() - 1);
}

/** One invoice for one contract and period, or null when it exists already. One transaction. */
async function invoicePeriod(ctx: CoreContext, contract: CandidateContract, period: BillingPeriod): Promise<InvoiceView | null> {
  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const periodStart = period.start.toISOString();
    const periodEnd = period.end.toISOString();
    const existing = await k.selectFrom('invoices').select('id').where('contract_id', '=', contract.id).where('period_start', '=', periodStart).executeTakeFirst();
    if (existing) return null;

    const card = await k.selectFrom('rate_cards').select(['id', 'version', 'currency', 'prices']).where('id', '=', contract.rate_card_id).executeTakeFirstOrThrow();
    const merchant = await k.selectFrom('merchants').select(['service_fee_bps']).where('id', '=', contract.merchant_id).executeTakeFirstOrThrow();
    const prices: Price[] = rateCardPrices(card);
    const pricingCurrency = card.currency;
    const settlementCurrency = contract.settlement_currency;

    // Rates first: a missing rate fails this invoice before anything is written.
    const at = fxInstantFor(period);
    const snapshot: Array<{ use: 'collection' | 'settlement'; id: string; pair: string; rate: string; effectiveAt: string; source: string }> = [];
    for (const need of ratesNeeded(pricingCurrency, settlementCurrency)) {
      const r = await fxRateAt(tx, need.base, need.quote, at);
      snapshot.push({ use: need.use, id: r.id, pair: r.pair, rate: r.rate, effectiveAt: r.effectiveAt, source: r.source });
    }

    // Events name no product: this contract bills the usage of the metrics its card prices
    // (contracts of one customer never price the same metric at the same time).
    const usage = await aggregateUsage(tx, { merchantId: contract.merchant_id, environment: contract.environment }, contract.customer_id, period.start, period.end);
    const rated = rateUsage(prices, usage);
    const amounts = invoiceAmounts({
      subtotalMinor: rated.totalMinor,
      pricingCurrency,
      settlementCurrency,
      serviceFeeBps: merchant.service_fee_bps,
      collectionRate: snapshot.find((s) => s.use === 'collection')?.rate,
      settlementRate: snapshot.find((s) => s.use === 'settlement')?.rate,
    });

    const now = tx.clock.now().toISOString();
    const id = tx.ids.next('inv');
    const invoiceNumber = await nextInvoiceNumber(tx, contract.merchant_id, contract.environment, period.start);
    const ledgerTxId = await postFinalization(tx, {
      invoiceId: id,
      invoiceNumber,
      merchantId: contract.merchant_id,
      environment: contract.environment,
      settlementCurrency,
      ...amounts,
      effectiveAt: now,
    });
    const row: InvoicesTable = {
      id,
      merchant_id: contract.merchant_id,
      environment: contract.environment,
      invoice_number: invoiceNumber,
      contract_id: contract.id,
      customer_id: contract.customer_id,
      period_start: periodStart,
      period_end: periodEnd,
      status: 'finalized',
      pricing_currency: pricingCurrency,
      collection_currency: COLLECTION_CURRENCY,
      settlement_currency: settlementCurrency,
      subtotal_minor: amounts.subtotalMinor,
      collection_amount_minor: amounts.collectionAmountMinor,
      gross_settlement_minor: amounts.grossSettlementMinor,
      platform_fee_minor: amounts.platformFeeMinor,
      net_settlement_minor: amounts.netSettlementMinor,
      service_fee_bps: merchant.service_fee_bps,
      rate_card_id: card.id,
      rate_card_version: Number(card.version),
      fx_snapshot: JSON.stringify(snapshot),
      ledger_tx_id: ledgerTxId,
      finalized_at: now,
      voided_at: null,
      void_reason: null,
      created_at: now,
      updated_at: now,
    };
    await k.insertInto('invoices').values(row).execute();
    if (rated.lines.length > 0) {
      await k
        .insertInto('invoice_lines')
        .values(
          rated.lines.map((l, i) => ({
            invoice_id: id,
            line_no: i + 1,
            metric: l.metric,
            dimensions: JSON.stringify(l.dimensions),
            quantity: l.quantity,
            pricing_model: l.model,
            price: JSON.stringify(prices[l.priceIndex]),
            amount_exact: l.amountExact,
            amount_minor: l.amountMinor,
            usage: JSON.stringify(l.usage),
          })),
        )
        .execute();
    }
    await closeCustomerPeriod(tx, contract, period);
    const view = await loadInvoiceView(tx, { merchantId: contract.merchant_id, environment: contract.environment }, id);
    await recordEvent(tx, { type: 'invoice.finalized', merchantId: contract.merchant_id, environment: contract.environment, data: view });
    return view;
  });
}

/** BM-<year of the period start>-<6 digits>, counted per merchant and environment. */
async function nextInvoiceNumber(ctx: CoreContext, merchantId: string, environment: Environment, periodStart: Date): Promise<string> {
  const k = ctx.db.kysely;
  const current = await k.selectFrom('invoice_counters').select('last_number').where('merchant_id', '=', merchantId).where('environment', '=', environment).executeTakeFirst();
  const next = Number(current?.last_number ?? 0) + 1;
  if (current) {
    await k.updateTable('invoice_counters').set({ last_number: next }).where('merchant_id', '=', merchantId).where('environment', '=', environment).execute();
  } else {
    await k.insertInto('invoice_counters').values({ merchant_id: merchantId, environment, last_number: next }).execute();
  }
  return `BM-${periodStart.getUTCFullYear()}-${String(next).padStart(6, '0')}`;
}

/**
 * Closes the period for the customer: later events that fall before the lock are refused
 * (`period_closed`). The lock is per customer, so it never moves past a period of another of
 * the customer's contracts that is not invoiced yet (their usage would be refused, never billed).
 */
async function closeCustomerPeriod(ctx: CoreContext, contract: CandidateContract, period: BillingPeriod): Promise<void> {
  const k = ctx.db.kysely;
  const others = await k
    .selectFrom('contracts as c')
    .select([
      'c.id',
      'c.starts_at',
      'c.ends_at',
      (eb) =>
        eb
          .selectFrom('invoices as i')
          .select((e) => e.fn.max('i.period_end').as('m'))
          .whereRef('i.contract_id', '=', 'c.id')
          .as('invoiced_until'),
    ])
    .where('c.customer_id', '=', contract.customer_id)
    .where('c.id', '!=', contract.id)
    .where('c.status', '!=', 'archived')
    .where('c.starts_at', '<', period.end.toISOString())
    .execute();
  let until = period.end;
  for (const o of others) {
    const invoicedUntil = new Date((o.invoiced_until as string | null) ?? o.starts_at);
    const fullyInvoiced = o.ends_at !== null && invoicedUntil.getTime() >= new Date(o.ends_at).getTime();
    if (!fullyInvoiced && invoicedUntil < until) until = invoicedUntil;
  }
  await lockCustomerUsageUntil(ctx, contract.customer_id, until);
}

/**
 * The finalization posting (core/ledger/README.md): the receivable in CNY, what the merchant is
 * owed and the fee in the settlement currency, joined by the FX position where they differ.
 * A zero invoice posts nothing (the ledger holds no zero entries).
 */
async function postFinalization(
  ctx: CoreContext,
  p: {
    invoiceId: string;
    invoiceNumber: string;
    merchantId: string;
    environment: Environment;
    settlementCurrency: string;
    collectionAmountMinor: string;
    grossSettlementMinor: string;
    platformFeeMinor: string;
    netSettlementMinor: string;
    effectiveAt: string;
  },
): Promise<string | null> {
  const base = { environment: p.environment };
  const entries: PostingEntry[] = [];
  const add = (e: PostingEntry) => {
    if (BigInt(e.amountMinor) > 0n) entries.push(e);
  };
  add({ account: { ...base, type: 'receivable', merchantId: p.merchantId, currency: COLLECTION_CURRENCY }, side: 'debit', amountMinor: p.collectionAmountMinor });
  if (p.settlementCurrency !== COLLECTION_CURRENCY) {
    add({ account: { ...base, type: 'fx_position', currency: COLLECTION_CURRENCY }, side: 'credit', amountMinor: p.collectionAmountMinor });
    add({ account: { ...base, type: 'fx_position', currency: p.settlementCurrency }, side: 'debit', amountMinor: p.grossSettlementMinor });
  }
  add({ account: { ...base, type: 'merchant_payable', merchantId: p.merchantId, currency: p.settlementCurrency }, side: 'credit', amountMinor: p.netSettlementMinor });
  add({ account: { ...base, type: 'platform_fee_revenue', currency: p.settlementCurrency }, side: 'credit', amountMinor: p.platformFeeMinor });
  if (entries.length < 2) return null;
  const { transaction } = await postLedgerTransaction(ctx, {
    idempotencyKey: `invoice:${p.invoiceId}:finalized`,
    kind: 'invoice.finalized',
    cause: { type: 'invoice', id: p.invoiceId },
    environment: p.environment,
    merchantId: p.merchantId,
    description: `Invoice ${p.invoiceNumber} finalized`,
    effectiveAt: p.effectiveAt,
    entries,
  });
  return transaction.id;
}
