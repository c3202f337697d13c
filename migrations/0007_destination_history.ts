import { type Kysely, sql } from 'kysely';
import { isPostgres } from './_dialect.js';

/**
 * Where a merchant's money goes (receiving addresses, bank account, settlement currency) is
 * changed only deliberately, and every change leaves a trace: one append-only row per changed
 * field (who — which merchant credential —, before and after, when), and a stamp on the merchant
 * (`destination_changed_at`) that settlement reads to hold payouts during the cooling-off window.
 * Bank account numbers never appear here: before/after hold the masked view only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('merchants').addColumn('destination_changed_at', 'text').execute();

  await db.schema
    .createTable('merchant_destination_changes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('before_value', 'text')
    .addColumn('after_value', 'text')
    .addColumn('credential', 'text', (c) => c.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('api_key_prefix', 'text')
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merchant_destination_changes_merchant').on('merchant_destination_changes').columns(['merchant_id', 'id']).execute();

  // Append-only, enforced by the database (as audit_log): history that can be edited is no history.
  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION merchant_destination_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'merchant_destination_changes is append-only';
      END
      $$`.execute(db);
    await sql`CREATE TRIGGER merchant_destination_changes_no_update BEFORE UPDATE ON merchant_destination_changes FOR EACH ROW EXECUTE FUNCTION merchant_destination_changes_append_only()`.execute(
      db,
    );
    await sql`CREATE TRIGGER merchant_destination_changes_no_delete BEFORE DELETE ON merchant_destination_changes FOR EACH ROW EXECUTE FUNCTION merchant_destination_changes_append_only()`.execute(
      db,
    );
    await sql`CREATE TRIGGER merchant_destination_changes_no_truncate BEFORE TRUNCATE ON merchant_destination_changes FOR EACH STATEMENT EXECUTE FUNCTION merchant_destination_changes_append_only()`.execute(
      db,
    );
  } else {
    await sql`
      CREATE TRIGGER merchant_destination_changes_no_update BEFORE UPDATE ON merchant_destination_changes
      BEGIN SELECT RAISE(ABORT, 'merchant_destination_changes is append-only'); END`.execute(db);
    await sql`
      CREATE TRIGGER merchant_destination_changes_no_delete BEFORE DELETE ON merchant_destination_changes
      BEGIN SELECT RAISE(ABORT, 'merchant_destination_changes is append-only'); END`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`DROP TRIGGER IF EXISTS merchant_destination_changes_no_truncate ON merchant_destination_changes`.execute(db);
    await sql`DROP TRIGGER IF EXISTS merchant_destination_changes_no_delete ON merchant_destination_changes`.execute(db);
    await sql`DROP TRIGGER IF EXISTS merchant_destination_changes_no_update ON merchant_destination_changes`.execute(db);
    await sql`DROP FUNCTION IF EXISTS merchant_destination_changes_append_only()`.execute(db);
  } else {
    await sql`DROP TRIGGER IF EXISTS merchant_destination_changes_no_delete`.execute(db);
    await sql`DROP TRIGGER IF EXISTS merchant_destination_changes_no_update`.execute(db);
  }
  await db.schema.dropTable('merchant_destination_changes').execute();
  await db.schema.alterTable('merchants').dropColumn('destination_changed_at').execute();
}
