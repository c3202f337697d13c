import { type Kysely, sql } from 'kysely';
import { isPostgres } from './_dialect.js';

/**
 * SQLite: the per-customer usage index (usage_by_customer and its cursor usage_index_state) moves
 * out of the database into a file of its own beside it, attached as `usage_index` (see
 * core/db/usage-index-file.ts for why: indexing no longer takes the write lock ingestion needs).
 * The tables here are dropped; the indexer rebuilds the copy in the new file from the first
 * event (readers add the unindexed tail meanwhile, so every answer stays exact).
 *
 * PostgreSQL keeps both tables in the database: it has no per-file write lock to escape.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) return;
  await sql`DROP TABLE main.usage_by_customer`.execute(db);
  await sql`DROP TABLE main.usage_index_state`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) return;
  await sql`CREATE TABLE main.usage_by_customer (customer integer NOT NULL, occurred_at integer NOT NULL, seq integer NOT NULL, metric integer NOT NULL, quantity text NOT NULL, dimensions integer NOT NULL, CONSTRAINT usage_by_customer_pk PRIMARY KEY (customer, occurred_at, seq)) WITHOUT ROWID`.execute(
    db,
  );
  await sql`CREATE TABLE main.usage_index_state (name text PRIMARY KEY, last_seq integer NOT NULL)`.execute(db);
  await sql`INSERT INTO main.usage_index_state (name, last_seq) VALUES ('usage_by_customer', 0)`.execute(db);
}
