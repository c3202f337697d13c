import { z } from 'zod';
import { notFound } from '../../errors/index.js';
import { InvoiceSchema, generateInvoices, listUnbilledUsage, loadInvoiceView, voidInvoice } from '../../invoices/index.js';
import { defineCommand } from '../registry.js';
import { decodeCursor, toPage } from '../../pagination/index.js';
import { IsoTime, MerchantRef, ReviewerText, wholeNumber } from './shared.js';

/**
 * Invoices in the back office. Generation is the monthly job the server's scheduler also runs;
 * staff run it to catch up or to test (admin, finance). Voiding cancels money owed to a
 * merchant's customer, so it is step-up. Reads are for finance, admins and support (support
 * answers merchants' billing questions).
 */

const Environment = z.enum(['sandbox', 'live']);
const InvoiceRef = z.string().regex(/^inv_[0-9a-z]+$/, 'must be an invoice id (inv_…)');
const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM');

const RunItem = z.object({ contractId: z.string(), periodStart: z.string(), periodEnd: z.string() });

export const invoicesGenerate = defineCommand({
  name: 'invoices:generate',
  summary: 'Invoice every billing period that ended (plus the grace window) by --as-of (default now), for all merchants or --merchant',
  input: z.object({
    asOf: IsoTime.optional().meta({ description: 'Invoice periods that ended at or before this time minus the grace window (default now)' }),
    merchant: MerchantRef.optional(),
    environment: Environment.optional().meta({ description: 'Only sandbox or only live (default both)' }),
    graceMinutes: z
      .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
      .pipe(
        z
          .number()
          .int()
          .min(0)
          .max(7 * 24 * 60),
      )
      .optional()
      .meta({ description: 'Late-event grace after a period ends, in minutes (default 60)' }),
  }),
  output: z.object({
    asOf: z.string(),
    cutoff: z.string(),
    created: z.array(RunItem.extend({ invoiceId: z.string(), invoiceNumber: z.string(), subtotalMinor: z.string(), pricingCurrency: z.string() })),
    skipped: z.array(RunItem.extend({ reason: z.literal('already_invoiced') })),
    failed: z.array(RunItem.extend({ error: z.string(), message: z.string() })),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  ownTransactions: true,
  async handler(ctx, input) {
    const report = await generateInvoices(ctx, {
      asOf: input.asOf ? new Date(input.asOf) : undefined,
      merchantId: input.merchant,
      environment: input.environment,
      graceMs: input.graceMinutes === undefined ? undefined : input.graceMinutes * 60_000,
      onProgress: (done, total) => ctx.progress(done, total),
    });
    ctx.touch(...report.created.map((c) => c.invoiceId));
    return report;
  },
});

const InvoiceSummary = z.object({
  id: z.string(),
  invoiceNumber: z.string(),
  merchantId: z.string(),
  environment: Environment,
  status: z.string(),
  customerExternalId: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  pricingCurrency: z.string(),
  subtotalMinor: z.string(),
  collectionAmountMinor: z.string(),
  settlementCurrency: z.string(),
  netSettlementMinor: z.string(),
});

export const invoicesList = defineCommand({
  name: 'invoices:list',
  summary: 'Invoices, newest first, a page at a time (filters: --merchant, --environment, --status, --period YYYY-MM; --cursor for the next page)',
  input: z.object({
    merchant: MerchantRef.optional(),
    environment: Environment.optional(),
    status: z.enum(['draft', 'finalized', 'payment_pending', 'paid', 'void', 'refunded']).optional(),
    period: Month.optional().meta({ description: 'Periods starting in this month (UTC)' }),
    // Pages of up to 5,000: the back office loads a whole list (100,000 rows) in the background,
    // and per-call overhead (session check, schema validation, HTTP/IPC hop) dominates small pages.
    // Still index-backed: ordered by the primary key, resumed with id < cursor.
    limit: wholeNumber(1, 5000).default(100).meta({ description: 'At most this many rows (1–5000)' }),
    cursor: z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' }),
  }),
  output: z.object({ items: z.array(InvoiceSummary), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('invoices')
      .innerJoin('customers', 'customers.id', 'invoices.customer_id')
      // Only what the summary shows: a page of 5,000 full rows (fx_snapshot JSON and all) costs
      // twice as long to read and decode.
      .select([
        'invoices.id',
        'invoices.invoice_number',
        'invoices.merchant_id',
        'invoices.environment',
        'invoices.status',
        'invoices.period_start',
        'invoices.period_end',
        'invoices.pricing_currency',
        'invoices.subtotal_minor',
        'invoices.collection_amount_minor',
        'invoices.settlement_currency',
        'invoices.net_settlement_minor',
        'customers.external_id as customer_external_id',
      ])
      .orderBy('invoices.id', 'desc')
      .limit(input.limit + 1);
    const after = decodeCursor(input.cursor, 'inv');
    if (after) q = q.where('invoices.id', '<', after);
    if (input.merchant) q = q.where('invoices.merchant_id', '=', input.merchant);
    if (input.environment) q = q.where('invoices.environment', '=', input.environment);
    if (input.status) q = q.where('invoices.status', '=', input.status);
    if (input.period) {
      const [y, m] = input.period.split('-').map(Number);
      q = q.where('invoices.period_start', '>=', new Date(Date.UTC(y, m - 1, 1)).toISOString()).where('invoices.period_start', '<', new Date(Date.UTC(y, m, 1)).toISOString());
    }
    const page = toPage(await q.execute(), input.limit, (r) => ({
      id: r.id,
      invoiceNumber: r.invoice_number,
      merchantId: r.merchant_id,
      environment: r.environment,
      status: r.status,
      customerExternalId: r.customer_external_id,
      periodStart: r.period_start,
      periodEnd: r.period_end,
      pricingCurrency: r.pricing_currency,
      subtotalMinor: r.subtotal_minor,
      collectionAmountMinor: r.collection_amount_minor,
      settlementCurrency: r.settlement_currency,
      netSettlementMinor: r.net_settlement_minor,
    }));
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

async function scopeOf(ctx: Parameters<typeof loadInvoiceView>[0], invoiceId: string) {
  const row = await ctx.db.kysely.selectFrom('invoices').select(['merchant_id', 'environment']).where('id', '=', invoiceId).executeTakeFirst();
  if (!row) throw notFound('invoice_not_found', `No invoice ${invoiceId}`);
  return { merchantId: row.merchant_id, environment: row.environment };
}

export const invoicesShow = defineCommand({
  name: 'invoices:show',
  summary: 'One invoice with its lines and FX snapshot',
  input: z.object({ invoice: InvoiceRef }),
  output: InvoiceSchema.extend({ merchantId: z.string() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const scope = await scopeOf(ctx, input.invoice);
    return { ...(await loadInvoiceView(ctx, scope, input.invoice)), merchantId: scope.merchantId };
  },
});

export const invoicesVoid = defineCommand({
  name: 'invoices:void',
  summary: 'Void an unpaid invoice (its ledger posting is reversed; invoice.voided is announced)',
  input: z.object({ invoice: InvoiceRef, reason: ReviewerText('The reason') }),
  output: InvoiceSchema,
  roles: ['admin', 'finance'],
  stepUp: true,
  mutates: true,
  async handler(ctx, input) {
    const voided = await voidInvoice(ctx, input.invoice, input.reason, ctx.staff.id);
    ctx.touch(voided.id, (await scopeOf(ctx, voided.id)).merchantId);
    return voided;
  },
});

export const invoicesUnbilled = defineCommand({
  name: 'invoices:unbilled',
  summary: 'Usage of a merchant in a month that no invoice carries (no contract prices it, or no price matches)',
  input: z.object({ merchant: MerchantRef, period: Month.meta({ description: 'The month, YYYY-MM (UTC)' }), environment: Environment.default('live') }),
  output: z.object({
    merchant: z.string(),
    environment: Environment,
    from: z.string(),
    to: z.string(),
    items: z.array(
      z.object({
        customerId: z.string(),
        customerExternalId: z.string(),
        metric: z.string(),
        dimensions: z.record(z.string(), z.string()),
        quantity: z.string(),
        reason: z.enum(['no_contract', 'no_price']),
        from: z.string(),
        to: z.string(),
      }),
    ),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const [y, m] = input.period.split('-').map(Number);
    const from = new Date(Date.UTC(y, m - 1, 1));
    const to = new Date(Date.UTC(y, m, 1));
    const items = await listUnbilledUsage(ctx, { merchantId: input.merchant, environment: input.environment }, from, to);
    return { merchant: input.merchant, environment: input.environment, from: from.toISOString(), to: to.toISOString(), items };
  },
});
