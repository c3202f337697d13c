import type { CoreContext } from '../context/index.js';

/**
 * Deletes Idempotency-Key records whose 24 hours are over. The SQLite writer also purges a
 * bounded slice opportunistically (at most once a minute, inside a group transaction); this is
 * the dialect-neutral function for schedulers, the CLI and tests. Expired records are ignored
 * on lookup anyway, so purging is about space, never correctness.
 */
export async function purgeExpiredIdempotencyRecords(ctx: CoreContext): Promise<number> {
  const result = await ctx.db.kysely.deleteFrom('idempotency_records').where('expires_at', '<=', ctx.clock.now().toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
