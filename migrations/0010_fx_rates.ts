import { type Kysely, sql } from 'kysely';
import { decimalType, isPostgres } from './_dialect.js';

/**
 * FX rates kept by finance: never edited, only superseded by a later one. The rate in force for a
 * pair at an instant is the one with the latest effective time at or before it (the later entry
 * wins a tie). Invoices keep the rows they used by id, so these rows must never change.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('fx_rates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('base', 'text', (c) => c.notNull())
    .addColumn('quote', 'text', (c) => c.notNull())
    // Units of `quote` per unit of `base`, a decimal string (never a float).
    .addColumn('rate', decimalType(db), (c) => c.notNull())
    .addColumn('effective_at', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('entered_by', 'text')
    .addColumn('import_batch', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fx_rates_pair_time').on('fx_rates').columns(['base', 'quote', 'effective_at', 'created_at']).execute();
  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION fx_rates_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'fx_rates is append-only: supersede a rate with a later one';
      END
      $$`.execute(db);
    await sql`CREATE TRIGGER fx_rates_no_update BEFORE UPDATE ON fx_rates FOR EACH ROW EXECUTE FUNCTION fx_rates_append_only()`.execute(db);
    await sql`CREATE TRIGGER fx_rates_no_delete BEFORE DELETE ON fx_rates FOR EACH ROW EXECUTE FUNCTION fx_rates_append_only()`.execute(db);
  } else {
    await sql`CREATE TRIGGER fx_rates_no_update BEFORE UPDATE ON fx_rates BEGIN SELECT RAISE(ABORT, 'fx_rates is append-only: supersede a rate with a later one'); END`.execute(db);
    await sql`CREATE TRIGGER fx_rates_no_delete BEFORE DELETE ON fx_rates BEGIN SELECT RAISE(ABORT, 'fx_rates is append-only: supersede a rate with a later one'); END`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`DROP TRIGGER IF EXISTS fx_rates_no_update ON fx_rates`.execute(db);
    await sql`DROP TRIGGER IF EXISTS fx_rates_no_delete ON fx_rates`.execute(db);
    await sql`DROP FUNCTION IF EXISTS fx_rates_append_only()`.execute(db);
  }
  await db.schema.dropTable('fx_rates').execute();
}
