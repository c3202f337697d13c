import {
  MAX_DIMENSIONS,
  MAX_DIMENSION_KEY_LENGTH,
  MAX_DIMENSION_VALUE_LENGTH,
  MAX_EXTERNAL_ID_LENGTH,
  MAX_FUTURE_SKEW_MS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_QUANTITY_DIGITS,
  type RejectionReason,
} from './limits.js';
import { USAGE_METRICS, type UsageMetric } from './tables.js';

/**
 * The hand-written validator of one usage event. It is exactly as strict as the zod schema
 * `UsageEventInput` (schemas.ts, which documents the API; a test feeds both the same corpus),
 * but allocates nothing per field and answers with a rejection reason instead of throwing:
 * at 100,000 events a second, per-field allocation and issue objects are the budget.
 */

/** One event that passed every check that needs no database. */
export interface ValidUsageEvent {
  idempotencyKey: string;
  customerExternalId: string;
  metric: UsageMetric;
  /** Canonical: no leading zeros. */
  quantity: string;
  /** Canonical ISO-8601 UTC with milliseconds (Date#toISOString), comparable as text. */
  occurredAt: string;
  /** Canonical JSON: keys sorted by UTF-16 code units (RFC 8785 order); '{}' when none. */
  dimensions: string;
}

const METRICS: ReadonlySet<string> = new Set(USAGE_METRICS);
const QUANTITY = new RegExp(`^[0-9]{1,${MAX_QUANTITY_DIGITS}}$`);
// RFC 3339 date-time: T separator, seconds required, 1–9 fraction digits, Z or ±HH:MM.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Milliseconds since the epoch of an RFC 3339 date-time, or NaN. Calendar-checked (no Feb 30,
 * no leap second), years 1970–9999; fractions beyond milliseconds are truncated.
 */
export function parseRfc3339(value: string): number {
  const m = DATE_TIME.exec(value);
  if (!m) return NaN;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const hour = +m[4];
  const minute = +m[5];
  const second = +m[6];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const oh = +m[9];
    const om = +m[10];
    if (oh > 23 || om > 59) return NaN;
    offsetMinutes = (oh * 60 + om) * (m[8].charCodeAt(0) === 45 /* - */ ? -1 : 1);
  }
  const millis = m[7] === undefined ? 0 : +(m[7] + '00').slice(0, 3);
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

export function isRfc3339DateTime(value: string): boolean {
  return !Number.isNaN(parseRfc3339(value));
}

/** Canonical quantity: leading zeros dropped ("007" → "7", "000" → "0"). */
function canonicalQuantity(q: string): string {
  if (q.length === 1 || q.charCodeAt(0) !== 48 /* 0 */) return q;
  let i = 0;
  while (i < q.length - 1 && q.charCodeAt(i) === 48) i++;
  return q.slice(i);
}

/** Canonical JSON of a dimensions object, or a rejection reason. */
function canonicalDimensions(dims: unknown): string | RejectionReason {
  if (typeof dims !== 'object' || dims === null || Array.isArray(dims)) return 'invalid_dimensions';
  const obj = dims as Record<string, unknown>;
  let keys: string[] | undefined;
  let sorted = true;
  let previous = '';
  let count = 0;
  let tooLarge = false;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v !== 'string' || k.length === 0) return 'invalid_dimensions';
    if (k.length > MAX_DIMENSION_KEY_LENGTH || v.length > MAX_DIMENSION_VALUE_LENGTH) tooLarge = true;
    if (count > 0 && k < previous) sorted = false;
    (keys ??= []).push(k);
    previous = k;
    count++;
  }
  if (count === 0) return '{}';
  if (tooLarge || count > MAX_DIMENSIONS) return 'dimensions_too_large';
  if (!sorted) keys!.sort();
  let out = '{';
  for (let i = 0; i < count; i++) {
    const k = keys![i];
    if (i > 0) out += ',';
    out += JSON.stringify(k) + ':' + JSON.stringify(obj[k]);
  }
  return out + '}';
}

function isKnownField(k: string): boolean {
  return k === 'idempotencyKey' || k === 'customerExternalId' || k === 'metric' || k === 'quantity' || k === 'occurredAt' || k === 'dimensions';
}

/**
 * Checks one event of a batch. Returns the canonical event, or the first reason it is refused
 * for, in this order: shape, idempotencyKey, customerExternalId, metric, quantity, occurredAt,
 * dimensions, unknown fields, then occurredAt too far in the future (relative to `nowMs`).
 */
export function validateUsageEvent(input: unknown, nowMs: number): ValidUsageEvent | RejectionReason {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'invalid_event';
  const e = input as Record<string, unknown>;
  const key = e.idempotencyKey;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return 'invalid_idempotency_key';
  const externalId = e.customerExternalId;
  if (typeof externalId !== 'string' || externalId.length === 0 || externalId.length > MAX_EXTERNAL_ID_LENGTH) {
    return 'invalid_customer_external_id';
  }
  const metric = e.metric;
  if (typeof metric !== 'string' || !METRICS.has(metric)) return 'invalid_metric';
  const quantity = e.quantity;
  if (typeof quantity !== 'string' || !QUANTITY.test(quantity)) return 'invalid_quantity';
  const occurredAt = e.occurredAt;
  if (typeof occurredAt !== 'string') return 'invalid_occurred_at';
  const occurredMs = parseRfc3339(occurredAt);
  if (Number.isNaN(occurredMs)) return 'invalid_occurred_at';
  let dimensions = '{}';
  if (e.dimensions !== undefined) {
    const d = canonicalDimensions(e.dimensions);
    if (d.charCodeAt(0) !== 123 /* { */) return d as RejectionReason;
    dimensions = d;
  }
  for (const k in e) if (!isKnownField(k)) return 'unknown_field';
  if (occurredMs > nowMs + MAX_FUTURE_SKEW_MS) return 'occurred_at_in_future';
  return {
    idempotencyKey: key,
    customerExternalId: externalId,
    metric: metric as UsageMetric,
    quantity: canonicalQuantity(quantity),
    occurredAt: new Date(occurredMs).toISOString(),
    dimensions,
  };
}
