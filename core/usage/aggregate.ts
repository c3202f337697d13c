import { sql } from 'kysely';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { compiledQuery } from '../db/compiled.js';
import { readSnapshot } from '../db/transaction.js';
import type { AggregatedUsage } from '../pricing/schemas.js';
import { metricOf } from './batch.js';
import type { UsageMetric } from './tables.js';

/**
 * Usage totals of one customer over [from, to), one row per (metric, dimensions), ready for the
 * rating function (core/pricing rateUsage).
 *
 * - Quantities are exact: stored as decimal strings of any size, never lossy numbers. The
 *   database groups and sums what fits 64 bits; the rest is added with BigInt (aggregateIndexed).
 * - `storage_gb` is a gauge, not a counter: each event reports how many GB the customer holds,
 *   so a period bills its peak — the maximum reading per dimension set, not the sum of readings.
 *   Distinct dimension sets (e.g. two regions) are separate stores and add up when one price
 *   covers them. (Time-weighted GB-hours would be fairer for spiky storage; it needs readings
 *   carried across period boundaries and can come with invoicing if merchants ask.)
 * - Dimensions compare by their canonical JSON (keys sorted), the form ingestion stores.
 */

/** How each metric's events combine over a period. */
export const METRIC_AGGREGATION: Readonly<Record<UsageMetric, 'sum' | 'max'>> = {
  tokens_input: 'sum',
  tokens_output: 'sum',
  image_generation: 'sum',
  agent_run: 'sum',
  storage_gb: 'max',
};

function canonicalDimensions(text: string): { key: string; dimensions: Record<string, string> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {};
  }
  const obj = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const dimensions: Record<string, string> = {};
  for (const k of Object.keys(obj).sort()) dimensions[k] = String(obj[k]);
  return { key: JSON.stringify(dimensions), dimensions };
}

/**
 * Parsed dimension sets by usage_dimension_sets.id, per database. Safe to keep for the life of
 * the process: a set's row is written once and never updated or deleted, and an id seen here
 * was read from committed rows (an id a rolled-back SQLite insert had used may be given again,
 * but no read ever saw it). Bounded: past `dimensionSetCacheLimit.max` it starts over.
 */
type ParsedDimensions = { key: string; dimensions: Record<string, string> };
const dimensionSets = new WeakMap<object, Map<number, ParsedDimensions>>();
/** The cache's bound (an object so a test can make it small). */
export const dimensionSetCacheLimit = { max: 100_000 };
function dimensionSetCache(db: CoreContext['db']): Map<number, ParsedDimensions> {
  let cache = dimensionSets.get(db);
  if (!cache) dimensionSets.set(db, (cache = new Map()));
  return cache;
}

// `_scope` stays in the signature: callers name the merchant scope they read for, and a
// customer id belongs to exactly one scope (the query needs only the id).
/** One customer's events in a window, after the index cursor (the unindexed tail). */
/** `quantity`: the stored text, or (from the reader thread's feed) the same integer as a number when it has at most 15 digits. */
export type TailRow = { metric: number; dimensions: number; quantity: string | number };
/**
 * Where the unindexed tail comes from, read on the snapshot `tx`: by default a scan of
 * usage_events after the cursor (~65 ms per million rows); the reader thread keeps it grouped by
 * customer in memory instead (tail-cache.ts), so a read costs the rows new since the last read.
 */
export type UnindexedTailSource = (tx: CoreContext, lastSeq: number, customerRef: number, fromMs: number, toMs: number) => Promise<TailRow[]>;

export const scanUnindexedTail: UnindexedTailSource = async (tx, lastSeq, customerRef, fromMs, toMs) =>
  (await unindexedTail(tx.db.kysely, lastSeq, customerRef, fromMs, toMs)).map((r) => ({ metric: r.metric, dimensions: Number(r.dimensions), quantity: r.quantity }));

export async function aggregateUsage(
  ctx: CoreContext,
  _scope: MerchantScope,
  customerId: string,
  from: Date,
  to: Date,
  tailSource: UnindexedTailSource = scanUnindexedTail,
): Promise<AggregatedUsage[]> {
  // usage_by_customer holds every event up to the indexer's cursor; the tail after it is read
  // from usage_events. Both on one snapshot, so an indexer run cannot slip in between and make
  // an event count twice or not at all. A read-only snapshot takes no write lock (usage reads do
  // not queue behind ingestion); inside a caller's transaction (invoicing) it joins that one.
  const groups = await readSnapshot(ctx, async (tx) => {
    const k = tx.db.kysely;
    const [customer] = await usageCustomerRef(k, customerId);
    if (!customer) return []; // no usage ever recorded
    const [cursor] = await indexCursor(k);
    const indexed = await aggregateIndexed(tx, customer.ref, from, to, Number(cursor.last_seq));
    const tail = await tailSource(tx, Number(cursor.last_seq), Number(customer.ref), from.getTime(), to.getTime());
    return (indexed as TailRow[]).concat(tail);
  });
  if (groups.length === 0) return [];

  // Dimension sets are read (and parsed) once each, not once per event — and once per process:
  // the reader thread serves 20 reads a second, each over hundreds of sets (dimensionSetCache).
  // This read resolves from its own map, so the cache starting over mid-read loses nothing.
  const combined = combineRows(groups);
  const cache = dimensionSetCache(ctx.db);
  const sets = new Map<number, ParsedDimensions>();
  const missing: number[] = [];
  for (const id of new Set(combined.map((g) => g.dimensions))) {
    const parsed = cache.get(id);
    if (parsed) sets.set(id, parsed);
    else missing.push(id);
  }
  for (let i = 0; i < missing.length; i += 500) {
    const rows = await ctx.db.kysely
      .selectFrom('usage_dimension_sets')
      .select(['id', 'canonical'])
      .where('id', 'in', missing.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      const parsed = canonicalDimensions(r.canonical);
      sets.set(Number(r.id), parsed);
      if (cache.size >= dimensionSetCacheLimit.max) cache.clear();
      cache.set(Number(r.id), parsed);
    }
  }

  const totals = new Map<string, { metric: string; dimensions: Record<string, string>; quantity: bigint }>();
  for (const g of combined) {
    const { key, dimensions } = sets.get(g.dimensions) ?? canonicalDimensions('{}');
    const metric = metricOf(g.metric);
    const groupKey = `${metric}\u0000${key}`;
    const quantity = g.quantity;
    const acc = totals.get(groupKey);
    if (!acc) {
      totals.set(groupKey, { metric, dimensions, quantity });
    } else if (METRIC_AGGREGATION[metric] === 'max') {
      if (quantity > acc.quantity) acc.quantity = quantity;
    } else {
      acc.quantity += quantity;
    }
  }
  // Ordered by metric, then by the dimensions' canonical text (the map key carries both).
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, t]) => ({ metric: t.metric, dimensions: { ...t.dimensions }, quantity: t.quantity.toString() })); // a copy: the cached set stays as read
}

/**
 * Rows of one metric and dimension set combined (summed, or the maximum for a gauge) before
 * anything per group is looked up: the unindexed tail gives a row per event (~1,300 a read for
 * one customer at full ingest speed), and a BigInt and a key string per event cost the reader
 * thread more than its tail. Sums stay in a number while exact (the reader thread's feed gives
 * integers of ≤ 15 digits as numbers) and move into a BigInt before they could round.
 */
function combineRows(rows: readonly TailRow[]): Array<{ metric: number; dimensions: number; quantity: bigint }> {
  type Acc = { exact: number; big: bigint; any: boolean };
  const byMetric = new Map<number, { gauge: boolean; byDimensions: Map<number, Acc> }>();
  for (const r of rows) {
    let m = byMetric.get(r.metric);
    if (m === undefined) byMetric.set(r.metric, (m = { gauge: METRIC_AGGREGATION[metricOf(r.metric)] === 'max', byDimensions: new Map() }));
    let acc = m.byDimensions.get(r.dimensions);
    if (acc === undefined) m.byDimensions.set(r.dimensions, (acc = { exact: 0, big: 0n, any: false }));
    const q = r.quantity;
    if (m.gauge) {
      const v = BigInt(q);
      if (!acc.any || v > acc.big) acc.big = v;
    } else if (typeof q === 'number' && acc.exact + q <= Number.MAX_SAFE_INTEGER) {
      acc.exact += q;
    } else {
      acc.big += BigInt(q);
    }
    acc.any = true;
  }
  const out: Array<{ metric: number; dimensions: number; quantity: bigint }> = [];
  for (const [metric, { gauge, byDimensions }] of byMetric) {
    for (const [dimensions, acc] of byDimensions) out.push({ metric, dimensions, quantity: gauge ? acc.big : acc.big + BigInt(acc.exact) });
  }
  return out;
}

// Quantities are TEXT on SQLite and numeric on PostgreSQL: their digits are counted as text on both.
// Invoice runs read usage once per contract and period: these are compiled once per connection.
const usageCustomerRef = compiledQuery((k, customerId: string) => k.selectFrom('usage_customers').select('ref').where('customer_id', '=', customerId), ['$customer'] as [string]);
const indexCursor = compiledQuery((k) => k.selectFrom('usage_index_state').select('last_seq').where('name', '=', 'usage_by_customer'), [] as []);
const unindexedTail = compiledQuery(
  (k, lastSeq: number, ref: number, from: number, to: number) =>
    k
      .selectFrom('usage_events as e')
      .select(['e.metric', 'e.dimensions', 'e.quantity'])
      .where('e.seq', '>', lastSeq)
      .where('e.customer', '=', ref)
      .where('e.occurred_at', '>=', from)
      .where('e.occurred_at', '<', to),
  [-1, -2, -3, -4] as [number, number, number, number],
);

/** Quantities of up to 18 digits fit a 64-bit integer; longer ones are summed here, exactly. */
const SQL_DIGITS = 18;
const small = sql`CASE WHEN LENGTH(CAST(u.quantity AS TEXT)) <= ${sql.lit(SQL_DIGITS)} THEN CAST(u.quantity AS BIGINT) END`;
const groupedUsage = compiledQuery(
  (k, ref: number, from: number, to: number, lastSeq: number) =>
    k
      .selectFrom('usage_by_customer as u')
      .where('u.customer', '=', ref)
      .where('u.occurred_at', '>=', from)
      .where('u.occurred_at', '<', to)
      .where('u.seq', '<=', lastSeq)
      .select([
        'u.metric',
        'u.dimensions',
        sql<string | null>`CAST(SUM(${small}) AS TEXT)`.as('total'),
        sql<string | null>`CAST(MAX(${small}) AS TEXT)`.as('peak'),
        sql<number>`MAX(LENGTH(CAST(u.quantity AS TEXT)))`.as('longest'),
      ])
      .groupBy(['u.metric', 'u.dimensions']),
  [-1, -2, -3, -4] as [number, number, number, number],
);

/**
 * The indexed part, grouped by SQL: one row per (metric, dimension set) instead of one per
 * event, so memory stays flat in the number of events and the database does the adding.
 * Exact: SQL sums only quantities of up to 18 digits (as 64-bit integers, read back as text);
 * longer ones — rare, quantities may reach 10^30 — are read and added with BigInt; a group whose
 * sum overflows 64 bits (SQLite refuses with "integer overflow", never rounds) falls back to
 * reading its rows. `storage_gb` takes the maximum the same way (see METRIC_AGGREGATION).
 */
async function aggregateIndexed(
  ctx: CoreContext,
  customerRef: number,
  from: Date,
  to: Date,
  lastSeq: number,
): Promise<Array<{ metric: number; dimensions: number; quantity: string }>> {
  const k = ctx.db.kysely;
  const range = () =>
    k
      .selectFrom('usage_by_customer as u')
      .where('u.customer', '=', customerRef)
      .where('u.occurred_at', '>=', from.getTime())
      .where('u.occurred_at', '<', to.getTime())
      .where('u.seq', '<=', lastSeq);
  let grouped: Array<{ metric: number; dimensions: number; total: string | null; peak: string | null; longest: number }>;
  try {
    grouped = (await groupedUsage(k, customerRef, from.getTime(), to.getTime(), lastSeq)) as typeof grouped;
  } catch (e) {
    if (!/integer overflow|out of range/i.test(String((e as Error)?.message))) throw e;
    // A sum past 2^63: add every row with BigInt (slower, still exact).
    return (await range().select(['u.metric', 'u.dimensions', 'u.quantity']).execute()).map((r) => ({ metric: r.metric, dimensions: Number(r.dimensions), quantity: r.quantity }));
  }
  const out: Array<{ metric: number; dimensions: number; quantity: string }> = [];
  const hasLong = grouped.some((g) => Number(g.longest) > SQL_DIGITS);
  for (const g of grouped) {
    const value = METRIC_AGGREGATION[metricOf(g.metric)] === 'max' ? g.peak : g.total;
    if (value !== null) out.push({ metric: g.metric, dimensions: Number(g.dimensions), quantity: value });
  }
  if (hasLong) {
    const long = await range()
      .select(['u.metric', 'u.dimensions', 'u.quantity'])
      .where(sql<boolean>`LENGTH(CAST(u.quantity AS TEXT)) > ${sql.lit(SQL_DIGITS)}`)
      .execute();
    for (const r of long) out.push({ metric: r.metric, dimensions: Number(r.dimensions), quantity: r.quantity });
  }
  return out;
}
