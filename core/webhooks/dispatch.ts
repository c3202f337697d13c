import type { CoreContext } from '../context/index.js';
import { claimDueRows } from '../db/claim.js';
import { inTransaction } from '../db/transaction.js';
import { insertDelivery, messageOfEvent } from './deliveries.js';
import { PROFILE_ENVIRONMENT, subscribes, syncProfileEndpoint } from './endpoints.js';
import type { WebhookDispatchTable } from './tables.js';

/**
 * Fan-out: every domain event becomes one delivery per enabled endpoint of its merchant and
 * environment that subscribes to its type — exactly once. recordEvent writes a `webhook_dispatch`
 * row in the event's own transaction; fan-out claims those rows (core/db/claim.ts, leases), and
 * for each event, in the transaction of its claimed chunk, inserts the deliveries (unique per
 * message and endpoint, so a repeat after a crash or a lost lease adds nothing) and deletes the
 * dispatch row. Because the queue holds exactly the events not yet fanned out, an event that
 * commits after a later-numbered one (two replicas, two transactions) is never skipped, as a
 * cursor over ids could.
 *
 * Endpoints are those enabled when the event is fanned out (normally a moment after it commits).
 */
export const DISPATCH_LEASE_MS = 60_000;

export async function fanOutEvents(ctx: CoreContext, options: { worker: string; limit?: number }): Promise<{ events: number; deliveries: number }> {
  const claimed = await claimDueRows<WebhookDispatchTable>(ctx.db, {
    table: 'webhook_dispatch',
    worker: options.worker,
    limit: options.limit ?? 100,
    now: ctx.clock.now(),
    leaseMs: DISPATCH_LEASE_MS,
  });
  if (claimed.length === 0) return { events: 0, deliveries: 0 };
  // The claimed events in ONE transaction: a month-end invoice run makes thousands of events, and
  // a transaction each was a commit (an fsync, and on PostgreSQL the write lock every transaction
  // takes) per event — in the way of usage ingestion, which needs the same lock. If any event of
  // the chunk fails, nothing of the chunk is committed, and they are fanned out one transaction
  // each as before, so a failing event holds up no other (it is retried when its lease lapses).
  let deliveries: number;
  try {
    deliveries = await inTransaction(ctx, async (tx) => {
      let made = 0;
      for (const row of claimed) made += await fanOutOne(tx, row.id);
      return made;
    });
  } catch {
    deliveries = 0;
    let failure: unknown;
    for (const row of claimed) {
      try {
        deliveries += await inTransaction(ctx, (tx) => fanOutOne(tx, row.id));
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
  return { events: claimed.length, deliveries };
}

/** One event's deliveries, and its dispatch row deleted, in the caller's transaction. */
async function fanOutOne(tx: CoreContext, id: string): Promise<number> {
  const k = tx.db.kysely;
  let made = 0;
  const event = await k.selectFrom('domain_events').selectAll().where('id', '=', id).executeTakeFirst();
  if (event) {
    if (event.environment === PROFILE_ENVIRONMENT) {
      // Merchants whose webhookUrl was set before webhooks were delivered get their profile endpoint now.
      const merchant = await k.selectFrom('merchants').select('webhook_url').where('id', '=', event.merchant_id).executeTakeFirst();
      if (merchant?.webhook_url) {
        const profile = await k
          .selectFrom('webhook_endpoints')
          .select('id')
          .where('merchant_id', '=', event.merchant_id)
          .where('environment', '=', PROFILE_ENVIRONMENT)
          .where('source', '=', 'profile')
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (!profile) await syncProfileEndpoint(tx, event.merchant_id, merchant.webhook_url);
      }
    }
    const endpoints = await k
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('merchant_id', '=', event.merchant_id)
      .where('environment', '=', event.environment)
      .where('enabled', '=', 1)
      .where('deleted_at', 'is', null)
      .orderBy('id')
      .execute();
    const message = messageOfEvent(event);
    for (const endpoint of endpoints) {
      if (subscribes(endpoint, event.type) && (await insertDelivery(tx, endpoint, message))) made++;
    }
  }
  await k.deleteFrom('webhook_dispatch').where('id', '=', id).execute();
  return made;
}
