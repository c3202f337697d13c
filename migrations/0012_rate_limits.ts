import type { Kysely } from 'kysely';
import { int64Type } from './_dialect.js';

/**
 * Rate-limit counters kept in the database, so that replicas on one PostgreSQL database share
 * them (login and signup attempts spread over several servers count against one limit). One row
 * per (limiter, client key): the fixed window opens with the client's first attempt
 * (`window_start`) and ends at `expires_at`, both epoch milliseconds. The counter is bumped by
 * one atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING` (core/rate-limits); expired rows are
 * purged. Created on both engines (one schema), though SQLite — one machine — counts in memory.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_windows')
    .addColumn('limiter', 'text', (c) => c.notNull())
    .addColumn('client_key', 'text', (c) => c.notNull())
    .addColumn('window_start', int64Type(db), (c) => c.notNull())
    .addColumn('expires_at', int64Type(db), (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_windows_pk', ['limiter', 'client_key'])
    .execute();
  // The purge deletes by expiry.
  await db.schema.createIndex('rate_limit_windows_expiry').on('rate_limit_windows').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_windows').execute();
}
