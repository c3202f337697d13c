import type { Kysely } from 'kysely';
import type { CoreContext } from '../context/index.js';
import type { Database, Db } from './index.js';

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
 * A transaction that does not take the global write lock on PostgreSQL (`Db.lockFreeKysely`):
 * for work made safe by its own row locks, such as claiming work-queue rows with
 * `FOR UPDATE SKIP LOCKED` (claim.ts) — many workers on many replicas claim at once instead of
 * queueing behind invoice runs and ledger postings. Domain writes use `inTransaction`.
 *
 * It cannot join a domain transaction (that one holds the write lock, or on SQLite the one
 * connection: nesting would wait for itself), so it refuses to start inside one.
 */
export async function inLockFreeTransaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (db.kysely.isTransaction) throw new Error('inLockFreeTransaction: cannot run inside a domain transaction');
  return (db.lockFreeKysely ?? db.kysely).transaction().execute(fn);
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
