import { z } from 'zod';
import {
  MAX_DIMENSIONS,
  MAX_DIMENSION_KEY_LENGTH,
  MAX_DIMENSION_VALUE_LENGTH,
  MAX_EVENTS_PER_BATCH,
  MAX_EXTERNAL_ID_LENGTH,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_QUANTITY_DIGITS,
  REJECTION_REASONS,
} from './limits.js';
import { USAGE_METRICS } from './tables.js';
import { isRfc3339DateTime } from './validate.js';

/**
 * The usage-event contract as zod schemas: the OpenAPI document is generated from these, and a
 * test proves the hand-written hot-path validator (validate.ts) accepts exactly what they accept.
 */
export const UsageEventInput = z
  .strictObject({
    customerExternalId: z.string().min(1).max(MAX_EXTERNAL_ID_LENGTH).meta({ description: "The merchant's own customer identifier." }),
    idempotencyKey: z
      .string()
      .min(1)
      .max(MAX_IDEMPOTENCY_KEY_LENGTH)
      .meta({ description: 'Per-event idempotency key, unique within the merchant and environment. Time-ordered keys (ULID-like) ingest fastest.' }),
    metric: z.enum(USAGE_METRICS),
    quantity: z
      .string()
      .regex(new RegExp(`^[0-9]{1,${MAX_QUANTITY_DIGITS}}$`))
      .meta({
        description: `Non-negative integer encoded as a decimal string, 1–${MAX_QUANTITY_DIGITS} digits, stored and summed exactly. Leading zeros are accepted and dropped ("007" is stored as "7").`,
        example: '12500',
      }),
    occurredAt: z.string().refine(isRfc3339DateTime, { message: 'Invalid RFC 3339 date-time' }).meta({
      format: 'date-time',
      description:
        'RFC 3339 date-time with Z or a ±HH:MM offset (years 1970–9999). Stored in UTC with millisecond precision (further digits are truncated). At most 5 minutes ahead of the server clock.',
    }),
    dimensions: z
      .record(z.string().min(1).max(MAX_DIMENSION_KEY_LENGTH), z.string().max(MAX_DIMENSION_VALUE_LENGTH))
      .refine((d) => Object.keys(d).length <= MAX_DIMENSIONS, { message: `At most ${MAX_DIMENSIONS} dimensions` })
      .optional()
      .meta({
        description: `Flat object of string values (at most ${MAX_DIMENSIONS} keys; keys 1–${MAX_DIMENSION_KEY_LENGTH} characters, values up to ${MAX_DIMENSION_VALUE_LENGTH}). Stored as canonical JSON with sorted keys.`,
        maxProperties: MAX_DIMENSIONS,
        example: { model: 'gpt-5', region: 'us-east-1' },
      }),
  })
  .meta({ id: 'UsageEventInput' });

export const UsageEventBatch = z
  .strictObject({
    events: z.array(UsageEventInput).min(1).max(MAX_EVENTS_PER_BATCH),
  })
  .meta({ id: 'UsageEventBatch' });

const reasonList = Object.entries(REJECTION_REASONS)
  .map(([code, text]) => `\`${code}\`: ${text}`)
  .join(' ');

export const UsageEventResult = z
  .object({
    idempotencyKey: z.string().optional().meta({ description: 'The event’s key, when it was a valid key.' }),
    status: z.enum(['accepted', 'duplicate', 'rejected']),
    eventId: z.string().optional().meta({ description: 'For accepted events the new id; for duplicates the id of the event stored first.' }),
    reason: z
      .enum(Object.keys(REJECTION_REASONS) as [string, ...string[]])
      .optional()
      .meta({ description: `Why a rejected event was refused. ${reasonList}` }),
  })
  .meta({ id: 'UsageEventResult' });

export const UsageEventIngestResult = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    rejected: z.number().int(),
    results: z.array(UsageEventResult).meta({ description: 'One result per input event, in input order.' }),
  })
  .meta({ id: 'UsageEventIngestResult' });

export const UsageEventsAllRejected = z
  .object({
    ok: z.literal(false),
    error: z.literal('all_events_rejected'),
    message: z.string(),
    accepted: z.literal(0),
    duplicates: z.literal(0),
    rejected: z.number().int(),
    results: z.array(UsageEventResult),
  })
  .meta({ id: 'UsageEventsAllRejected' });
