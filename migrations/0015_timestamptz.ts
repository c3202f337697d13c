import { type Kysely, sql } from 'kysely';
import { isPostgres } from './_dialect.js';

/**
 * PostgreSQL: every time column becomes `timestamptz` (SQLite keeps ISO-8601 text, which is what
 * it has for times). Until now times were text on both engines, because the audit log's and the
 * ledger's hash chains cover time values byte for byte and a round trip through `timestamptz` was
 * feared to change their spelling. It does not, for the one spelling the domain writes:
 * `Date#toISOString()` (UTC, milliseconds, `Z`) goes in, `timestamptz` keeps microseconds, and
 * the pool's parser (core/db/postgres.ts) gives back `toISOString()` of what was stored — the same
 * text. Every time the domain stores is produced that way (inputs are parsed and re-rendered
 * before they are stored or hashed; the chain tests on PostgreSQL prove it), so the chains verify
 * and the database now compares, indexes and validates times as times.
 *
 * The columns are found by name (…_at, …_until, period_start, period_end) among the text columns
 * of this schema, so every time column that exists when this runs is converted; each is listed
 * in the log line. Usage event times are already `bigint` milliseconds and are not touched.
 * Triggers do not fire on ALTER TABLE, so append-only tables convert like the others.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT c.table_name, c.column_name
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
    WHERE c.table_schema = current_schema()
      AND c.data_type = 'text'
      AND (c.column_name LIKE '%\\_at' OR c.column_name LIKE '%\\_until' OR c.column_name IN ('period_start', 'period_end'))
      AND c.table_name NOT LIKE 'kysely\\_%'
    ORDER BY c.table_name, c.column_name`.execute(db);
  const byTable = new Map<string, string[]>();
  for (const r of rows) byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), r.column_name]);
  for (const [table, columns] of byTable) {
    // One ALTER per table: one rewrite of it, however many of its columns change.
    const clauses = columns.map((c) => sql`ALTER COLUMN ${sql.ref(c)} TYPE timestamptz USING ${sql.ref(c)}::timestamptz`);
    await sql`ALTER TABLE ${sql.table(table)} ${sql.join(clauses, sql`, `)}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  // Back to the canonical text form (what the domain wrote before), column by column.
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
    WHERE c.table_schema = current_schema() AND c.data_type = 'timestamp with time zone'
    ORDER BY c.table_name, c.column_name`.execute(db);
  for (const r of rows) {
    await sql`ALTER TABLE ${sql.table(r.table_name)} ALTER COLUMN ${sql.ref(r.column_name)} TYPE text USING to_char(${sql.ref(r.column_name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.execute(
      db,
    );
  }
}
