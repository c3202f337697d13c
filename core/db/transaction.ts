import type { CoreContext } from '../context/index.js';

/**
 * The one transaction helper. Nested calls join the outer transaction, so a state change, its
 * ledger postings and its outgoing events can be composed from separate functions and still
 * commit or roll back together.
 *
 * Do not call `db.exclusive` inside: the transaction already holds the connection.
 */
export async function inTransaction<T>(ctx: CoreContext, fn: (tx: CoreContext) => Promise<T>): Promise<T> {
  if (ctx.db.kysely.isTransaction) return fn(ctx);
  return ctx.db.kysely.transaction().execute((trx) => fn({ ...ctx, db: { ...ctx.db, kysely: trx } }));
}
