import { type Kysely, sql } from 'kysely';
import { int64Type, isPostgres, timeType } from './_dialect.js';

/**
 * On-chain registration (issue 16).
 *
 * - `merchants.intent_*`: the pending register-intent — what the merchant asked to register,
 *   overwritten by a later call. Kept apart from the confirmed V2 columns (`receiver_address`,
 *   `metadata_hash`, `chain_id`, …), which only the chain listener writes: an intent is a wish, and
 *   an unconfirmed receiver must never count as a settlement destination nor show as registered.
 * - `chain_cursors`: per chain (and contract), the next block the listener will read. It moves
 *   in the same transaction as the logs it covered are applied, so a restart resumes exactly.
 * - `chain_logs`: every contract log the listener applied, once — unique on
 *   (chain_id, tx_hash, log_index) — with what it did (`applied`, `unmatched`, `ignored`).
 *   Append-only evidence, like the audit log; staff review of an unmatched registration is a row
 *   in `chain_log_reviews`, not an edit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('merchants').addColumn('intent_receiver_address', 'text').execute();
  await db.schema.alterTable('merchants').addColumn('intent_metadata_hash', 'text').execute();
  await db.schema.alterTable('merchants').addColumn('intent_metadata_json', 'text').execute();
  await db.schema.alterTable('merchants').addColumn('intent_chain_id', 'integer').execute();
  await db.schema.alterTable('merchants').addColumn('intent_at', timeType(db)).execute();
  await db.schema.createIndex('merchants_intent_match').on('merchants').columns(['intent_chain_id', 'intent_metadata_hash']).execute();

  await db.schema
    .createTable('chain_cursors')
    .addColumn('chain_id', 'integer', (c) => c.notNull())
    // EIP-55 address of the SubscriptionManager the cursor reads; a new contract starts afresh
    .addColumn('contract_address', 'text', (c) => c.notNull())
    // the next block to read (everything below it is applied)
    .addColumn('next_block', int64Type(db), (c) => c.notNull())
    // what the listener last saw, for chain:status (head, the safe block it may read to)
    .addColumn('head_block', int64Type(db))
    .addColumn('safe_block', int64Type(db))
    .addColumn('last_error', 'text')
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('chain_cursors_pk', ['chain_id', 'contract_address'])
    .execute();

  await db.schema
    .createTable('chain_logs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('chain_id', 'integer', (c) => c.notNull())
    .addColumn('contract_address', 'text', (c) => c.notNull())
    .addColumn('tx_hash', 'text', (c) => c.notNull())
    .addColumn('log_index', 'integer', (c) => c.notNull())
    .addColumn('block_number', int64Type(db), (c) => c.notNull())
    .addColumn('block_hash', 'text', (c) => c.notNull())
    .addColumn('block_time', timeType(db), (c) => c.notNull())
    // MerchantRegistered | MerchantActiveChanged | ReceiverUpdated
    .addColumn('event', 'text', (c) => c.notNull())
    // the decoded arguments, as JSON (uint256 as decimal strings, addresses EIP-55)
    .addColumn('args', 'text', (c) => c.notNull())
    .addColumn('on_chain_merchant_id', 'text')
    // the BuffMoney merchant it was applied to, when one matched
    .addColumn('merchant_id', 'text')
    // applied | unmatched | ignored
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('applied_at', timeType(db), (c) => c.notNull())
    .addUniqueConstraint('chain_logs_once', ['chain_id', 'tx_hash', 'log_index'])
    .execute();
  await db.schema.createIndex('chain_logs_outcome').on('chain_logs').columns(['outcome', 'chain_id', 'block_number']).execute();
  await db.schema.createIndex('chain_logs_merchant').on('chain_logs').columns(['chain_id', 'on_chain_merchant_id']).execute();

  await db.schema
    .createTable('chain_log_reviews')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('chain_log_id', 'text', (c) => c.notNull().references('chain_logs.id'))
    .addColumn('staff_id', 'text', (c) => c.notNull())
    // e.g. dismissed | matched
    .addColumn('resolution', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text')
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('chain_log_reviews_log').on('chain_log_reviews').columns(['chain_log_id']).execute();

  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION chain_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the chain log is append-only (%)', TG_TABLE_NAME;
      END
      $$`.execute(db);
    for (const t of ['chain_logs', 'chain_log_reviews']) {
      await sql`CREATE TRIGGER ${sql.raw(`${t}_no_update`)} BEFORE UPDATE ON ${sql.table(t)} FOR EACH ROW EXECUTE FUNCTION chain_logs_append_only()`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${t}_no_delete`)} BEFORE DELETE ON ${sql.table(t)} FOR EACH ROW EXECUTE FUNCTION chain_logs_append_only()`.execute(db);
    }
  } else {
    for (const t of ['chain_logs', 'chain_log_reviews']) {
      const msg = sql.lit(`the chain log is append-only (${t})`);
      await sql`CREATE TRIGGER ${sql.raw(`${t}_no_update`)} BEFORE UPDATE ON ${sql.table(t)} BEGIN SELECT RAISE(ABORT, ${msg}); END`.execute(db);
      await sql`CREATE TRIGGER ${sql.raw(`${t}_no_delete`)} BEFORE DELETE ON ${sql.table(t)} BEGIN SELECT RAISE(ABORT, ${msg}); END`.execute(db);
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    for (const t of ['chain_logs', 'chain_log_reviews']) {
      await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${t}_no_update`)} ON ${sql.table(t)}`.execute(db);
      await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${t}_no_delete`)} ON ${sql.table(t)}`.execute(db);
    }
    await sql`DROP FUNCTION IF EXISTS chain_logs_append_only()`.execute(db);
  }
  await db.schema.dropTable('chain_log_reviews').execute();
  await db.schema.dropTable('chain_logs').execute();
  await db.schema.dropTable('chain_cursors').execute();
  await db.schema.dropIndex('merchants_intent_match').execute();
  for (const c of ['intent_at', 'intent_chain_id', 'intent_metadata_json', 'intent_metadata_hash', 'intent_receiver_address']) {
    await db.schema.alterTable('merchants').dropColumn(c).execute();
  }
}
