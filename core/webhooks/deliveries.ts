import type { z } from 'zod';
import type { CoreContext, MerchantScope } from '../context/index.js';
import type { DomainEventsTable } from '../events/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../errors/index.js';
import { type Page, decodeCursor, toPage } from '../pagination/index.js';
import { loadEndpointRow } from './endpoints.js';
import type { WebhookAttemptSchema, WebhookDeliveryDetail, WebhookDeliveryListQuery, WebhookDeliverySchema } from './schemas.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from './tables.js';

/**
 * Deliveries: one per message (a domain event, or a test message) and endpoint, made by fan-out
 * (dispatch.ts) or on demand (test, resend), worked by the delivery worker (deliver.ts).
 * A finished delivery (succeeded or failed) parks at due_at = PARKED_DUE_AT, so the generic
 * claim (core/db/claim.ts: due and not leased) never picks it up again until a resend.
 */
export const PARKED_DUE_AT = '9999-12-31T23:59:59.999Z';

type DeliveryView = z.infer<typeof WebhookDeliverySchema>;

/** The body of a delivery: `{ id, type, timestamp, data }`, data the object as the API returns it. */
export function webhookPayload(message: { id: string; type: string; timestamp: string; data: unknown }): string {
  return JSON.stringify({ id: message.id, type: message.type, timestamp: message.timestamp, data: message.data });
}

function subjectOf(data: unknown): string | null {
  if (data && typeof data === 'object') {
    const o = data as Record<string, unknown>;
    const id = o._id ?? o.id;
    if (typeof id === 'string') return id;
  }
  return null;
}

/** A pending delivery of `message` to `endpoint`, unless one exists already (the exactly-once key). */
export async function insertDelivery(
  ctx: CoreContext,
  endpoint: Pick<WebhookEndpointsTable, 'id' | 'merchant_id' | 'environment'>,
  message: { id: string; type: string; timestamp: string; data: unknown },
): Promise<string | null> {
  const now = ctx.clock.now().toISOString();
  const id = ctx.ids.next('whd');
  const inserted = await ctx.db.kysely
    .insertInto('webhook_deliveries')
    .values({
      id,
      endpoint_id: endpoint.id,
      merchant_id: endpoint.merchant_id,
      environment: endpoint.environment,
      message_id: message.id,
      event_type: message.type,
      subject_id: subjectOf(message.data),
      payload: webhookPayload(message),
      status: 'pending',
      attempts: 0,
      run_attempts: 0,
      due_at: now,
      leased_until: null,
      leased_by: null,
      last_attempt_at: null,
      last_status_code: null,
      last_error: null,
      succeeded_at: null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['message_id', 'endpoint_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted?.id ?? null;
}

export function messageOfEvent(event: DomainEventsTable) {
  return { id: event.id, type: event.type, timestamp: event.created_at, data: JSON.parse(event.data) as unknown };
}

export function deliveryView(r: WebhookDeliveriesTable): DeliveryView {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    eventType: r.event_type as DeliveryView['eventType'],
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? r.due_at : null,
    lastAttemptAt: r.last_attempt_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    succeededAt: r.succeeded_at,
    createdAt: r.created_at,
  };
}

export function attemptView(a: WebhookAttemptsTable): z.infer<typeof WebhookAttemptSchema> {
  return {
    id: a.id,
    attemptedAt: a.attempted_at,
    outcome: a.outcome,
    statusCode: a.status_code,
    latencyMs: a.latency_ms,
    responseExcerpt: a.response_excerpt,
    error: a.error,
  };
}

export async function listDeliveries(ctx: CoreContext, scope: MerchantScope, endpointId: string, query: z.infer<typeof WebhookDeliveryListQuery>): Promise<Page<DeliveryView>> {
  await loadEndpointRow(ctx, scope, endpointId);
  let q = ctx.db.kysely
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .orderBy('id', 'desc')
    .limit(query.limit + 1);
  const before = decodeCursor(query.cursor, 'whd');
  if (before) q = q.where('id', '<', before);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.eventType) q = q.where('event_type', '=', query.eventType);
  return toPage(await q.execute(), query.limit, deliveryView);
}

async function loadDeliveryRow(ctx: CoreContext, endpointId: string, deliveryId: string): Promise<WebhookDeliveriesTable> {
  const row = await ctx.db.kysely.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).where('endpoint_id', '=', endpointId).executeTakeFirst();
  if (!row) throw notFound('webhook_delivery_not_found', `No delivery ${deliveryId} for endpoint ${endpointId}`);
  return row;
}

export async function deliveryDetail(ctx: CoreContext, row: WebhookDeliveriesTable): Promise<z.infer<typeof WebhookDeliveryDetail>> {
  const attempts = await ctx.db.kysely.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', row.id).orderBy('attempted_at').orderBy('id').execute();
  return { ...deliveryView(row), payload: JSON.parse(row.payload), attemptLog: attempts.map(attemptView) };
}

export async function getDelivery(ctx: CoreContext, scope: MerchantScope, endpointId: string, deliveryId: string) {
  await loadEndpointRow(ctx, scope, endpointId);
  return deliveryDetail(ctx, await loadDeliveryRow(ctx, endpointId, deliveryId));
}

const endpointDisabled = (id: string) => conflict('webhook_endpoint_disabled', `Webhook endpoint ${id} is disabled: enable it first (PATCH enabled: true)`);

/**
 * Sends a finished delivery again — the same message, the same `webhook-id` (receivers dedupe on
 * it) — as a new run of the retry schedule. A delivery still pending is already being tried.
 */
export async function restartDelivery(ctx: CoreContext, deliveryId: string, scope?: MerchantScope & { endpointId: string }): Promise<DeliveryView> {
  return inTransaction(ctx, async (tx) => {
    if (scope) await loadEndpointRow(tx, scope, scope.endpointId);
    const row = scope
      ? await loadDeliveryRow(tx, scope.endpointId, deliveryId)
      : await tx.db.kysely.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst();
    if (!row) throw notFound('webhook_delivery_not_found', `No delivery ${deliveryId}`);
    const endpoint = await tx.db.kysely.selectFrom('webhook_endpoints').selectAll().where('id', '=', row.endpoint_id).executeTakeFirstOrThrow();
    if (scope && (endpoint.merchant_id !== scope.merchantId || endpoint.environment !== scope.environment))
      throw notFound('webhook_delivery_not_found', `No delivery ${deliveryId}`);
    if (endpoint.deleted_at !== null) throw notFound('webhook_endpoint_not_found', `Webhook endpoint ${endpoint.id} was deleted`);
    if (endpoint.enabled !== 1) throw endpointDisabled(endpoint.id);
    if (row.status === 'pending') throw conflict('webhook_delivery_pending', `Delivery ${row.id} is still being tried (next attempt ${row.due_at})`);
    const now = tx.clock.now().toISOString();
    const set = { status: 'pending' as const, run_attempts: 0, due_at: now, leased_until: null, leased_by: null, updated_at: now };
    await tx.db.kysely.updateTable('webhook_deliveries').set(set).where('id', '=', row.id).execute();
    return deliveryView({ ...row, ...set });
  });
}

/** A `test` message to one endpoint, now, whatever it subscribes to. */
export async function sendTestEvent(ctx: CoreContext, scope: MerchantScope, endpointId: string): Promise<DeliveryView> {
  return inTransaction(ctx, async (tx) => {
    const endpoint = await loadEndpointRow(tx, scope, endpointId);
    if (endpoint.enabled !== 1) throw endpointDisabled(endpoint.id);
    const message = {
      id: tx.ids.next('event'),
      type: 'test',
      timestamp: tx.clock.now().toISOString(),
      data: { endpointId: endpoint.id, environment: endpoint.environment, message: 'A test event from BuffMoney: your endpoint receives and verifies deliveries.' },
    };
    const id = await insertDelivery(tx, endpoint, message);
    const row = await tx.db.kysely.selectFrom('webhook_deliveries').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    return deliveryView(row);
  });
}
