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

/**
 * Money (integer minor units) and quantities, and exact decimals (FX rates, unrounded amounts):
 * `numeric` on PostgreSQL — exact, any size, summed and compared as numbers, read back as the
 * decimal text it was given (the pool's type parser keeps it a string) — and TEXT on SQLite,
 * whose INTEGER stops at 2^63 and whose REAL is a float.
 */
export function decimalType(db: Kysely<any>): 'numeric' | 'text' {
  return isPostgres(db) ? 'numeric' : 'text';
}

/**
 * A 64-bit integer column: `bigint` on PostgreSQL (its `integer` is 32-bit; read back as a
 * string, which the domain turns into a number where it must), `integer` on SQLite (always 64-bit).
 */
export function int64Type(db: Kysely<any>): 'bigint' | 'integer' {
  return isPostgres(db) ? 'bigint' : 'integer';
}

/**
 * A time column: `timestamptz` on PostgreSQL (migration 0015 converted the earlier ones), ISO-8601
 * UTC text on SQLite. Either way the domain writes and reads `Date#toISOString()` text (the pool's
 * parser renders timestamptz back that way), so hashes over times are the same on both.
 */
export function timeType(db: Kysely<any>): 'timestamptz' | 'text' {
  return isPostgres(db) ? 'timestamptz' : 'text';
}
