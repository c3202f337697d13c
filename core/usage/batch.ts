import { DomainError } from '../errors/index.js';
import { MAX_EVENTS_PER_BATCH, REJECTION_REASONS, type RejectionReason } from './limits.js';
import { USAGE_METRICS, type UsageMetric } from './tables.js';
import { validateUsageEvent } from './validate.js';

/**
 * One request's events after every check that needs no database, in a columnar form: a few
 * arrays per batch instead of an object per event, because the batch crosses to the writer
 * thread by structured clone, and cloning a few arrays is far cheaper than 500 objects with six
 * named fields each. Two producers build it and must agree exactly (a test feeds both the same
 * corpus): `scanUsageBatch` (scan.ts, a single pass over the request bytes, for the common case)
 * and `checkUsageBatch` below (JSON.parse + validateUsageEvent, for everything else).
 */
export interface CheckedBatch {
  /** Events in the request, in input order. */
  count: number;
  /** Events that passed every check (reasons[i] === 0). */
  validCount: number;
  /** Per event: 0 when valid, else REASON_CODES.indexOf(reason) + 1. */
  reasons: Uint8Array;
  /**
   * Per event: the idempotencyKey it carried, or null when the event is not an object or the
   * key is invalid (reason invalid_event / invalid_idempotency_key). Refused events with a valid
   * key still report it, so merchants can match results to their events.
   */
  keys: (string | null)[];
  /** Per valid event: customerExternalId ('' for refused events). */
  externalIds: string[];
  /** Per valid event: METRIC_CODES code of the metric (0 for refused events). */
  metrics: Uint8Array;
  /** Per valid event: canonical quantity, no leading zeros ('' for refused events). */
  quantities: string[];
  /** Per valid event: occurredAt in ms since the epoch, truncated to ms (0 for refused events). */
  occurredMs: Float64Array;
  /**
   * The distinct canonical dimensions JSON (keys sorted, '{}' when none) of the valid events, in
   * order of first appearance. A table rather than a string per event: 500 copies of a ~90-char
   * string cost far more to clone than a few distinct ones and an index each, and the writer
   * resolves each distinct set to its row once per batch instead of once per event.
   */
  dimensionSets: string[];
  /**
   * Per event (length `count`): for a valid event, the index of its dimensions in dimensionSets.
   * A refused event's value means nothing; both producers leave it 0, so batches compare equal.
   */
  dimensionIndex: Uint16Array;
}

/**
 * A CheckedBatch as the scanner hands it over: the three string columns still as byte spans of
 * the request body. Creating 1,500 strings per batch on the HTTP thread, then cloning them to the
 * writer thread (which allocates them all again), cost ~15% of that thread; a copy of the body
 * crosses instead (transferred, one memcpy), and the writer reads the strings out of it
 * (`unpackBatch`). Every other field is final.
 */
export interface PackedBatch extends Omit<CheckedBatch, 'keys' | 'externalIds' | 'quantities'> {
  /**
   * The bytes the strings are in. The scanner only admits printable ASCII in strings, so each
   * string is its bytes read as latin1.
   */
  text: Uint8Array;
  /**
   * Per event, six offsets into `text`: idempotencyKey start/end, customerExternalId start/end,
   * quantity start/end (its canonical digits: leading zeros already skipped). A start of -1 is
   * null for the key, '' for the others.
   */
  spans: Int32Array;
}

/** What the ingest service queues for the writer: either form. */
export type IngestBatch = CheckedBatch | PackedBatch;

export function isPackedBatch(batch: IngestBatch): batch is PackedBatch {
  return (batch as PackedBatch).spans !== undefined;
}

/** A Buffer's one-byte string slice; Node has it on every Buffer (toString('latin1') calls it). */
export interface Latin1Bytes extends Uint8Array {
  latin1Slice(start: number, end: number): string;
}

/** The bytes as a Buffer with latin1Slice (no copy). */
export function latin1Bytes(bytes: Uint8Array): Latin1Bytes {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (typeof (buf as unknown as Partial<Latin1Bytes>).latin1Slice === 'function') return buf as unknown as Latin1Bytes;
  // Not expected on Node, but keep working if the undocumented method ever goes away.
  const shim = buf as unknown as Latin1Bytes;
  Object.defineProperty(shim, 'latin1Slice', { value: (s: number, e: number) => buf.toString('latin1', s, e) });
  return shim;
}

/** The CheckedBatch of either form (a PackedBatch's strings read out of its text). */
export function unpackBatch(batch: IngestBatch): CheckedBatch {
  if (!isPackedBatch(batch)) return batch;
  const { text, spans, count } = batch;
  const b = latin1Bytes(text);
  const keys = new Array<string | null>(count);
  const externalIds = new Array<string>(count);
  const quantities = new Array<string>(count);
  for (let i = 0, j = 0; i < count; i++, j += 6) {
    keys[i] = spans[j] < 0 ? null : b.latin1Slice(spans[j], spans[j + 1]);
    externalIds[i] = spans[j + 2] < 0 ? '' : b.latin1Slice(spans[j + 2], spans[j + 3]);
    quantities[i] = spans[j + 4] < 0 ? '' : b.latin1Slice(spans[j + 4], spans[j + 5]);
  }
  return {
    count,
    validCount: batch.validCount,
    reasons: batch.reasons,
    keys,
    externalIds,
    metrics: batch.metrics,
    quantities,
    occurredMs: batch.occurredMs,
    dimensionSets: batch.dimensionSets,
    dimensionIndex: batch.dimensionIndex,
  };
}

/** Rejection reasons by code − 1. Append only: codes travel between threads, never stored. */
export const REASON_CODES = Object.keys(REJECTION_REASONS) as RejectionReason[];

export function reasonCode(reason: RejectionReason): number {
  return REASON_CODES.indexOf(reason) + 1;
}

export function reasonOf(code: number): RejectionReason {
  return REASON_CODES[code - 1];
}

/**
 * Metric codes as stored in usage_events.metric and usage_by_customer.metric: the metric's
 * position in USAGE_METRICS plus one. USAGE_METRICS is append-only for this reason.
 */
export function metricCode(metric: UsageMetric): number {
  return USAGE_METRICS.indexOf(metric) + 1;
}

export function metricOf(code: number): UsageMetric {
  const m = USAGE_METRICS[code - 1];
  if (m === undefined) throw new Error(`unknown metric code ${code}`);
  return m;
}

export function emptyBatch(count: number): CheckedBatch {
  return {
    count,
    validCount: 0,
    reasons: new Uint8Array(count),
    keys: new Array<string | null>(count).fill(null),
    externalIds: new Array<string>(count).fill(''),
    metrics: new Uint8Array(count),
    quantities: new Array<string>(count).fill(''),
    occurredMs: new Float64Array(count),
    dimensionSets: [],
    dimensionIndex: new Uint16Array(count),
  };
}

const unprocessable = (code: string, message: string) => new DomainError('unprocessable', code, message);

/**
 * Parses and checks the envelope `{ "events": [ … ] }`; returns the events array or throws
 * malformed_json / invalid_batch (422) or batch_too_large (413).
 */
export function parseBatchEnvelope(body: Buffer): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw unprocessable('malformed_json', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw unprocessable('invalid_batch', 'The body must be a JSON object: { "events": [ … ] }');
  }
  const envelope = parsed as Record<string, unknown>;
  for (const k in envelope) {
    if (k !== 'events') throw unprocessable('invalid_batch', `Unknown field "${k.slice(0, 64)}": the body is { "events": [ … ] }`);
  }
  const events = envelope.events;
  if (!Array.isArray(events)) throw unprocessable('invalid_batch', '"events" must be an array of usage events');
  if (events.length === 0) throw unprocessable('invalid_batch', '"events" must hold at least one event');
  if (events.length > MAX_EVENTS_PER_BATCH) {
    throw new DomainError('payload_too_large', 'batch_too_large', `A batch holds at most ${MAX_EVENTS_PER_BATCH} events (got ${events.length})`);
  }
  return events;
}

/** The general path: parsed events → CheckedBatch, one validateUsageEvent per event. */
export function checkUsageBatch(events: readonly unknown[], nowMs: number): CheckedBatch {
  const batch = emptyBatch(events.length);
  const setIndex = new Map<string, number>();
  for (let i = 0; i < events.length; i++) {
    const raw = events[i];
    const checked = validateUsageEvent(raw, nowMs);
    if (typeof checked === 'string') {
      batch.reasons[i] = reasonCode(checked);
      if (checked !== 'invalid_idempotency_key' && checked !== 'invalid_event') {
        batch.keys[i] = (raw as { idempotencyKey: string }).idempotencyKey;
      }
      continue;
    }
    batch.validCount++;
    batch.keys[i] = checked.idempotencyKey;
    batch.externalIds[i] = checked.customerExternalId;
    batch.metrics[i] = metricCode(checked.metric);
    batch.quantities[i] = checked.quantity;
    batch.occurredMs[i] = Date.parse(checked.occurredAt);
    let d = setIndex.get(checked.dimensions);
    if (d === undefined) setIndex.set(checked.dimensions, (d = batch.dimensionSets.push(checked.dimensions) - 1));
    batch.dimensionIndex[i] = d;
  }
  return batch;
}
