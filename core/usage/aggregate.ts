import type { CoreContext, MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import type { AggregatedUsage } from '../pricing/schemas.js';
import { metricOf } from './batch.js';
import type { UsageMetric } from './tables.js';

/**
 * Usage totals of one customer over [from, to), one row per (metric, dimensions), ready for the
 * rating function (core/pricing rateUsage).
 *
 * - Quantities are summed with BigInt: stored as decimal strings of any size, never lossy numbers.
 *   (SQL SUM would turn them into floats or overflow 64 bits, so rows are summed here.)
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

// `_scope` stays in the signature: callers name the merchant scope they read for, and a
// customer id belongs to exactly one scope (the query needs only the id).
export async function aggregateUsage(ctx: CoreContext, _scope: MerchantScope, customerId: string, from: Date, to: Date): Promise<AggregatedUsage[]> {
  // usage_by_customer holds every event up to the indexer's cursor; the tail after it is read
  // from usage_events. Both in one transaction, so an indexer run cannot slip in between and
  // make an event count twice or not at all.
  const rows = await inTransaction(ctx, async (tx) => {
    const customer = await tx.db.kysely.selectFrom('usage_customers').select('ref').where('customer_id', '=', customerId).executeTakeFirst();
    if (!customer) return []; // no usage ever recorded
    const cursor = await tx.db.kysely.selectFrom('usage_index_state').select('last_seq').where('name', '=', 'usage_by_customer').executeTakeFirstOrThrow();
    const indexed = await tx.db.kysely
      .selectFrom('usage_by_customer as u')
      .innerJoin('usage_dimension_sets as d', 'd.id', 'u.dimensions')
      .select(['u.metric', 'd.canonical as dimensions', 'u.quantity'])
      .where('u.customer', '=', customer.ref)
      .where('u.occurred_at', '>=', from.getTime())
      .where('u.occurred_at', '<', to.getTime())
      .where('u.seq', '<=', cursor.last_seq)
      .execute();
    const tail = await tx.db.kysely
      .selectFrom('usage_events as e')
      .innerJoin('usage_dimension_sets as d', 'd.id', 'e.dimensions')
      .select(['e.metric', 'd.canonical as dimensions', 'e.quantity'])
      .where('e.seq', '>', cursor.last_seq)
      .where('e.customer', '=', customer.ref)
      .where('e.occurred_at', '>=', from.getTime())
      .where('e.occurred_at', '<', to.getTime())
      .execute();
    return indexed.concat(tail);
  });

  const totals = new Map<string, { metric: string; dimensions: Record<string, string>; quantity: bigint }>();
  for (const row of rows) {
    const { key, dimensions } = canonicalDimensions(row.dimensions);
    const metric = metricOf(row.metric);
    const groupKey = `${metric}\u0000${key}`;
    const quantity = BigInt(row.quantity);
    const acc = totals.get(groupKey);
    if (!acc) {
      totals.set(groupKey, { metric, dimensions, quantity });
    } else if (METRIC_AGGREGATION[metric] === 'max') {
      if (quantity > acc.quantity) acc.quantity = quantity;
    } else {
      acc.quantity += quantity;
    }
  }
  return [...totals.values()]
    .map((t) => ({ metric: t.metric, dimensions: t.dimensions, quantity: t.quantity.toString() }))
    .sort((a, b) => (a.metric === b.metric ? (JSON.stringify(a.dimensions) < JSON.stringify(b.dimensions) ? -1 : 1) : a.metric < b.metric ? -1 : 1));
}
