/**
 * The usage-event contract's limits and the machine-readable reasons a single event is refused
 * with. Both are part of the public API (documented in the OpenAPI description and README.md):
 * merchants branch on these strings, so they never change meaning.
 */
export const MAX_EVENTS_PER_BATCH = 500;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const MAX_EXTERNAL_ID_LENGTH = 255;
/** Up to 10^78 − 1: more than uint256, far beyond the 10^30 the product asks for. */
export const MAX_QUANTITY_DIGITS = 78;
export const MAX_DIMENSIONS = 16;
export const MAX_DIMENSION_KEY_LENGTH = 64;
export const MAX_DIMENSION_VALUE_LENGTH = 256;
/** How far ahead of the server clock `occurredAt` may be (clock skew allowance). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** How long a whole response stays replayable under its Idempotency-Key header. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;
/** Largest request body accepted (500 maximal events fit with room to spare). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export const REJECTION_REASONS = {
  invalid_event: 'The event is not a JSON object.',
  unknown_field: 'The event has a field the API does not define (nothing is silently dropped).',
  invalid_idempotency_key: `idempotencyKey must be a string of 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`,
  invalid_customer_external_id: `customerExternalId must be a string of 1–${MAX_EXTERNAL_ID_LENGTH} characters.`,
  invalid_metric: 'metric must be one of the documented metrics.',
  invalid_quantity: `quantity must be a non-negative integer as a decimal string of 1–${MAX_QUANTITY_DIGITS} digits (a JSON number is refused: it may already have been rounded).`,
  invalid_occurred_at: 'occurredAt must be an RFC 3339 date-time with Z or a ±HH:MM offset, e.g. 2026-05-25T10:00:00Z.',
  occurred_at_in_future: 'occurredAt is more than 5 minutes ahead of the server clock.',
  invalid_dimensions: `dimensions must be a flat object whose keys are 1–${MAX_DIMENSION_KEY_LENGTH} characters and whose values are strings.`,
  dimensions_too_large: `dimensions may have at most ${MAX_DIMENSIONS} keys, keys of at most ${MAX_DIMENSION_KEY_LENGTH} characters and values of at most ${MAX_DIMENSION_VALUE_LENGTH}.`,
  unknown_customer: 'No customer with this customerExternalId exists in this environment (enable autoCreateCustomers to create them on first use).',
  customer_archived: 'The customer is archived and accepts no new usage.',
  period_closed: 'occurredAt falls into a period that is already invoiced for this customer.',
} as const;

export type RejectionReason = keyof typeof REJECTION_REASONS;
