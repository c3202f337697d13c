import type { CoreContext } from '../context/index.js';

/**
 * The one transaction helper. Nested calls join the outer transaction, so a state change, its
 * ledger postings and its outgoing events can be composed from separate functions and still
 * commit or roll back together.
 *
 * One writer at a time on both engines: SQLite's `BEGIN IMMEDIATE`, and on PostgreSQL the write
 * lock every transaction takes first (core/db/postgres.ts) — so "read, then write" inside `fn` is
 * never interleaved with another transaction, whichever process runs it.
 *
 * Do not call `db.exclusive` (SQLite) inside: the transaction already holds the connection. Do
 * not start an unrelated transaction from inside either (use `tx`): it would wait for this one.
 */
export async function inTransaction<T>(ctx: CoreContext, fn: (tx: CoreContext) => Promise<T>): Promise<T> {
  if (ctx.db.kysely.isTransaction) return fn(ctx);
  return ctx.db.kysely.transaction().execute((trx) => fn({ ...ctx, db: { ...ctx.db, kysely: trx } }));
}

/**
 * Runs `fn` on one consistent read snapshot that never takes the write lock: a READ ONLY
 * transaction (SQLite: a deferred `BEGIN`, one WAL snapshot; PostgreSQL: REPEATABLE READ READ
 * ONLY, without the write lock every other transaction takes). For reads that must see several
 * tables at one instant but write nothing (usage totals: index up to its cursor + the tail).
 * Inside an open transaction it joins it, so a caller that reads under the write lock on purpose
 * (invoicing, consistent with usage_locked_until) keeps doing so.
 */
export async function readSnapshot<T>(ctx: CoreContext, fn: (tx: CoreContext) => Promise<T>): Promise<T> {
  if (ctx.db.kysely.isTransaction) return fn(ctx);
  return ctx.db.kysely
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => fn({ ...ctx, db: { ...ctx.db, kysely: trx } }));
}
