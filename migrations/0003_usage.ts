import { type Kysely, sql } from 'kysely';
import { decimalType, isPostgres } from './_dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  // The hot table: rows append in commit order under an integer sequence (SQLite's rowid), and
  // the only index maintained while ingesting is the dedupe key. Aggregation per customer reads
  // usage_by_customer (below), which is filled from this table asynchronously, in bulk.
  await db.schema
    .createTable('usage_events')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull()) // evt_<ULID>, time-ordered, the public eventId
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('quantity', decimalType(db), (c) => c.notNull()) // non-negative integer, canonical decimal string, any size
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('dimensions', 'text', (c) => c.notNull().defaultTo('{}')) // canonical JSON, keys sorted
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('usage_events_idempotency_unq').on('usage_events').columns(['merchant_id', 'environment', 'idempotency_key']).unique().execute();

  // A per-customer, time-ordered copy of each event's billing fields: the index invoicing and
  // usage summaries read. Written in large sorted batches by the usage indexer (events with
  // seq <= usage_index_state.last_seq are in it); readers add the not-yet-indexed tail.
  await db.schema
    .createTable('usage_by_customer')
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('seq', pg ? 'bigint' : 'integer', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('quantity', decimalType(db), (c) => c.notNull())
    .addColumn('dimensions', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_by_customer_pk', ['customer_id', 'occurred_at', 'seq'])
    .$call((b) => (pg ? b : b.modifyEnd(sql`without rowid`)))
    .execute();
  await db.schema
    .createTable('usage_index_state')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', pg ? 'bigint' : 'integer', (c) => c.notNull())
    .execute();
  await db.insertInto('usage_index_state').values({ name: 'usage_by_customer', last_seq: 0 }).execute();

  await db.schema
    .createTable('idempotency_records')
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull()) // in_progress | completed
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_records_pk', ['merchant_id', 'environment', 'idempotency_key'])
    .execute();
  await db.schema.createIndex('idempotency_records_expiry').on('idempotency_records').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_records').execute();
  await db.schema.dropTable('usage_index_state').execute();
  await db.schema.dropTable('usage_by_customer').execute();
  await db.schema.dropTable('usage_events').execute();
}
