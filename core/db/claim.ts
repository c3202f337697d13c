import { sql } from 'kysely';
import type { Db } from './index.js';
import { inLockFreeTransaction } from './transaction.js';

/**
 * Claiming due rows of a work table (the webhook outbox, deliveries) for one worker, so that
 * workers in several processes on several machines share the work without doing any row twice.
 *
 * A work table has at least: `id` (primary key), `due_at` (ISO-8601 UTC text: when the row may
 * be worked), `leased_until` (ISO text or null) and `leased_by` (text or null). A row is claimable
 * when it is due and not leased, or its lease has expired (its worker died or hung: the work is
 * retried — so working a row must be safe to repeat, as webhook deliveries are).
 *
 * One lock-free transaction (`inLockFreeTransaction`: no global write lock) selects up to `limit`
 * claimable rows, oldest due first, and marks them leased to `worker` until `now + leaseMs`.
 * Where the database has `supportsSkipLocked` (PostgreSQL) the select is `FOR UPDATE SKIP
 * LOCKED`: a claimer skips rows another claimer is taking right now instead of waiting for them
 * or taking them too, so concurrent claimers proceed in parallel on disjoint rows. Without it
 * (SQLite) the transaction is `BEGIN IMMEDIATE`: claimers take turns, one machine anyway.
 */
export interface ClaimRequest {
  /** The work table (an identifier of this codebase, never user input). */
  table: string;
  /** Who claims: recorded in `leased_by` (e.g. `buffmoney:server:<pid>`). */
  worker: string;
  limit: number;
  now: Date;
  leaseMs: number;
}

export async function claimDueRows<Row extends { id: string } = { id: string } & Record<string, unknown>>(db: Db, request: ClaimRequest): Promise<Row[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(request.table)) throw new Error(`claimDueRows: not a table name: ${request.table}`);
  if (!(Number.isInteger(request.limit) && request.limit >= 1)) throw new Error(`claimDueRows: limit must be a positive whole number, got ${request.limit}`);
  const now = request.now.toISOString();
  const until = new Date(request.now.getTime() + request.leaseMs).toISOString();
  const table = sql.table(request.table);
  const skipLocked = db.capabilities.supportsSkipLocked ? sql` for update skip locked` : sql``;
  // A look first, outside any transaction: most polls find nothing due, and on SQLite the claim's
  // transaction is `BEGIN IMMEDIATE` — the file's write lock, which the usage writer thread needs
  // for every commit and the HTTP thread would wait for synchronously. A row that becomes due
  // after the look is claimed at the next poll.
  const anyDue = await sql<{ id: string }>`
    select id from ${table}
     where due_at <= ${now} and (leased_until is null or leased_until <= ${now})
     limit 1`.execute(db.kysely);
  if (anyDue.rows.length === 0) return [];
  return inLockFreeTransaction(db, async (trx) => {
    const due = await sql<{ id: string }>`
      select id from ${table}
       where due_at <= ${now} and (leased_until is null or leased_until <= ${now})
       order by due_at, id
       limit ${request.limit}${skipLocked}`.execute(trx);
    if (due.rows.length === 0) return [];
    const ids = due.rows.map((r) => r.id);
    const claimed = await sql<Row>`
      update ${table} set leased_until = ${until}, leased_by = ${request.worker}
       where id in (${sql.join(ids)})
       returning *`.execute(trx);
    return claimed.rows.sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
  });
}
