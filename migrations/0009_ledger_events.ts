import { type Kysely, sql } from 'kysely';
import { decimalType, int64Type, isPostgres } from './_dialect.js';

/**
 * The money core's storage: the append-only double-entry ledger (accounts, transactions, entries,
 * every entry hash-chained to the one before) and the domain event outbox.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // type:merchant:environment:currency:channel — one account per combination, never two.
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('normal_side', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('channel', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_accounts_merchant').on('ledger_accounts').columns(['merchant_id', 'environment']).execute();

  await db.schema
    .createTable('ledger_transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('cause_type', 'text', (c) => c.notNull())
    .addColumn('cause_id', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    // A transaction is reversed at most once; the reversal names what it undoes.
    .addColumn('reverses_tx_id', 'text', (c) => c.unique().references('ledger_transactions.id'))
    .addColumn('effective_at', 'text', (c) => c.notNull())
    .addColumn('posted_at', 'text', (c) => c.notNull())
    .addColumn('posted_by', 'text')
    // SHA-256 of the canonical transaction header; each of its entries' hashes covers it.
    .addColumn('header_hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_transactions_cause').on('ledger_transactions').columns(['cause_type', 'cause_id']).execute();
  await db.schema.createIndex('ledger_transactions_posted').on('ledger_transactions').columns(['posted_at']).execute();

  await db.schema
    .createTable('ledger_entries')
    // 1, 2, 3 … with no gaps, across all transactions: the chain order.
    .addColumn('seq', int64Type(db), (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('tx_id', 'text', (c) => c.notNull().references('ledger_transactions.id'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('ledger_accounts.id'))
    .addColumn('side', 'text', (c) => c.notNull())
    // A positive whole number of minor units, as decimal text (never a float).
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('effective_at', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_entries_account').on('ledger_entries').columns(['account_id', 'effective_at']).execute();
  await db.schema.createIndex('ledger_entries_tx').on('ledger_entries').columns(['tx_id']).execute();

  await db.schema
    .createTable('domain_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // The object as the API returns it, JSON.
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domain_events_merchant').on('domain_events').columns(['merchant_id', 'environment', 'id']).execute();

  // Append-only, enforced by the database: corrections are reversing transactions.
  const tables = ['ledger_accounts', 'ledger_transactions', 'ledger_entries'];
  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the ledger is append-only (%)', TG_TABLE_NAME;
      END
      $$`.execute(db);
    for (const t of tables) {
      await sql.raw(`CREATE TRIGGER ${t}_no_update BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()`).execute(db);
      await sql.raw(`CREATE TRIGGER ${t}_no_delete BEFORE DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()`).execute(db);
      await sql.raw(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()`).execute(db);
    }
  } else {
    for (const t of tables) {
      await sql.raw(`CREATE TRIGGER ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, 'the ledger is append-only (${t})'); END`).execute(db);
      await sql.raw(`CREATE TRIGGER ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, 'the ledger is append-only (${t})'); END`).execute(db);
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const tables = ['ledger_entries', 'ledger_transactions', 'ledger_accounts'];
  for (const t of tables) {
    if (isPostgres(db)) {
      for (const op of ['update', 'delete', 'truncate']) await sql.raw(`DROP TRIGGER IF EXISTS ${t}_no_${op} ON ${t}`).execute(db);
    } else {
      for (const op of ['update', 'delete']) await sql.raw(`DROP TRIGGER IF EXISTS ${t}_no_${op}`).execute(db);
    }
  }
  if (isPostgres(db)) await sql`DROP FUNCTION IF EXISTS ledger_append_only()`.execute(db);
  await db.schema.dropTable('domain_events').execute();
  for (const t of tables) await db.schema.dropTable(t).execute();
}
