import { z } from 'zod';
import type { DOMAIN_EVENT_TYPES } from '../../core/events/index.js';
import { InvoiceSchema } from '../../core/invoices/index.js';
import { MerchantProfile } from '../../core/merchants/schemas.js';
import { PageQuery } from '../../core/pagination/index.js';
import { PayoutSchema } from '../../core/settlement/schemas.js';
import {
  CreateWebhookEndpointInput,
  MAX_ATTEMPTS,
  RotatedSecret,
  UpdateWebhookEndpointInput,
  WebhookDeliveryDetail,
  WebhookDeliveryList,
  WebhookDeliveryListQuery,
  WebhookDeliveryParams,
  WebhookDeliverySchema,
  WebhookEndpointList,
  WebhookEndpointParams,
  WebhookEndpointSchema,
  WebhookEndpointWithSecret,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getDelivery,
  getWebhookEndpoint,
  listDeliveries,
  listWebhookEndpoints,
  restartDelivery,
  rotateWebhookSecret,
  sendTestEvent,
  updateWebhookEndpoint,
} from '../../core/webhooks/index.js';
import type { ServerDeps } from '../deps.js';
import type { WebhookEventDoc } from '../http/openapi.js';
import { type RouteSpec, defineRoute } from '../http/route.js';
import { merchantScope } from './catalog.js';

const read = { jwt: true, apiKey: true, scope: 'webhooks:read' } as const;
const write = { jwt: true, apiKey: true, scope: 'webhooks:write' } as const;
const tags = ['Webhooks'];

const ENVIRONMENT_RULE =
  "Endpoints belong to one environment, like all merchant data: the API key's (a dashboard JWT: the `BuffMoney-Environment` header). Sandbox events go only to sandbox endpoints, live events only to live endpoints and to the profile `webhookUrl` (`source: profile`), which a sandbox key cannot change.";

export const DeletedWebhookEndpoint = z.strictObject({ id: z.string(), deleted: z.literal(true) }).meta({ id: 'DeletedWebhookEndpoint' });

export function webhookEndpointRoutes(_deps: ServerDeps): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/webhook-endpoints',
      operationId: 'createWebhookEndpoint',
      summary: 'Register a webhook endpoint',
      description: `The answer carries the endpoint's signing secret (\`whsec_…\`) — the only time it is shown. Deliveries are signed per Standard Webhooks (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature\`); see the \`webhooks\` section of this document for the events. At most 20 endpoints per environment (409 webhook_endpoint_limit). ${ENVIRONMENT_RULE}`,
      tags,
      auth: write,
      body: CreateWebhookEndpointInput,
      responses: { 201: { description: 'The endpoint, with its secret', schema: WebhookEndpointWithSecret } },
      errors: [400, 401, 403, 409],
      errorCodes: { 400: ['webhook_url_invalid'], 409: ['webhook_endpoint_limit'] },
      handler: async ({ ctx, auth, body }) => ({ status: 201, body: await createWebhookEndpoint(ctx, merchantScope(auth), body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/webhook-endpoints',
      operationId: 'listWebhookEndpoints',
      summary: 'List webhook endpoints',
      description: `Oldest first, cursor-paginated, secrets never shown. A disabled endpoint says why in \`disabledReason\` (\`gone\`: it answered 410; \`failing\`: every attempt failed for 5 days; \`merchant\`: turned off). ${ENVIRONMENT_RULE}`,
      tags,
      auth: read,
      query: PageQuery,
      responses: { 200: { description: 'A page of endpoints', schema: WebhookEndpointList } },
      errors: [400, 401, 403],
      errorCodes: { 400: ['invalid_cursor'] },
      handler: async ({ ctx, auth, query }) => ({ status: 200, body: await listWebhookEndpoints(ctx, merchantScope(auth), query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/webhook-endpoints/:endpointId',
      operationId: 'getWebhookEndpoint',
      summary: 'A webhook endpoint',
      tags,
      auth: read,
      params: WebhookEndpointParams,
      responses: { 200: { description: 'The endpoint', schema: WebhookEndpointSchema } },
      errors: [400, 401, 403, 404],
      errorCodes: { 404: ['webhook_endpoint_not_found'] },
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await getWebhookEndpoint(ctx, merchantScope(auth), params.endpointId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/webhook-endpoints/:endpointId',
      operationId: 'updateWebhookEndpoint',
      summary: 'Change a webhook endpoint (URL, event types, description, enabled)',
      description:
        'Only supplied fields change. `enabled: true` re-enables an endpoint disabled for any reason and clears its failure streak (failed deliveries can then be resent). The profile endpoint (`source: profile`) takes only `description` and `enabled`; its URL is the profile `webhookUrl` (409 webhook_endpoint_profile_managed).',
      tags,
      auth: write,
      params: WebhookEndpointParams,
      body: UpdateWebhookEndpointInput,
      responses: { 200: { description: 'The endpoint', schema: WebhookEndpointSchema } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 400: ['webhook_url_invalid'], 404: ['webhook_endpoint_not_found'], 409: ['webhook_endpoint_profile_managed'] },
      handler: async ({ ctx, auth, params, body }) => ({ status: 200, body: await updateWebhookEndpoint(ctx, merchantScope(auth), params.endpointId, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/webhook-endpoints/:endpointId',
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint',
      description:
        'It receives nothing more: deliveries still pending end `failed`. Its delivery log is kept for the record. The profile endpoint is removed by clearing `webhookUrl` (409 webhook_endpoint_profile_managed).',
      tags,
      auth: write,
      params: WebhookEndpointParams,
      responses: { 200: { description: 'Deleted', schema: DeletedWebhookEndpoint } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 404: ['webhook_endpoint_not_found'], 409: ['webhook_endpoint_profile_managed'] },
      handler: async ({ ctx, auth, params }) => {
        await deleteWebhookEndpoint(ctx, merchantScope(auth), params.endpointId);
        return { status: 200, body: { id: params.endpointId, deleted: true } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/webhook-endpoints/:endpointId/rotate-secret',
      operationId: 'rotateWebhookEndpointSecret',
      summary: 'Rotate the signing secret',
      description:
        "A new secret, shown once in the answer. For 24 hours deliveries carry two signatures (space-separated in `webhook-signature`): by the new secret and by the previous one, so you can switch your verifier at leisure. The profile endpoint's secret is obtained this way.",
      tags,
      auth: write,
      params: WebhookEndpointParams,
      responses: { 200: { description: 'The new secret', schema: RotatedSecret } },
      errors: [400, 401, 403, 404],
      errorCodes: { 404: ['webhook_endpoint_not_found'] },
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await rotateWebhookSecret(ctx, merchantScope(auth), params.endpointId) }),
    }),
    defineRoute({
      method: 'post',
      path: '/webhook-endpoints/:endpointId/test',
      operationId: 'sendWebhookTestEvent',
      summary: 'Send a test event to the endpoint',
      description:
        'A `test` event (whatever the endpoint subscribes to), delivered by the same worker, signature and retries as any other; follow it in the deliveries list. 409 webhook_endpoint_disabled for a disabled endpoint.',
      tags,
      auth: write,
      params: WebhookEndpointParams,
      responses: { 202: { description: 'The delivery, queued', schema: WebhookDeliverySchema } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 404: ['webhook_endpoint_not_found'], 409: ['webhook_endpoint_disabled'] },
      handler: async ({ ctx, auth, params }) => ({ status: 202, body: await sendTestEvent(ctx, merchantScope(auth), params.endpointId) }),
    }),
    defineRoute({
      method: 'get',
      path: '/webhook-endpoints/:endpointId/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: "An endpoint's deliveries",
      description: `Newest first, cursor-paginated; filters \`status\` (pending, succeeded, failed) and \`eventType\`. A delivery is tried up to ${MAX_ATTEMPTS} times over about three days (see the README, "Webhooks"); \`nextAttemptAt\` says when the next try is due.`,
      tags,
      auth: read,
      params: WebhookEndpointParams,
      query: WebhookDeliveryListQuery,
      responses: { 200: { description: 'A page of deliveries', schema: WebhookDeliveryList } },
      errors: [400, 401, 403, 404],
      errorCodes: { 400: ['invalid_cursor'], 404: ['webhook_endpoint_not_found'] },
      handler: async ({ ctx, auth, params, query }) => ({ status: 200, body: await listDeliveries(ctx, merchantScope(auth), params.endpointId, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/webhook-endpoints/:endpointId/deliveries/:deliveryId',
      operationId: 'getWebhookDelivery',
      summary: 'A delivery with its payload and every attempt',
      description: 'Each attempt: when, the outcome, the HTTP status, latency, the first 1 KB of the answer, and the error.',
      tags,
      auth: read,
      params: WebhookDeliveryParams,
      responses: { 200: { description: 'The delivery', schema: WebhookDeliveryDetail } },
      errors: [400, 401, 403, 404],
      errorCodes: { 404: ['webhook_endpoint_not_found', 'webhook_delivery_not_found'] },
      handler: async ({ ctx, auth, params }) => ({ status: 200, body: await getDelivery(ctx, merchantScope(auth), params.endpointId, params.deliveryId) }),
    }),
    defineRoute({
      method: 'post',
      path: '/webhook-endpoints/:endpointId/deliveries/:deliveryId/resend',
      operationId: 'resendWebhookDelivery',
      summary: 'Send a delivery again',
      description:
        'The same message with the same `webhook-id` (deduplicate on it), as a new run of the retry schedule. 409 webhook_delivery_pending while it is still being tried; 409 webhook_endpoint_disabled until the endpoint is enabled again.',
      tags,
      auth: write,
      params: WebhookDeliveryParams,
      responses: { 202: { description: 'The delivery, queued', schema: WebhookDeliverySchema } },
      errors: [400, 401, 403, 404, 409],
      errorCodes: { 404: ['webhook_endpoint_not_found', 'webhook_delivery_not_found'], 409: ['webhook_delivery_pending', 'webhook_endpoint_disabled'] },
      handler: async ({ ctx, auth, params }) => ({
        status: 202,
        body: await restartDelivery(ctx, params.deliveryId, { ...merchantScope(auth), endpointId: params.endpointId }),
      }),
    }),
  ];
}

/** The events merchants receive, for the OpenAPI document's `webhooks` section. */
export function webhookEventDocs(): WebhookEventDoc[] {
  const invoice = (what: string) => ({ data: InvoiceSchema, description: `${what} \`data\` is the Invoice as GET /invoices/{invoiceId} returns it.` });
  const docs: Record<(typeof DOMAIN_EVENT_TYPES)[number] | 'test', { description: string; data: z.ZodType }> = {
    'invoice.finalized': invoice('An invoice was generated for a billing period (lines, FX snapshot locked) and can be collected.'),
    'invoice.paid': invoice('The end customer paid the invoice (WeChat Pay or Alipay confirmed it).'),
    'invoice.refunded': invoice('A refund of the invoice succeeded at the channel.'),
    'invoice.voided': invoice('Staff voided the invoice; it will not be collected.'),
    'payout.completed': {
      description: 'A settlement payout to the merchant completed (bank wire or on-chain transfer). `data` is the Payout as GET /payouts lists it.',
      data: PayoutSchema,
    },
    'merchant.registered': {
      description:
        'The merchant is registered: sent (live) at signup, and again when an on-chain registration is processed (then `onChainMerchantId` is set). `data` is the merchant as GET /merchants/me returns it.',
      data: MerchantProfile,
    },
    test: {
      description: 'Sent on demand (POST /webhook-endpoints/{endpointId}/test) to check an endpoint.',
      data: z.strictObject({ endpointId: z.string(), environment: z.enum(['sandbox', 'live']), message: z.string() }).meta({ id: 'WebhookTestData' }),
    },
  };
  return Object.entries(docs).map(([type, doc]) => ({ type, ...doc }));
}
