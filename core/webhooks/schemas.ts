import { z } from 'zod';
import { DOMAIN_EVENT_TYPES } from '../events/index.js';
import { PageQuery, pageOf } from '../pagination/index.js';

/** What an endpoint can subscribe to: every domain event type, or `*` for all of them (and those added later). */
export const SUBSCRIBABLE_EVENT_TYPES = DOMAIN_EVENT_TYPES;
/** What a delivery can carry: the domain events and the on-demand `test` event. */
export const WEBHOOK_EVENT_TYPES = [...DOMAIN_EVENT_TYPES, 'test'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const MAX_ENDPOINTS_PER_ENVIRONMENT = 20;

const EventTypeList = z
  .array(z.enum([...SUBSCRIBABLE_EVENT_TYPES, '*']))
  .min(1)
  .max(SUBSCRIBABLE_EVENT_TYPES.length)
  .refine((types) => !types.includes('*') || types.length === 1, '"*" (every event type) stands alone')
  .refine((types) => new Set(types).size === types.length, 'event types must not repeat')
  .meta({
    description: `Event types this endpoint receives: any of ${SUBSCRIBABLE_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}, or \`["*"]\` for all (and types added later). Default \`["*"]\`. \`test\` events are sent on demand whatever this says.`,
  });

const Url = z.string().min(1).max(2048).meta({
  description: 'Where deliveries are POSTed. SSRF-checked when saved and again at every delivery: https in production, no private, loopback, link-local or metadata addresses.',
});
const Description = z.string().trim().max(500).meta({ description: 'Free text for the merchant (at most 500 characters).' });

export const CreateWebhookEndpointInput = z
  .strictObject({
    url: Url,
    eventTypes: EventTypeList.optional(),
    description: Description.nullable().optional(),
    enabled: z.boolean().optional().meta({ description: 'Default true.' }),
  })
  .meta({ id: 'CreateWebhookEndpointRequest' });

export const UpdateWebhookEndpointInput = z
  .strictObject({
    url: Url.optional(),
    eventTypes: EventTypeList.optional(),
    description: Description.nullable().optional(),
    enabled: z
      .boolean()
      .optional()
      .meta({ description: 'false stops deliveries; true re-enables an endpoint disabled for any reason (`gone`, `failing`, by you) and clears its failure streak.' }),
  })
  .meta({ id: 'UpdateWebhookEndpointRequest' });

export const WebhookEndpointSchema = z
  .strictObject({
    id: z.string().meta({ description: 'we_…' }),
    environment: z.enum(['sandbox', 'live']),
    source: z.enum(['api', 'profile']).meta({
      description: "`api`: registered here. `profile`: the merchant profile's `webhookUrl` (live events only, every type), managed through PATCH /merchants/me.",
    }),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    status: z.enum(['enabled', 'disabled']),
    disabledReason: z
      .enum(['gone', 'failing', 'merchant'])
      .nullable()
      .meta({ description: '`gone`: the endpoint answered 410 Gone. `failing`: every attempt failed for 5 days. `merchant`: turned off through the API. null while enabled.' }),
    disabledDetail: z.string().nullable(),
    disabledAt: z.string().nullable(),
    failingSince: z.string().nullable().meta({ description: 'Start of the current run of failed attempts (null after any success).' }),
    previousSecretExpiresAt: z.string().nullable().meta({ description: 'After a rotation: until when the previous secret still signs too.' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'WebhookEndpoint', description: 'A URL that receives signed webhook deliveries (Standard Webhooks).' });

export const WebhookEndpointWithSecret = WebhookEndpointSchema.extend({
  secret: z.string().meta({ description: 'The signing secret, `whsec_` + base64: shown only in this response. Verify deliveries with it.' }),
}).meta({ id: 'WebhookEndpointWithSecret' });

export const RotatedSecret = z
  .strictObject({
    endpointId: z.string(),
    secret: z.string().meta({ description: 'The new signing secret (shown once).' }),
    previousSecretExpiresAt: z.string().meta({ description: 'Until then deliveries carry a signature by the previous secret too (24 hours).' }),
  })
  .meta({ id: 'RotatedWebhookSecret' });

export const WebhookEndpointList = pageOf(WebhookEndpointSchema, 'WebhookEndpointList');

export const WebhookAttemptSchema = z
  .strictObject({
    id: z.string(),
    attemptedAt: z.string(),
    outcome: z.enum(['succeeded', 'failed', 'refused', 'abandoned']).meta({
      description: '`refused`: the URL resolved to an address deliveries may not go to; nothing was sent. `abandoned`: an answer that came after the attempt was taken over.',
    }),
    statusCode: z.number().int().nullable(),
    latencyMs: z.number().int(),
    responseExcerpt: z.string().nullable().meta({ description: 'The first 1 KB of the answer.' }),
    error: z.string().nullable(),
  })
  .meta({ id: 'WebhookAttempt' });

export const WebhookDeliverySchema = z
  .strictObject({
    id: z.string().meta({ description: 'whd_…' }),
    endpointId: z.string(),
    messageId: z.string().meta({ description: 'The `webhook-id` header and the payload `id`: the same at every attempt and resend.' }),
    eventType: z.enum(WEBHOOK_EVENT_TYPES),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    succeededAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });

export const WebhookDeliveryDetail = WebhookDeliverySchema.extend({
  payload: z.unknown().meta({ description: 'The body sent, parsed.' }),
  attemptLog: z.array(WebhookAttemptSchema),
}).meta({ id: 'WebhookDeliveryDetail' });

export const WebhookDeliveryList = pageOf(WebhookDeliverySchema, 'WebhookDeliveryList');

export const WebhookDeliveryListQuery = PageQuery.extend({
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
  eventType: z.enum(WEBHOOK_EVENT_TYPES).optional(),
});

export const WebhookEndpointParams = z.strictObject({ endpointId: z.string().max(64) });
export const WebhookDeliveryParams = z.strictObject({ endpointId: z.string().max(64), deliveryId: z.string().max(64) });
