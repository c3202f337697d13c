import type { Kysely } from 'kysely';

/**
 * The audit log's hash input gets a version. Entries written before this migration were hashed
 * over a canonical JSON that let JavaScript put integer-like keys first (version 1); new entries
 * use RFC 8785 (version 2). Existing rows keep version 1 — the default — so their chain still
 * verifies. Adding a column with a default is not an UPDATE: the append-only triggers stay.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('audit_log')
    .addColumn('hash_version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_log').dropColumn('hash_version').execute();
}
