import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('usage_events')
    .addColumn('id', 'text', (c) => c.primaryKey()) // evt_<ULID>: time-ordered, appends at the index's right edge
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('quantity', 'text', (c) => c.notNull()) // non-negative integer, canonical decimal string, any size
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('dimensions', 'text', (c) => c.notNull().defaultTo('{}')) // canonical JSON, keys sorted
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('usage_events_idempotency_unq')
    .on('usage_events')
    .columns(['merchant_id', 'environment', 'idempotency_key'])
    .unique()
    .execute();
  await db.schema.createIndex('usage_events_customer_time').on('usage_events').columns(['customer_id', 'occurred_at']).execute();

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
  await db.schema.dropTable('usage_events').execute();
}
