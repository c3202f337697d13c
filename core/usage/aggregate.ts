import type { CoreContext, MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import type { AggregatedUsage } from '../pricing/schemas.js';
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

export async function aggregateUsage(ctx: CoreContext, scope: MerchantScope, customerId: string, from: Date, to: Date): Promise<AggregatedUsage[]> {
  // usage_by_customer holds every event up to the indexer's cursor; the tail after it is read
  // from usage_events. Both in one transaction, so an indexer run cannot slip in between and
  // make an event count twice or not at all.
  const rows = await inTransaction(ctx, async (tx) => {
    const cursor = await tx.db.kysely
      .selectFrom('usage_index_state')
      .select('last_seq')
      .where('name', '=', 'usage_by_customer')
      .executeTakeFirstOrThrow();
    const indexed = await tx.db.kysely
      .selectFrom('usage_by_customer')
      .select(['metric', 'dimensions', 'quantity'])
      .where('customer_id', '=', customerId)
      .where('occurred_at', '>=', from.toISOString())
      .where('occurred_at', '<', to.toISOString())
      .where('seq', '<=', cursor.last_seq)
      .execute();
    const tail = await tx.db.kysely
      .selectFrom('usage_events')
      .select(['metric', 'dimensions', 'quantity'])
      .where('seq', '>', cursor.last_seq)
      .where('merchant_id', '=', scope.merchantId)
      .where('environment', '=', scope.environment)
      .where('customer_id', '=', customerId)
      .where('occurred_at', '>=', from.toISOString())
      .where('occurred_at', '<', to.toISOString())
      .execute();
    return indexed.concat(tail);
  });

  const totals = new Map<string, { metric: string; dimensions: Record<string, string>; quantity: bigint }>();
  for (const row of rows) {
    const { key, dimensions } = canonicalDimensions(row.dimensions);
    const groupKey = `${row.metric}\u0000${key}`;
    const quantity = BigInt(row.quantity);
    const acc = totals.get(groupKey);
    if (!acc) {
      totals.set(groupKey, { metric: row.metric, dimensions, quantity });
    } else if ((METRIC_AGGREGATION[row.metric as UsageMetric] ?? 'sum') === 'max') {
      if (quantity > acc.quantity) acc.quantity = quantity;
    } else {
      acc.quantity += quantity;
    }
  }
  return [...totals.values()]
    .map((t) => ({ metric: t.metric, dimensions: t.dimensions, quantity: t.quantity.toString() }))
    .sort((a, b) => (a.metric === b.metric ? (JSON.stringify(a.dimensions) < JSON.stringify(b.dimensions) ? -1 : 1) : a.metric < b.metric ? -1 : 1));
}
