import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { metricCode } from './batch.js';
import type { UsageMetric } from './tables.js';

/**
 * Test support: stores a usage row the way the writer would (scope, customer ref and dimension
 * set resolved to their integer rows), for tests of readers that need rows without going
 * through ingestion. Not part of the module's API (not exported from index.ts). Switches
 * foreign keys off on the given connection, so tests may use customers that are not stored.
 */
export interface TestUsageRow {
  merchantId: string;
  environment: 'sandbox' | 'live';
  customerId: string;
  idempotencyKey: string;
  metric: UsageMetric;
  quantity: string;
  occurredAt: string;
  /** Stored as given (the writer stores canonical JSON). */
  dimensions?: string;
  receivedAt?: string;
}

export function insertUsageRowForTest(db: Db, row: TestUsageRow): Promise<number> {
  if (!db.exclusive) return insertWithKysely(db, row);
  return db.exclusive((raw) => {
    raw.pragma('foreign_keys = OFF');
    try {
      return insert(raw, row);
    } finally {
      raw.pragma('foreign_keys = ON');
    }
  });
}

function insert(raw: BetterSqlite3.Database, row: TestUsageRow): number {
  {
    const scope =
      (raw.prepare('SELECT id FROM usage_scopes WHERE merchant_id = ? AND environment = ?').pluck().get(row.merchantId, row.environment) as number | undefined) ??
      Number(raw.prepare('INSERT INTO usage_scopes (merchant_id, environment) VALUES (?, ?)').run(row.merchantId, row.environment).lastInsertRowid);
    const customer =
      (raw.prepare('SELECT ref FROM usage_customers WHERE customer_id = ?').pluck().get(row.customerId) as number | undefined) ??
      Number(raw.prepare('INSERT INTO usage_customers (customer_id) VALUES (?)').run(row.customerId).lastInsertRowid);
    const canonical = row.dimensions ?? '{}';
    const dims =
      (raw.prepare('SELECT id FROM usage_dimension_sets WHERE canonical = ?').pluck().get(canonical) as number | undefined) ??
      Number(raw.prepare('INSERT INTO usage_dimension_sets (canonical) VALUES (?)').run(canonical).lastInsertRowid);
    const r = raw
      .prepare('INSERT INTO usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(scope, row.idempotencyKey, customer, metricCode(row.metric), row.quantity, Date.parse(row.occurredAt), dims, Date.parse(row.receivedAt ?? row.occurredAt));
    return Number(r.lastInsertRowid);
  }
}

/** PostgreSQL: the same rows through Kysely, with foreign keys (triggers) off for the transaction. */
function insertWithKysely(db: Db, row: TestUsageRow): Promise<number> {
  return db.kysely.transaction().execute(async (k) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(k);
    const canonical = row.dimensions ?? '{}';
    const scope =
      (await k.selectFrom('usage_scopes').select('id').where('merchant_id', '=', row.merchantId).where('environment', '=', row.environment).executeTakeFirst())?.id ??
      (await k.insertInto('usage_scopes').values({ merchant_id: row.merchantId, environment: row.environment }).returning('id').executeTakeFirstOrThrow()).id;
    const customer =
      (await k.selectFrom('usage_customers').select('ref').where('customer_id', '=', row.customerId).executeTakeFirst())?.ref ??
      (await k.insertInto('usage_customers').values({ customer_id: row.customerId }).returning('ref').executeTakeFirstOrThrow()).ref;
    const dims =
      (await k.selectFrom('usage_dimension_sets').select('id').where('canonical', '=', canonical).executeTakeFirst())?.id ??
      (await k.insertInto('usage_dimension_sets').values({ canonical }).returning('id').executeTakeFirstOrThrow()).id;
    const inserted = await k
      .insertInto('usage_events')
      .values({
        scope,
        idempotency_key: row.idempotencyKey,
        customer,
        metric: metricCode(row.metric),
        quantity: row.quantity,
        occurred_at: Date.parse(row.occurredAt),
        dimensions: dims,
        received_at: Date.parse(row.receivedAt ?? row.occurredAt),
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(inserted.seq);
  });
}
