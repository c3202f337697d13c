import type { CoreContext, Environment } from '../context/index.js';
import { contractSchedule } from '../contracts/contracts.js';
import { periodsBetween } from '../contracts/periods.js';
import { DEFAULT_INVOICE_GRACE_MS } from '../invoices/generate.js';

/**
 * The back office's home: what needs a person now, and how usage and invoicing went over the
 * last twelve months that are over. Everything here reads bounded tables (merchants, KYB submissions,
 * contracts, invoices and their lines), never the usage events themselves: with ten million
 * events a month a scan of them would take seconds, while invoices and lines grow with
 * contracts × months. So usage is shown as invoiced.
 */

/**
 * What needs attention, one kind per row. Later issues add kinds (e.g. settlement batches
 * awaiting the second admin's approval) without changing the shape: each row is a count, the
 * oldest instant it covers (how long someone has been waiting), and whether it is work waiting
 * for a decision (`action`) or something that went wrong (`failure`).
 */
export const ATTENTION_KINDS = ['kyb_pending_review', 'kyb_info_requested', 'invoice_periods_overdue'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export interface AttentionItem {
  kind: AttentionKind;
  severity: 'action' | 'failure';
  count: number;
  oldestAt: string | null;
}

export interface MonthlySeries {
  /** The months covered, oldest first, as YYYY-MM (UTC). */
  months: string[];
  /** Invoiced usage per metric: one decimal string per month (summed as BigInt). */
  usage: Array<{ metric: string; quantities: string[] }>;
  /** Invoiced subtotals per pricing currency: integer minor units per month, void invoices left out. */
  invoiced: Array<{ currency: string; amountsMinor: string[]; invoiceCounts: number[] }>;
}

/**
 * A period counts as overdue once it ended more than the invoice grace window plus this slack
 * ago: the scheduler looks every 5 minutes, so by then a healthy run has invoiced it, and a period
 * still open has failed (e.g. `fx_rate_missing`) or the scheduler is not running.
 */
export const OVERDUE_SLACK_MS = 15 * 60 * 1000;

export async function attentionItems(ctx: CoreContext, now = ctx.clock.now()): Promise<AttentionItem[]> {
  const k = ctx.db.kysely;
  const kyb = await k
    .selectFrom('merchants as m')
    .innerJoin('kyb_submissions as s', (j) => j.onRef('s.merchant_id', '=', 'm.id').onRef('s.status', '=', 'm.kyb_status'))
    .select(['m.kyb_status as status', (eb) => eb.fn.count<number>('m.id').distinct().as('n'), (eb) => eb.fn.min('s.submitted_at').as('oldest')])
    .where('m.kyb_status', 'in', ['pending_review', 'info_requested'])
    .groupBy('m.kyb_status')
    .execute();
  const kybOf = (status: string) => kyb.find((r) => r.status === status);
  const pending = kybOf('pending_review');
  const info = kybOf('info_requested');
  const overdue = await overdueInvoicePeriods(ctx, now);
  return [
    { kind: 'kyb_pending_review', severity: 'action', count: Number(pending?.n ?? 0), oldestAt: (pending?.oldest as string | null) ?? null },
    { kind: 'kyb_info_requested', severity: 'action', count: Number(info?.n ?? 0), oldestAt: (info?.oldest as string | null) ?? null },
    { kind: 'invoice_periods_overdue', severity: 'failure', count: overdue.count, oldestAt: overdue.oldestEnd },
  ];
}

/**
 * Billing periods that ended long enough ago to have been invoiced and were not: the invoice
 * run's candidates (core/invoices/generate.ts), counted instead of invoiced. One row per contract.
 */
export async function overdueInvoicePeriods(ctx: CoreContext, now: Date): Promise<{ count: number; oldestEnd: string | null }> {
  const cutoff = new Date(now.getTime() - DEFAULT_INVOICE_GRACE_MS - OVERDUE_SLACK_MS);
  const contracts = await ctx.db.kysely
    .selectFrom('contracts as c')
    .select([
      'c.billing_cycle',
      'c.starts_at',
      'c.ends_at',
      (eb) =>
        eb
          .selectFrom('invoices as i')
          .select((e) => e.fn.max('i.period_end').as('m'))
          .whereRef('i.contract_id', '=', 'c.id')
          .as('invoiced_until'),
    ])
    .where('c.status', '!=', 'archived')
    .where('c.starts_at', '<', cutoff.toISOString())
    .execute();
  let count = 0;
  let oldestEnd: string | null = null;
  for (const c of contracts) {
    if (c.ends_at && c.invoiced_until && c.invoiced_until >= c.ends_at) continue;
    const from = new Date((c.invoiced_until as string | null) ?? c.starts_at);
    let periods: Array<{ start: Date; end: Date }>;
    try {
      periods = periodsBetween(contractSchedule(c), from, cutoff).filter((p) => p.end.getTime() <= cutoff.getTime() && p.start.getTime() >= from.getTime());
    } catch {
      // A contract the run cannot cut into periods is itself a failure the run reports.
      periods = [{ start: from, end: from }];
    }
    if (periods.length === 0) continue;
    count += periods.length;
    const end = periods[0].end.toISOString();
    if (oldestEnd === null || end < oldestEnd) oldestEnd = end;
  }
  return { count, oldestEnd };
}

/** YYYY-MM of the month `offset` months after the month of `d` (UTC). */
function monthOf(d: Date, offset = 0): string {
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1));
  return m.toISOString().slice(0, 7);
}

/**
 * The last `months` calendar months that are over (the current month has no invoice yet: its
 * periods have not ended), from invoices and their lines.
 */
export async function monthlySeries(ctx: CoreContext, environment: Environment, months = 12, now = ctx.clock.now()): Promise<MonthlySeries> {
  const labels = Array.from({ length: months }, (_, i) => monthOf(now, i - months));
  const from = `${labels[0]}-01T00:00:00.000Z`;
  const to = `${monthOf(now)}-01T00:00:00.000Z`;
  const index = new Map(labels.map((m, i) => [m, i]));
  const k = ctx.db.kysely;

  // Exact sums: quantities and amounts are decimal text of any length, so they are added as
  // BigInt here rather than by SQL's SUM (64-bit integers or floats). The rows are bounded by
  // invoices × lines, never by events.
  const invoiced = new Map<string, { amounts: bigint[]; counts: number[] }>();
  const invoices = await k
    .selectFrom('invoices')
    .select(['period_start', 'pricing_currency', 'subtotal_minor'])
    .where('environment', '=', environment)
    .where('period_start', '>=', from)
    .where('period_start', '<', to)
    .where('status', 'not in', ['void', 'draft'])
    .execute();
  for (const r of invoices) {
    const i = index.get(r.period_start.slice(0, 7));
    if (i === undefined) continue;
    let row = invoiced.get(r.pricing_currency);
    if (!row) invoiced.set(r.pricing_currency, (row = { amounts: labels.map(() => 0n), counts: labels.map(() => 0) }));
    row.amounts[i] += BigInt(r.subtotal_minor);
    row.counts[i]++;
  }

  // Usage happened even when its invoice was voided later (a void does not reopen the period).
  const usage = new Map<string, bigint[]>();
  const lines = await k
    .selectFrom('invoice_lines as l')
    .innerJoin('invoices as i', 'i.id', 'l.invoice_id')
    .select(['i.period_start', 'l.metric', 'l.quantity'])
    .where('i.environment', '=', environment)
    .where('i.period_start', '>=', from)
    .where('i.period_start', '<', to)
    .execute();
  for (const r of lines) {
    const i = index.get(r.period_start.slice(0, 7));
    if (i === undefined) continue;
    let row = usage.get(r.metric);
    if (!row) usage.set(r.metric, (row = labels.map(() => 0n)));
    row[i] += BigInt(r.quantity);
  }

  return {
    months: labels,
    usage: [...usage.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([metric, q]) => ({ metric, quantities: q.map(String) })),
    invoiced: [...invoiced.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, r]) => ({ currency, amountsMinor: r.amounts.map(String), invoiceCounts: r.counts })),
  };
}
