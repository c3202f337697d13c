import type { CoreContext, MerchantScope } from '../context/index.js';
import { metricOf } from './batch.js';
import { createEventIdCodec } from './event-ids.js';
import type { UsageMetric } from './tables.js';

/** A stored usage event, as the API speaks of it (ids and times decoded from the compact row). */
export interface StoredUsageEvent {
  eventId: string;
  environment: 'sandbox' | 'live';
  idempotencyKey: string;
  /** customers.id */
  customerId: string;
  metric: UsageMetric;
  quantity: string;
  occurredAt: string;
  /** Canonical JSON, keys sorted. */
  dimensions: string;
  receivedAt: string;
}

async function codecOf(ctx: CoreContext) {
  const state = await ctx.db.kysely.selectFrom('usage_state').select('event_id_key').where('id', '=', 1).executeTakeFirstOrThrow();
  return createEventIdCodec(new Uint8Array(state.event_id_key));
}

function query(ctx: CoreContext) {
  return ctx.db.kysely
    .selectFrom('usage_events as e')
    .innerJoin('usage_scopes as s', 's.id', 'e.scope')
    .innerJoin('usage_customers as c', 'c.ref', 'e.customer')
    .innerJoin('usage_dimension_sets as d', 'd.id', 'e.dimensions')
    .select(['e.seq', 'e.legacy_id', 's.environment', 'e.idempotency_key', 'c.customer_id', 'e.metric', 'e.quantity', 'e.occurred_at', 'd.canonical', 'e.received_at']);
}

type Row = Awaited<ReturnType<ReturnType<typeof query>['execute']>>[number];

function view(row: Row, eventId: string): StoredUsageEvent {
  return {
    eventId,
    environment: row.environment,
    idempotencyKey: row.idempotency_key,
    customerId: row.customer_id,
    metric: metricOf(row.metric),
    quantity: row.quantity,
    occurredAt: new Date(Number(row.occurred_at)).toISOString(),
    dimensions: row.canonical,
    receivedAt: new Date(Number(row.received_at)).toISOString(),
  };
}

/** One stored event of this merchant and environment by its public id, or undefined. */
export async function getStoredUsageEvent(ctx: CoreContext, scope: MerchantScope, eventId: string): Promise<StoredUsageEvent | undefined> {
  const codec = await codecOf(ctx);
  const seq = codec.decode(eventId);
  const row = await query(ctx)
    .where('s.merchant_id', '=', scope.merchantId)
    .where('s.environment', '=', scope.environment)
    .where(seq !== undefined ? 'e.seq' : 'e.legacy_id', '=', seq ?? eventId)
    .executeTakeFirst();
  return row && view(row, row.legacy_id ?? eventId);
}

/** A merchant's stored events in commit order, both environments unless one is named (support, tests). */
export async function listStoredUsageEvents(ctx: CoreContext, merchantId: string, options: { environment?: 'sandbox' | 'live'; limit?: number } = {}): Promise<StoredUsageEvent[]> {
  const codec = await codecOf(ctx);
  let q = query(ctx).where('s.merchant_id', '=', merchantId);
  if (options.environment) q = q.where('s.environment', '=', options.environment);
  const rows = await q
    .orderBy('e.seq')
    .limit(options.limit ?? 10_000)
    .execute();
  // bigint columns read back as strings on PostgreSQL (core/db/README.md, Types).
  const ids = codec.encode(rows.map((r) => Number(r.seq)));
  return rows.map((r, i) => view(r, r.legacy_id ?? ids[i]));
}
