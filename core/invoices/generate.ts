import { rateCardPrices } from '../catalog/rate-cards.js';
import type { CoreContext, Environment } from '../context/index.js';
import { contractSchedule } from '../contracts/contracts.js';
import { type BillingCycle, type BillingPeriod, periodsBetween } from '../contracts/periods.js';
import { lockCustomerUsageUntil } from '../customers/lookup.js';
import { compiledInsert, compiledQuery } from '../db/compiled.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { invalidInput, isDomainError } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { type FxRateView, fxRateAt } from '../fx/index.js';
import { type PostingEntry, postLedgerTransaction } from '../ledger/index.js';
import type { Price } from '../pricing/schemas.js';
import { rateUsage } from '../pricing/rate.js';
import { aggregateUsage } from '../usage/aggregate.js';
import { usageIngestFor } from '../usage/ingest.js';
import { COLLECTION_CURRENCY, invoiceAmounts, ratesNeeded } from './amounts.js';
import type { InvoiceLinesTable, InvoicesTable } from './tables.js';
import { type InvoiceView, invoiceView } from './view.js';

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
  customer_external_id: string;
  rate_card_id: string;
  billing_cycle: BillingCycle;
  starts_at: string;
  ends_at: string | null;
  settlement_currency: string;
  invoiced_until: string | null;
}

type FxSnapshot = Array<{ use: 'collection' | 'settlement'; id: string; pair: string; rate: string; effectiveAt: string; source: string }>;

/** What one run reads once instead of once per invoice. */
interface RunCache {
  cards: Map<string, { id: string; version: number; currency: string; prices: Price[] }>;
  fees: Map<string, number>;
  fx: Map<string, Promise<FxRateView>>;
  /** Every candidate contract of a customer, with `invoiced_until` kept current as the run goes. */
  byCustomer: Map<string, CandidateContract[]>;
}

// Run once per invoice: compiled once per connection (core/db/compiled.ts).
const invoiceFor = compiledQuery(
  (k, contractId: string, periodStart: string) => k.selectFrom('invoices').select('id').where('contract_id', '=', contractId).where('period_start', '=', periodStart),
  ['$contract', '$start'] as [string, string],
);
const insertInvoice = compiledInsert('invoices', [
  'id',
  'merchant_id',
  'environment',
  'invoice_number',
  'contract_id',
  'customer_id',
  'period_start',
  'period_end',
  'status',
  'pricing_currency',
  'collection_currency',
  'settlement_currency',
  'subtotal_minor',
  'collection_amount_minor',
  'gross_settlement_minor',
  'platform_fee_minor',
  'net_settlement_minor',
  'service_fee_bps',
  'rate_card_id',
  'rate_card_version',
  'fx_snapshot',
  'ledger_tx_id',
  'finalized_at',
  'voided_at',
  'void_reason',
  'created_at',
  'updated_at',
]);
const counterOf = compiledQuery(
  (k, merchantId: string, environment: string) =>
    k
      .selectFrom('invoice_counters')
      .select('last_number')
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', environment as Environment),
  ['$merchant', '$environment'] as [string, string],
);
const bumpCounter = compiledQuery(
  (k, next: number, merchantId: string, environment: string) =>
    k
      .updateTable('invoice_counters')
      .set({ last_number: next })
      .where('merchant_id', '=', merchantId)
      .where('environment', '=', environment as Environment),
  [-1, '$merchant', '$environment'] as [number, string, string],
);

/** Invoices committed together: one commit (one fsync) per group instead of per invoice. */
const GROUP_SIZE = 50;

/**
 * The invoice run: for every contract (not archived) of the scope, every billing period that
 * ended at or before the cutoff and has no invoice yet gets one. A period that fails (e.g. a
 * missing FX rate) is reported with its reason and the run goes on; the next run retries it.
 * Re-runs and concurrent runs create nothing twice: the unique index on (contract, period
 * start) decides, and a run that loses the race reports the period as already invoiced.
 *
 * Invoices are committed in groups of GROUP_SIZE (each invoice with its lines, posting, lock
 * and outbox event); a group that fails as a whole is redone one invoice per transaction, so
 * one bad invoice never takes others with it and none is ever half written.
 */
export async function generateInvoices(ctx: CoreContext, options: InvoiceRunOptions = {}): Promise<InvoiceRunReport> {
  // Each group commits on its own: inside a caller's transaction a failed invoice could not
  // roll back alone, and one long transaction would hold the single SQLite writer for the run.
  if (ctx.db.kysely.isTransaction) throw new Error('generateInvoices commits invoices itself; call it outside a transaction');
  const now = ctx.clock.now();
  const asOf = options.asOf ?? now;
  // A period is invoiced once it is over: an instant still to come cannot close one.
  if (asOf.getTime() > now.getTime()) {
    throw invalidInput('invoice_as_of_future', `asOf ${asOf.toISOString()} lies in the future; periods are invoiced after they end (now ${now.toISOString()})`);
  }
  const cutoff = new Date(asOf.getTime() - (options.graceMs ?? DEFAULT_INVOICE_GRACE_MS));
  const report: InvoiceRunReport = { asOf: asOf.toISOString(), cutoff: cutoff.toISOString(), created: [], skipped: [], failed: [] };

  // Per-customer reads then use the customer index instead of scanning the unindexed tail.
  await drainUsageIndex(ctx);

  let q = ctx.db.kysely
    .selectFrom('contracts as c')
    .innerJoin('customers as cu', 'cu.id', 'c.customer_id')
    .select([
      'c.id',
      'c.merchant_id',
      'c.environment',
      'c.customer_id',
      'cu.external_id as customer_external_id',
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

  const cache: RunCache = { cards: new Map(), fees: new Map(), fx: new Map(), byCustomer: new Map() };
  for (const c of contracts) cache.byCustomer.set(c.customer_id, [...(cache.byCustomer.get(c.customer_id) ?? []), c]);

  const work: Array<{ contract: CandidateContract; period: BillingPeriod }> = [];
  for (const contract of contracts) {
    const from = new Date(contract.invoiced_until ?? contract.starts_at);
    try {
      for (const period of periodsBetween(contractSchedule(contract), from, cutoff)) {
        if (period.end.getTime() <= cutoff.getTime() && period.start.getTime() >= from.getTime()) work.push({ contract, period });
      }
    } catch (e) {
      // One contract that cannot be cut into periods (e.g. more than periodsBetween's bound since
      // its start) is reported; it never stops the run for the others.
      report.failed.push({
        contractId: contract.id,
        periodStart: from.toISOString(),
        periodEnd: cutoff.toISOString(),
        error: 'invoice_periods_invalid',
        message: e instanceof Error ? e.message : String(e),
      });
    }
  }

  let done = 0;
  const refOf = (w: { contract: CandidateContract; period: BillingPeriod }) => ({
    contractId: w.contract.id,
    periodStart: w.period.start.toISOString(),
    periodEnd: w.period.end.toISOString(),
  });
  const fail = (w: { contract: CandidateContract; period: BillingPeriod }, e: unknown) => {
    if (isUniqueViolation(e)) report.skipped.push({ ...refOf(w), reason: 'already_invoiced' });
    else if (isDomainError(e)) report.failed.push({ ...refOf(w), error: e.code, message: e.message });
    else report.failed.push({ ...refOf(w), error: 'internal_error', message: e instanceof Error ? e.message : String(e) });
  };
  for (let i = 0; i < work.length; i += GROUP_SIZE) {
    // What can be known before writing is checked first (rates, the card): a period that cannot
    // be invoiced never enters a group.
    const ready: Array<{ contract: CandidateContract; period: BillingPeriod; fx: FxSnapshot }> = [];
    for (const w of work.slice(i, i + GROUP_SIZE)) {
      try {
        ready.push({ ...w, fx: await fxSnapshotFor(ctx, cache, w.contract, w.period) });
      } catch (e) {
        fail(w, e);
        options.onProgress?.(++done, work.length);
      }
    }
    const saved = [...cache.byCustomer.values()].flat().map((c) => [c, c.invoiced_until] as const);
    let results: Array<InvoiceView | null> | null = null;
    try {
      results = await inTransaction(ctx, async (tx) => {
        const out: Array<InvoiceView | null> = [];
        for (const w of ready) out.push(await invoicePeriod(tx, cache, w.contract, w.period, w.fx));
        return out;
      });
    } catch {
      // The group rolled back: forget what it advanced and redo its invoices one by one.
      for (const [c, until] of saved) c.invoiced_until = until;
    }
    for (const [j, w] of ready.entries()) {
      let invoice: InvoiceView | null;
      if (results) invoice = results[j];
      else {
        const before = w.contract.invoiced_until;
        try {
          invoice = await inTransaction(ctx, (tx) => invoicePeriod(tx, cache, w.contract, w.period, w.fx));
        } catch (e) {
          w.contract.invoiced_until = before;
          fail(w, e);
          options.onProgress?.(++done, work.length);
          continue;
        }
      }
      if (invoice === null) report.skipped.push({ ...refOf(w), reason: 'already_invoiced' });
      else {
        report.created.push({
          invoiceId: invoice._id,
          invoiceNumber: invoice.invoiceNumber,
          ...refOf(w),
          subtotalMinor: invoice.subtotalMinor,
          pricingCurrency: invoice.pricingCurrency,
        });
      }
      options.onProgress?.(++done, work.length);
    }
  }
  return report;
}

/** Moves every event ingested so far into the per-customer index (bounded: new events may keep arriving). */
async function drainUsageIndex(ctx: CoreContext): Promise<void> {
  const ingest = usageIngestFor(ctx);
  for (let slices = 0; slices < 1_000; slices++) {
    if ((await ingest.indexCustomerUsage(50_000)) < 50_000) return;
  }
}

/** The instant an invoice's rates are taken at: the last moment of its period. */
export function fxInstantFor(period: { end: Date }): Date {
  return new Date(period.end.getTime() - 1);
}

async function cardFor(ctx: CoreContext, cache: RunCache, rateCardId: string) {
  let card = cache.cards.get(rateCardId);
  if (!card) {
    const row = await ctx.db.kysely.selectFrom('rate_cards').select(['id', 'version', 'currency', 'prices']).where('id', '=', rateCardId).executeTakeFirstOrThrow();
    card = { id: row.id, version: Number(row.version), currency: row.currency, prices: rateCardPrices(row) };
    cache.cards.set(rateCardId, card);
  }
  return card;
}

/** The rates the invoice needs, in force at the end of its period; `fx_rate_missing` if one is not. */
async function fxSnapshotFor(ctx: CoreContext, cache: RunCache, contract: CandidateContract, period: BillingPeriod): Promise<FxSnapshot> {
  const card = await cardFor(ctx, cache, contract.rate_card_id);
  const at = fxInstantFor(period);
  const snapshot: FxSnapshot = [];
  for (const need of ratesNeeded(card.currency, contract.settlement_currency)) {
    const key = `${need.base}/${need.quote}@${at.toISOString()}`;
    let rate = cache.fx.get(key);
    if (!rate) {
      rate = fxRateAt(ctx, need.base, need.quote, at);
      rate.catch(() => {}); // a missing rate is reported per invoice, where it is awaited
      cache.fx.set(key, rate);
    }
    const r = await rate;
    snapshot.push({ use: need.use, id: r.id, pair: r.pair, rate: r.rate, effectiveAt: r.effectiveAt, source: r.source });
  }
  return snapshot;
}

/** One invoice for one contract and period, inside the caller's transaction; null when it exists already. */
async function invoicePeriod(ctx: CoreContext, cache: RunCache, contract: CandidateContract, period: BillingPeriod, snapshot: FxSnapshot): Promise<InvoiceView | null> {
  const k = ctx.db.kysely;
  const periodStart = period.start.toISOString();
  const periodEnd = period.end.toISOString();
  const [existing] = await invoiceFor(k, contract.id, periodStart);
  if (existing) return null;

  const card = await cardFor(ctx, cache, contract.rate_card_id);
  let fee = cache.fees.get(contract.merchant_id);
  if (fee === undefined) {
    const merchant = await k.selectFrom('merchants').select(['service_fee_bps']).where('id', '=', contract.merchant_id).executeTakeFirstOrThrow();
    fee = Number(merchant.service_fee_bps);
    cache.fees.set(contract.merchant_id, fee);
  }
  const pricingCurrency = card.currency;
  const settlementCurrency = contract.settlement_currency;

  // Events name no product: this contract bills the usage of the metrics its card prices
  // (contracts of one customer never price the same metric at the same time).
  const usage = await aggregateUsage(ctx, { merchantId: contract.merchant_id, environment: contract.environment }, contract.customer_id, period.start, period.end);
  const rated = rateUsage(card.prices, usage);
  const amounts = invoiceAmounts({
    subtotalMinor: rated.totalMinor,
    pricingCurrency,
    settlementCurrency,
    serviceFeeBps: fee,
    collectionRate: snapshot.find((s) => s.use === 'collection')?.rate,
    settlementRate: snapshot.find((s) => s.use === 'settlement')?.rate,
  });

  const now = ctx.clock.now().toISOString();
  const id = ctx.ids.next('inv');
  const invoiceNumber = await nextInvoiceNumber(ctx, contract.merchant_id, contract.environment, period.start);
  const ledgerTxId = await postFinalization(ctx, {
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
    service_fee_bps: fee,
    rate_card_id: card.id,
    rate_card_version: card.version,
    fx_snapshot: JSON.stringify(snapshot),
    ledger_tx_id: ledgerTxId,
    finalized_at: now,
    voided_at: null,
    void_reason: null,
    paid_at: null,
    refunded_at: null,
    created_at: now,
    updated_at: now,
  };
  await insertInvoice(k, row);
  const lines: InvoiceLinesTable[] = rated.lines.map((l, i) => ({
    invoice_id: id,
    line_no: i + 1,
    metric: l.metric,
    dimensions: JSON.stringify(l.dimensions),
    quantity: l.quantity,
    pricing_model: l.model,
    price: JSON.stringify(card.prices[l.priceIndex]),
    amount_exact: l.amountExact,
    amount_minor: l.amountMinor,
    usage: JSON.stringify(l.usage),
  }));
  if (lines.length > 0) await k.insertInto('invoice_lines').values(lines).execute();
  contract.invoiced_until = periodEnd;
  await closeCustomerPeriod(ctx, cache, contract, period);
  // The view of what was just written (loadInvoiceView reads the same back).
  const view: InvoiceView = {
    ...invoiceView({ ...row, customer_external_id: contract.customer_external_id, fx_snapshot: '[]' }, [], '0'),
    fxSnapshot: snapshot,
    lines: rated.lines.map((l, i) => ({
      lineNo: i + 1,
      metric: l.metric,
      dimensions: l.dimensions,
      quantity: l.quantity,
      pricingModel: l.model,
      price: card.prices[l.priceIndex] as unknown as Record<string, unknown>,
      amountExact: l.amountExact,
      amountMinor: l.amountMinor,
      usage: l.usage,
    })),
  };
  await recordEvent(ctx, { type: 'invoice.finalized', merchantId: contract.merchant_id, environment: contract.environment, data: view });
  return view;
}

/** BM-<year of the period start>-<6 digits>, counted per merchant and environment. */
async function nextInvoiceNumber(ctx: CoreContext, merchantId: string, environment: Environment, periodStart: Date): Promise<string> {
  const k = ctx.db.kysely;
  const [current] = await counterOf(k, merchantId, environment);
  const next = Number(current?.last_number ?? 0) + 1;
  if (current) {
    await bumpCounter(k, next, merchantId, environment);
  } else {
    await k.insertInto('invoice_counters').values({ merchant_id: merchantId, environment, last_number: next }).execute();
  }
  return `BM-${periodStart.getUTCFullYear()}-${String(next).padStart(6, '0')}`;
}

/**
 * Closes the period for the customer: later events that fall before the lock are refused
 * (`period_closed`). The lock is per customer, so it never moves past a period of another of
 * the customer's contracts that is not invoiced yet (that usage would be refused, never billed).
 */
async function closeCustomerPeriod(ctx: CoreContext, cache: RunCache, contract: CandidateContract, period: BillingPeriod): Promise<void> {
  let until = period.end;
  for (const o of cache.byCustomer.get(contract.customer_id) ?? []) {
    if (o.id === contract.id || new Date(o.starts_at) >= period.end) continue;
    const invoicedUntil = new Date(o.invoiced_until ?? o.starts_at);
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
