import { z } from 'zod';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { notFound } from '../errors/index.js';
import { type Page, type PageRequest, PageQuery, decodeCursor, pageOf, toPage } from '../pagination/index.js';
import type { InvoiceLinesTable, InvoicesTable } from './tables.js';

/**
 * The Invoice object of the API reference: its field names (`_id`, with an `id` alias), money
 * as decimal strings of minor units, the lines and the FX snapshot the invoice locked.
 */

const Minor = (description: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/)
    .meta({ description });

export const InvoiceLine = z
  .object({
    lineNo: z.number().int(),
    metric: z.string(),
    dimensions: z.record(z.string(), z.string()).meta({ description: "The matched price's dimensions ({} = the metric's fallback price)." }),
    quantity: z.string().meta({ description: 'Integer decimal string.' }),
    pricingModel: z.enum(['per_unit', 'package', 'graduated', 'volume']),
    price: z.record(z.string(), z.unknown()).meta({ description: 'The rate card price applied, as published.' }),
    amountExact: z.string().meta({ description: 'Unrounded amount in minor units of the pricing currency, e.g. "1.875".' }),
    amountMinor: Minor('The line amount, rounded once, half-up, to whole minor units of the pricing currency.'),
    usage: z.array(z.object({ dimensions: z.record(z.string(), z.string()), quantity: z.string() })),
  })
  .meta({ id: 'InvoiceLine' });

export const FxSnapshotEntry = z
  .object({
    use: z.enum(['collection', 'settlement']).meta({ description: 'collection: pricing → CNY; settlement: pricing → settlement currency.' }),
    id: z.string().meta({ description: 'The FX rate record used (fxr_…).' }),
    pair: z.string(),
    rate: z.string().meta({ description: 'Units of the quote currency per unit of the base, a decimal string.' }),
    effectiveAt: z.string(),
    source: z.string(),
  })
  .meta({ id: 'FxSnapshotEntry' });

export const InvoiceSchema = z
  .object({
    _id: z.string(),
    id: z.string().meta({ description: 'Alias of `_id`.' }),
    object: z.literal('invoice'),
    invoiceNumber: z.string().meta({ description: 'Unique per merchant and environment, e.g. BM-2026-000042.' }),
    status: z.enum(['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded']),
    environment: z.enum(['sandbox', 'live']),
    customerId: z.string(),
    customerExternalId: z.string(),
    contractId: z.string(),
    rateCardId: z.string(),
    rateCardVersion: z.number().int(),
    pricingCurrency: z.string(),
    collectionCurrency: z.string(),
    settlementCurrency: z.string(),
    subtotalMinor: Minor('Sum of the lines, in the pricing currency.'),
    collectionAmountMinor: Minor('What the end customer pays, in CNY (fen).'),
    platformFeeMinor: Minor('The service fee, in the settlement currency.'),
    netSettlementMinor: Minor('What the merchant receives, in the settlement currency.'),
    serviceFeeBps: z.number().int(),
    periodStart: z.string(),
    periodEnd: z.string(),
    finalizedAt: z.string(),
    voidedAt: z.string().nullable(),
    voidReason: z.string().nullable(),
    paidAt: z.string().nullable().meta({ description: "When the end customer paid (the channel's time when it gives one), ISO 8601 UTC; null until paid." }),
    refundedAt: z.string().nullable().meta({ description: 'When refunds reached the amount paid (status `refunded`), ISO 8601 UTC; null otherwise.' }),
    refundedMinor: Minor('CNY (fen) refunded so far: the refunds that succeeded. A partial refund leaves the invoice `paid` with this above "0".'),
    fxSnapshot: z.array(FxSnapshotEntry),
    lines: z.array(InvoiceLine),
    createdAt: z.string(),
  })
  .meta({ id: 'Invoice' });
export type InvoiceView = z.infer<typeof InvoiceSchema>;

export const InvoiceList = pageOf(InvoiceSchema, 'InvoiceList');

export const InvoiceParams = z.object({ invoiceId: z.string().min(1).max(64) });

export const InvoiceListQuery = PageQuery.extend({
  status: z.enum(['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded']).optional(),
  customerExternalId: z.string().min(1).max(255).optional(),
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM')
    .optional()
    .meta({ description: 'Invoices whose period starts in this calendar month (UTC), YYYY-MM.' }),
});

type InvoiceRow = InvoicesTable & { customer_external_id: string };

function selectInvoices(ctx: CoreContext, scope: MerchantScope) {
  return ctx.db.kysely
    .selectFrom('invoices')
    .innerJoin('customers', 'customers.id', 'invoices.customer_id')
    .selectAll('invoices')
    .select('customers.external_id as customer_external_id')
    .where('invoices.merchant_id', '=', scope.merchantId)
    .where('invoices.environment', '=', scope.environment);
}

async function toView(ctx: CoreContext, r: InvoiceRow): Promise<InvoiceView> {
  const k = ctx.db.kysely;
  const lines = await k.selectFrom('invoice_lines').selectAll().where('invoice_id', '=', r.id).orderBy('line_no').execute();
  // Summed here with BigInt: SUM over text amounts would come back as a lossy number on SQLite.
  const refunds = await k.selectFrom('refunds').select('amount_minor').where('invoice_id', '=', r.id).where('status', '=', 'succeeded').execute();
  const refundedMinor = refunds.reduce((s, x) => s + BigInt(x.amount_minor), 0n).toString();
  return invoiceView(r, lines, refundedMinor);
}

/** The API view of an invoice row, its lines (ordered by line number) and its succeeded refunds' total. */
export function invoiceView(r: InvoiceRow, lines: readonly InvoiceLinesTable[], refundedMinor: string): InvoiceView {
  return {
    _id: r.id,
    id: r.id,
    object: 'invoice',
    invoiceNumber: r.invoice_number,
    status: r.status,
    environment: r.environment,
    customerId: r.customer_id,
    customerExternalId: r.customer_external_id,
    contractId: r.contract_id,
    rateCardId: r.rate_card_id,
    rateCardVersion: Number(r.rate_card_version),
    pricingCurrency: r.pricing_currency,
    collectionCurrency: r.collection_currency,
    settlementCurrency: r.settlement_currency,
    subtotalMinor: r.subtotal_minor,
    collectionAmountMinor: r.collection_amount_minor,
    platformFeeMinor: r.platform_fee_minor,
    netSettlementMinor: r.net_settlement_minor,
    serviceFeeBps: Number(r.service_fee_bps),
    periodStart: r.period_start,
    periodEnd: r.period_end,
    finalizedAt: r.finalized_at,
    voidedAt: r.voided_at,
    voidReason: r.void_reason,
    paidAt: r.paid_at,
    refundedAt: r.refunded_at,
    refundedMinor,
    fxSnapshot: JSON.parse(r.fx_snapshot),
    lines: lines.map((l) => ({
      lineNo: Number(l.line_no),
      metric: l.metric,
      dimensions: JSON.parse(l.dimensions),
      quantity: l.quantity,
      pricingModel: l.pricing_model as InvoiceView['lines'][number]['pricingModel'],
      price: JSON.parse(l.price),
      amountExact: l.amount_exact,
      amountMinor: l.amount_minor,
      usage: JSON.parse(l.usage),
    })),
    createdAt: r.created_at,
  };
}

export async function loadInvoiceView(ctx: CoreContext, scope: MerchantScope, invoiceId: string): Promise<InvoiceView> {
  const row = await selectInvoices(ctx, scope).where('invoices.id', '=', invoiceId).executeTakeFirst();
  if (!row) throw notFound('invoice_not_found', `No invoice ${invoiceId}`);
  return toView(ctx, row);
}

/** Newest first (ids are time-ordered), cursor-paginated. */
export async function listInvoices(ctx: CoreContext, scope: MerchantScope, query: z.infer<typeof InvoiceListQuery> & PageRequest): Promise<Page<InvoiceView>> {
  let q = selectInvoices(ctx, scope)
    .orderBy('invoices.id', 'desc')
    .limit(query.limit + 1);
  const after = decodeCursor(query.cursor, 'inv');
  if (after) q = q.where('invoices.id', '<', after);
  if (query.status) q = q.where('invoices.status', '=', query.status);
  if (query.customerExternalId) q = q.where('customers.external_id', '=', query.customerExternalId);
  if (query.period) {
    const [y, m] = query.period.split('-').map(Number);
    q = q.where('invoices.period_start', '>=', new Date(Date.UTC(y, m - 1, 1)).toISOString()).where('invoices.period_start', '<', new Date(Date.UTC(y, m, 1)).toISOString());
  }
  const rows = await q.execute();
  const page = toPage(rows, query.limit, (r) => r);
  return { data: await Promise.all(page.data.map((r) => toView(ctx, r))), nextCursor: page.nextCursor };
}
