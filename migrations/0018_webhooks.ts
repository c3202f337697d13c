import { type Kysely, sql } from 'kysely';
import { isPostgres, timeType } from './_dialect.js';

/**
 * Merchant webhooks (issue 14): the endpoints merchants register (per environment; secrets sealed
 * at rest), the dispatch queue that turns each domain event into deliveries exactly once, one
 * delivery per message and endpoint (the work row the delivery worker claims, webhook-id stable
 * across retries) and the append-only attempt log.
 *
 * API keys created with every scope before this migration get the two new webhook scopes: they
 * were made to have them all.
 */
const SCOPES_BEFORE = ['catalog:read', 'catalog:write', 'checkout:write', 'customers:read', 'customers:write', 'invoice:read', 'usage:read', 'usage:write'];

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    // api: registered through /webhook-endpoints | profile: the merchant's webhookUrl (live)
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // JSON array of event types, or ["*"] for every type.
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    // gone (410) | failing (days of failures) | merchant (turned off) | null while enabled
    .addColumn('disabled_reason', 'text')
    .addColumn('disabled_detail', 'text')
    .addColumn('disabled_at', timeType(db))
    // When the current run of failed attempts began (null after any success).
    .addColumn('failing_since', timeType(db))
    // whsec_… sealed with the data key (AES-256-GCM, bound to the endpoint id): HMAC needs it back.
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('previous_secret_enc', 'text')
    .addColumn('previous_secret_expires_at', timeType(db))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addColumn('deleted_at', timeType(db))
    .execute();
  await db.schema.createIndex('webhook_endpoints_merchant').on('webhook_endpoints').columns(['merchant_id', 'environment', 'id']).execute();
  // One profile endpoint per merchant and environment.
  await db.schema
    .createIndex('webhook_endpoints_one_profile')
    .on('webhook_endpoints')
    .columns(['merchant_id', 'environment'])
    .unique()
    .where(sql.ref('source'), '=', 'profile')
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();

  // The fan-out queue: one row per domain event, written in the event's transaction, claimed
  // with core/db/claim.ts and deleted once its deliveries exist.
  await db.schema
    .createTable('webhook_dispatch')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('due_at', timeType(db), (c) => c.notNull())
    .addColumn('leased_until', timeType(db))
    .addColumn('leased_by', 'text')
    .execute();
  await db.schema.createIndex('webhook_dispatch_due').on('webhook_dispatch').columns(['due_at', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    // The webhook-id header and the payload's id: the domain event's id (or the test message's).
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    // The object the event is about (invoice id, …): deliveries about one object go in order.
    .addColumn('subject_id', 'text')
    // The exact body sent at every attempt.
    .addColumn('payload', 'text', (c) => c.notNull())
    // pending | succeeded | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    // Attempts since the delivery was (re)started: the retry schedule's position.
    .addColumn('run_attempts', 'integer', (c) => c.notNull())
    .addColumn('due_at', timeType(db), (c) => c.notNull())
    .addColumn('leased_until', timeType(db))
    .addColumn('leased_by', 'text')
    .addColumn('last_attempt_at', timeType(db))
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('succeeded_at', timeType(db))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .execute();
  // Exactly one delivery of a message to an endpoint, however often fan-out runs.
  await db.schema.createIndex('webhook_deliveries_message_endpoint').on('webhook_deliveries').columns(['message_id', 'endpoint_id']).unique().execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['due_at', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_merchant').on('webhook_deliveries').columns(['merchant_id', 'environment', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_status').on('webhook_deliveries').columns(['status', 'id']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id'))
    .addColumn('endpoint_id', 'text', (c) => c.notNull())
    .addColumn('attempted_at', timeType(db), (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    // The address connected to (after the SSRF check), null when refused before connecting.
    .addColumn('address', 'text')
    // succeeded | failed | refused (SSRF) | abandoned (a late answer after the lease was lost)
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('response_excerpt', 'text')
    .addColumn('error', 'text')
    .addColumn('worker', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'attempted_at']).execute();

  // The attempt log is evidence of what was sent: append-only, like the audit log.
  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION webhook_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the webhook attempt log is append-only (%)', TG_TABLE_NAME;
      END
      $$`.execute(db);
    await sql`CREATE TRIGGER webhook_attempts_no_update BEFORE UPDATE ON webhook_attempts FOR EACH ROW EXECUTE FUNCTION webhook_attempts_append_only()`.execute(db);
    await sql`CREATE TRIGGER webhook_attempts_no_delete BEFORE DELETE ON webhook_attempts FOR EACH ROW EXECUTE FUNCTION webhook_attempts_append_only()`.execute(db);
  } else {
    await sql`CREATE TRIGGER webhook_attempts_no_update BEFORE UPDATE ON webhook_attempts BEGIN SELECT RAISE(ABORT, 'the webhook attempt log is append-only (webhook_attempts)'); END`.execute(
      db,
    );
    await sql`CREATE TRIGGER webhook_attempts_no_delete BEFORE DELETE ON webhook_attempts BEGIN SELECT RAISE(ABORT, 'the webhook attempt log is append-only (webhook_attempts)'); END`.execute(
      db,
    );
  }

  const keys = await db.selectFrom('merchant_api_keys').select(['id', 'scopes']).execute();
  for (const key of keys) {
    const scopes = JSON.parse(key.scopes) as string[];
    if (!SCOPES_BEFORE.every((s) => scopes.includes(s))) continue;
    const widened = [...new Set([...scopes, 'webhooks:read', 'webhooks:write'])].sort();
    await db
      .updateTable('merchant_api_keys')
      .set({ scopes: JSON.stringify(widened) })
      .where('id', '=', key.id)
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`DROP TRIGGER IF EXISTS webhook_attempts_no_update ON webhook_attempts`.execute(db);
    await sql`DROP TRIGGER IF EXISTS webhook_attempts_no_delete ON webhook_attempts`.execute(db);
    await sql`DROP FUNCTION IF EXISTS webhook_attempts_append_only()`.execute(db);
  }
  await db.schema.dropTable('webhook_attempts').execute();
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhook_dispatch').execute();
  await db.schema.dropTable('webhook_endpoints').execute();
}
