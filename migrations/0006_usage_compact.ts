import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { blobType, decimalType, isPostgres } from './_dialect.js';

/**
 * The compact usage row. 0003 stored every event with its merchant and customer ids, metric,
 * times and dimensions as text (~340 bytes a row with its dedupe index); at 100,000 events a
 * second the bytes written were the cost. Now a row is ~60 bytes:
 *
 * - `scope`: usage_scopes.id, one integer per (merchant, environment);
 * - `customer`: usage_customers.ref, an integer per customer that has usage;
 * - `metric`: the metric's code (position in USAGE_METRICS + 1, append-only);
 * - `occurred_at`, `received_at`: milliseconds since the epoch, UTC;
 * - `dimensions`: usage_dimension_sets.id, the canonical JSON stored once per distinct set;
 * - the public eventId is not stored: it is the 128-bit block cipher image of `seq` under
 *   usage_state.event_id_key (core/usage/event-ids.ts), unique and stable for the life of the
 *   database, and reveals neither order nor volume. Events stored before this migration keep
 *   the ids already given out, in `legacy_id`.
 *
 * usage_by_customer gets the same integer columns; it is rebuilt by the usage indexer from
 * the hot table (its cursor is reset to 0). No foreign keys on the hot table: a per-row check
 * costs as much as the insert, and the single writer resolves every reference it stores.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const int = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('usage_scopes')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addUniqueConstraint('usage_scopes_unq', ['merchant_id', 'environment'])
    .execute();
  await db.schema
    .createTable('usage_customers')
    .addColumn('ref', pg ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().unique().references('customers.id'))
    .execute();
  await db.schema
    .createTable('usage_dimension_sets')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('canonical', 'text', (c) => c.notNull().unique())
    .execute();
  await db.schema
    .createTable('usage_state')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    // Bumped by triggers on every change to customers: the writer's customer cache is valid
    // while this is unchanged (archiving, closing a period or creating a customer ends it).
    .addColumn('customers_epoch', int, (c) => c.notNull())
    .addColumn('event_id_key', blobType(db), (c) => c.notNull())
    .execute();
  await db
    .insertInto('usage_state')
    .values({ id: 1, customers_epoch: 0, event_id_key: randomBytes(16) })
    .execute();
  if (pg) {
    await sql`CREATE FUNCTION bump_customers_epoch() RETURNS trigger AS $$ BEGIN UPDATE usage_state SET customers_epoch = customers_epoch + 1 WHERE id = 1; RETURN NULL; END $$ LANGUAGE plpgsql`.execute(
      db,
    );
    await sql`CREATE TRIGGER customers_usage_epoch AFTER INSERT OR UPDATE OR DELETE ON customers FOR EACH STATEMENT EXECUTE FUNCTION bump_customers_epoch()`.execute(db);
  } else {
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      await sql
        .raw(
          `CREATE TRIGGER customers_usage_epoch_${op.toLowerCase()} AFTER ${op} ON customers BEGIN UPDATE usage_state SET customers_epoch = customers_epoch + 1 WHERE id = 1; END`,
        )
        .execute(db);
    }
  }

  // Move the 0003 rows over.
  await db.schema.alterTable('usage_events').renameTo('usage_events_0003').execute();
  await db.schema.dropIndex('usage_events_idempotency_unq').execute();
  await db.schema.dropTable('usage_by_customer').execute();

  await db.schema
    .createTable('usage_events')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => c.primaryKey())
    .addColumn('scope', int, (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('customer', int, (c) => c.notNull())
    .addColumn('metric', 'integer', (c) => c.notNull())
    .addColumn('quantity', decimalType(db), (c) => c.notNull()) // non-negative integer, canonical decimal string, any size
    .addColumn('occurred_at', int, (c) => c.notNull())
    .addColumn('dimensions', int, (c) => c.notNull())
    .addColumn('received_at', int, (c) => c.notNull())
    .addColumn('legacy_id', 'text')
    .execute();
  await db.schema.createIndex('usage_events_idempotency_unq').on('usage_events').columns(['scope', 'idempotency_key']).unique().execute();

  await db.schema
    .createTable('usage_by_customer')
    .addColumn('customer', int, (c) => c.notNull())
    .addColumn('occurred_at', int, (c) => c.notNull())
    .addColumn('seq', int, (c) => c.notNull())
    .addColumn('metric', 'integer', (c) => c.notNull())
    .addColumn('quantity', decimalType(db), (c) => c.notNull())
    .addColumn('dimensions', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_by_customer_pk', ['customer', 'occurred_at', 'seq'])
    .$call((b) => (pg ? b : b.modifyEnd(sql`without rowid`)))
    .execute();
  await db.updateTable('usage_index_state').set({ last_seq: 0 }).where('name', '=', 'usage_by_customer').execute();

  await sql`INSERT INTO usage_scopes (merchant_id, environment) SELECT DISTINCT merchant_id, environment FROM usage_events_0003`.execute(db);
  await sql`INSERT INTO usage_customers (customer_id) SELECT DISTINCT customer_id FROM usage_events_0003`.execute(db);
  await sql`INSERT INTO usage_dimension_sets (canonical) SELECT DISTINCT dimensions FROM usage_events_0003`.execute(db);
  const ms = (col: string) => (pg ? `(extract(epoch from ${col}::timestamptz) * 1000)::bigint` : `CAST(ROUND((julianday(${col}) - 2440587.5) * 86400000.0) AS INTEGER)`);
  const metrics = ['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb'];
  const metricCase = `CASE e.metric ${metrics.map((m, i) => `WHEN '${m}' THEN ${i + 1}`).join(' ')} END`;
  await sql
    .raw(
      `INSERT INTO usage_events (seq, scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at, legacy_id)
       SELECT e.seq, s.id, e.idempotency_key, c.ref, ${metricCase}, e.quantity, ${ms('e.occurred_at')}, d.id, ${ms('e.received_at')}, e.id
       FROM usage_events_0003 e
       JOIN usage_scopes s ON s.merchant_id = e.merchant_id AND s.environment = e.environment
       JOIN usage_customers c ON c.customer_id = e.customer_id
       JOIN usage_dimension_sets d ON d.canonical = e.dimensions
       ORDER BY e.seq`,
    )
    .execute(db);
  await db.schema.dropTable('usage_events_0003').execute();
  if (pg) {
    // Rows moved with their seqs: the new table's sequence must continue after them (SQLite's
    // rowid does by itself).
    await sql`SELECT setval(pg_get_serial_sequence('usage_events', 'seq'), COALESCE(MAX(seq), 1), MAX(seq) IS NOT NULL) FROM usage_events`.execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('0006_usage_compact is not reversible (event rows were re-encoded)');
}
