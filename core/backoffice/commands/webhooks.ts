import { z } from 'zod';
import { notFound } from '../../errors/index.js';
import { decodeCursor, toPage } from '../../pagination/index.js';
import { WEBHOOK_EVENT_TYPES, attemptView, deliveryView, endpointView, restartDelivery } from '../../webhooks/index.js';
import { defineCommand } from '../registry.js';
import { Limit, MerchantRef } from './shared.js';

/**
 * Merchant webhooks in the back office (core/webhooks): endpoints with their health, deliveries
 * with their attempt log, and resending one. Support answers "did you send us invoice.paid?",
 * so every role reads. Resend is admin's: it moves no money and sends nothing new (the message
 * the merchant already had, to the merchant's own endpoint), so no step-up — but support never
 * changes anything and finance's desk is money (the registry's rule); audited.
 */

const Environment = z.enum(['sandbox', 'live']);
const Cursor = z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' });
const EndpointRef = z
  .string()
  .trim()
  .regex(/^we_[0-9a-z]+$/, 'must be a webhook endpoint id (we_…)');
const DeliveryRef = z
  .string()
  .trim()
  .regex(/^whd_[0-9a-z]+$/, 'must be a webhook delivery id (whd_…)')
  .meta({ description: 'Webhook delivery id (whd_…)' });

const EndpointRow = z.object({
  id: z.string(),
  merchantId: z.string(),
  environment: Environment,
  source: z.enum(['api', 'profile']),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.enum(['gone', 'failing', 'merchant']).nullable(),
  disabledDetail: z.string().nullable(),
  disabledAt: z.string().nullable(),
  failingSince: z.string().nullable(),
  deleted: z.boolean(),
  createdAt: z.string(),
});

const DeliveryRow = z.object({
  id: z.string(),
  merchantId: z.string(),
  environment: Environment,
  endpointId: z.string(),
  url: z.string(),
  messageId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  succeededAt: z.string().nullable(),
  createdAt: z.string(),
});

export const webhooksEndpoints = defineCommand({
  name: 'webhooks:endpoints',
  summary: 'Merchant webhook endpoints and their health, oldest first (--merchant, --environment, --failing: disabled by failures or failing now; --cursor)',
  input: z.object({
    merchant: MerchantRef.optional(),
    environment: Environment.optional(),
    failing: z.boolean().optional().meta({ description: 'Only endpoints failing now or disabled for failures (410, days of failures)' }),
    limit: Limit,
    cursor: Cursor,
  }),
  output: z.object({ items: z.array(EndpointRow), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('webhook_endpoints')
      .selectAll()
      .orderBy('id')
      .limit(input.limit + 1);
    const after = decodeCursor(input.cursor, 'we');
    if (after) q = q.where('id', '>', after);
    if (input.merchant) q = q.where('merchant_id', '=', input.merchant);
    if (input.environment) q = q.where('environment', '=', input.environment);
    if (input.failing) {
      q = q.where('deleted_at', 'is', null).where((eb) => eb.or([eb('failing_since', 'is not', null), eb('disabled_reason', 'in', ['gone', 'failing'])]));
    }
    const page = toPage(await q.execute(), input.limit, (r) => {
      const v = endpointView(r);
      return {
        id: v.id,
        merchantId: r.merchant_id,
        environment: v.environment,
        source: v.source,
        url: v.url,
        description: v.description,
        eventTypes: v.eventTypes,
        enabled: v.enabled,
        disabledReason: v.disabledReason,
        disabledDetail: v.disabledDetail,
        disabledAt: v.disabledAt,
        failingSince: v.failingSince,
        deleted: r.deleted_at !== null,
        createdAt: v.createdAt,
      };
    });
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const webhooksDeliveries = defineCommand({
  name: 'webhooks:deliveries',
  summary: 'Webhook deliveries, newest first (--merchant, --endpoint, --environment, --status pending|succeeded|failed, --failing: failed or retrying, --event-type; --cursor)',
  input: z.object({
    merchant: MerchantRef.optional(),
    endpoint: EndpointRef.optional().meta({ description: 'Webhook endpoint id (we_…)' }),
    environment: Environment.optional(),
    status: z.enum(['pending', 'succeeded', 'failed']).optional(),
    failing: z.boolean().optional().meta({ description: 'Only deliveries that failed, or are pending after a failed attempt' }),
    eventType: z.enum(WEBHOOK_EVENT_TYPES).optional(),
    limit: Limit,
    cursor: Cursor,
  }),
  output: z.object({ items: z.array(DeliveryRow), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .selectAll('d')
      .select('e.url')
      .orderBy('d.id', 'desc')
      .limit(input.limit + 1);
    const before = decodeCursor(input.cursor, 'whd');
    if (before) q = q.where('d.id', '<', before);
    if (input.merchant) q = q.where('d.merchant_id', '=', input.merchant);
    if (input.endpoint) q = q.where('d.endpoint_id', '=', input.endpoint);
    if (input.environment) q = q.where('d.environment', '=', input.environment);
    if (input.status) q = q.where('d.status', '=', input.status);
    if (input.eventType) q = q.where('d.event_type', '=', input.eventType);
    if (input.failing) q = q.where((eb) => eb.or([eb('d.status', '=', 'failed'), eb.and([eb('d.status', '=', 'pending'), eb('d.attempts', '>', 0)])]));
    const page = toPage(await q.execute(), input.limit, (r) => ({ ...deliveryView(r), merchantId: r.merchant_id, environment: r.environment, url: r.url }));
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const webhooksShow = defineCommand({
  name: 'webhooks:show',
  summary: 'One webhook delivery: its payload and every attempt (status, latency, response excerpt, error)',
  input: z.object({ delivery: DeliveryRef }),
  output: DeliveryRow.extend({
    payload: z.unknown(),
    attemptLog: z.array(
      z.object({
        id: z.string(),
        attemptedAt: z.string(),
        outcome: z.enum(['succeeded', 'failed', 'refused', 'abandoned']),
        statusCode: z.number().nullable(),
        latencyMs: z.number(),
        responseExcerpt: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ),
  }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  positional: ['delivery'],
  async handler(ctx, input) {
    const row = await ctx.db.kysely
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .selectAll('d')
      .select('e.url')
      .where('d.id', '=', input.delivery)
      .executeTakeFirst();
    if (!row) throw notFound('webhook_delivery_not_found', `No delivery ${input.delivery}`);
    const attempts = await ctx.db.kysely.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', row.id).orderBy('attempted_at').orderBy('id').execute();
    return {
      ...deliveryView(row),
      merchantId: row.merchant_id,
      environment: row.environment,
      url: row.url,
      payload: JSON.parse(row.payload),
      attemptLog: attempts.map(attemptView),
    };
  },
});

export const webhooksResend = defineCommand({
  name: 'webhooks:resend',
  summary: 'Send a finished webhook delivery again (same message, same webhook-id; a new run of the retry schedule)',
  input: z.object({ delivery: DeliveryRef }),
  output: DeliveryRow.pick({ id: true, endpointId: true, messageId: true, status: true, nextAttemptAt: true }),
  roles: ['admin'],
  stepUp: false,
  mutates: true,
  positional: ['delivery'],
  async handler(ctx, input) {
    const view = await restartDelivery(ctx, input.delivery);
    const merchant = await ctx.db.kysely.selectFrom('webhook_deliveries').select('merchant_id').where('id', '=', view.id).executeTakeFirstOrThrow();
    ctx.touch(view.id, view.endpointId, merchant.merchant_id);
    return { id: view.id, endpointId: view.endpointId, messageId: view.messageId, status: view.status, nextAttemptAt: view.nextAttemptAt };
  },
});
