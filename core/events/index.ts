import type { CoreContext, Environment } from '../context/index.js';
import { compiledInsert } from '../db/compiled.js';
import type { DomainEventsTable } from './tables.js';

export type * from './tables.js';

/**
 * The domain event outbox: one place where a state change says "also announce X". The row is
 * written in the same database transaction as the change, so it exists exactly when the change
 * committed — never for a change rolled back, never missing for one that committed. Delivering
 * events to merchants (webhooks, core/webhooks) starts from the `webhook_dispatch` row written
 * beside each event, in the same transaction: a queue the fan-out claims, so an event committed
 * late (commit order is not id order across replicas) is never skipped by a cursor.
 */

const insertEvent = compiledInsert('domain_events', ['id', 'type', 'merchant_id', 'environment', 'created_at', 'data']);
/** The webhook fan-out queue (core/webhooks dispatch.ts): one row per event, in the same transaction. */
const insertDispatch = compiledInsert('webhook_dispatch', ['id', 'due_at']);

export const DOMAIN_EVENT_TYPES = ['invoice.finalized', 'invoice.paid', 'invoice.refunded', 'invoice.voided', 'payout.completed', 'merchant.registered'] as const;
export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

export interface DomainEvent<T = unknown> {
  id: string;
  type: DomainEventType;
  merchant: string;
  environment: Environment;
  createdAt: string;
  /** The object as the API returns it. */
  data: T;
}

/**
 * Records an event inside the caller's transaction. Called outside one it throws: an event
 * written on its own could outlive a change that rolls back, or be lost after one that commits.
 */
export async function recordEvent<T>(ctx: CoreContext, event: { type: DomainEventType; merchantId: string; environment: Environment; data: T }): Promise<DomainEvent<T>> {
  if (!ctx.db.kysely.isTransaction) throw new Error(`recordEvent(${event.type}) must run inside the transaction of the change it announces`);
  if (!(DOMAIN_EVENT_TYPES as readonly string[]).includes(event.type)) throw new Error(`Unknown domain event type ${event.type}`);
  const row: DomainEventsTable = {
    id: ctx.ids.next('event'),
    type: event.type,
    merchant_id: event.merchantId,
    environment: event.environment,
    created_at: ctx.clock.now().toISOString(),
    data: JSON.stringify(event.data),
  };
  await insertEvent(ctx.db.kysely, row);
  await insertDispatch(ctx.db.kysely, { id: row.id, due_at: row.created_at });
  return { id: row.id, type: event.type, merchant: row.merchant_id, environment: row.environment, createdAt: row.created_at, data: event.data };
}

function toEvent(r: DomainEventsTable): DomainEvent {
  return { id: r.id, type: r.type as DomainEventType, merchant: r.merchant_id, environment: r.environment, createdAt: r.created_at, data: JSON.parse(r.data) };
}

/** Events oldest first (ids are time-ordered), optionally after a given id: what a delivery worker reads. */
export async function listEvents(
  ctx: CoreContext,
  filter: { merchantId?: string; environment?: Environment; type?: DomainEventType; afterId?: string; limit: number },
): Promise<DomainEvent[]> {
  let q = ctx.db.kysely.selectFrom('domain_events').selectAll().orderBy('id').limit(filter.limit);
  if (filter.merchantId) q = q.where('merchant_id', '=', filter.merchantId);
  if (filter.environment) q = q.where('environment', '=', filter.environment);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.afterId) q = q.where('id', '>', filter.afterId);
  return (await q.execute()).map(toEvent);
}
