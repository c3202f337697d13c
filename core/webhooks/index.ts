/**
 * Merchant webhooks (README.md beside this file): endpoints and their secrets, fan-out of domain
 * events into deliveries, the delivery step the server's worker runs, Standard Webhooks signing.
 */
export type * from './tables.js';
export * from './schemas.js';
export { SECRET_PREFIX, generateWebhookSecret, signWebhook, webhookHeaders } from './signing.js';
export { JITTER, MAX_ATTEMPTS, RETRY_AFTER_CAP_MS, RETRY_DELAYS_MS, parseRetryAfter, retryDelayMs } from './schedule.js';
export { DELIVERY_TIMEOUT_MS, EXCERPT_BYTES, sendWebhook } from './send.js';
export {
  PREVIOUS_SECRET_TTL_MS,
  PROFILE_ENVIRONMENT,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  endpointView,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
  syncProfileEndpoint,
  updateWebhookEndpoint,
} from './endpoints.js';
export { PARKED_DUE_AT, attemptView, deliveryDetail, deliveryView, getDelivery, listDeliveries, restartDelivery, sendTestEvent, webhookPayload } from './deliveries.js';
export { DISPATCH_LEASE_MS, fanOutEvents } from './dispatch.js';
export { DELIVERY_LEASE_MS, FAILING_DISABLE_AFTER_MS, MAX_IN_FLIGHT_PER_ENDPOINT, USER_AGENT, deliverDueWebhooks, type DeliveryRoundReport } from './deliver.js';
