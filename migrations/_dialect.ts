import type { Kysely } from 'kysely';

/**
 * Dialect facts migrations need. Lives beside the migrations (never imports app code) so each
 * migration stays frozen in time.
 *
 * The engine is told by what its Kysely adapter declares it can do, not by the adapter's class
 * name (a bundler renames classes in a packaged desktop build) nor by a connection URL. Of the
 * two engines BuffMoney runs on, PostgreSQL has transactional DDL and SQLite does not;
 * migrations/_dialect.test.ts pins that both adapters still say so.
 */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.supportsTransactionalDdl;
}

export function blobType(db: Kysely<any>): 'blob' | 'bytea' {
  return isPostgres(db) ? 'bytea' : 'blob';
}
