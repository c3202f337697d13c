import type { MerchantScope } from '../context/index.js';
import type { IdSource } from '../ids/index.js';
import type { RejectionReason } from './limits.js';
import type { ValidUsageEvent } from './validate.js';
import { type IngestJob, type JobOutcome, isRefused } from './writer.js';

/**
 * The rules of applying one batch, written once against a synchronous view of an open write
 * transaction. A dialect's writer supplies the view (prepared statements on SQLite) and the
 * transaction around a whole group; the decisions — duplicate or not, which reason, what the
 * response is — are made here.
 */
export interface UsageWriteTx {
  findIdempotencyRecord(scope: MerchantScope, key: string): StoredIdempotencyRecord | undefined;
  deleteIdempotencyRecord(scope: MerchantScope, key: string): void;
  insertIdempotencyRecord(scope: MerchantScope, key: string, record: NewIdempotencyRecord): void;
  autoCreatesCustomers(merchantId: string): boolean;
  findCustomer(scope: MerchantScope, externalId: string): CustomerRef | undefined;
  /** Creates an auto-created customer (name = externalId); returns the row now stored. */
  createCustomer(scope: MerchantScope, externalId: string, id: string, now: string): CustomerRef;
  /** Inserts the event unless its (merchant, environment, idempotencyKey) exists; true when inserted. */
  insertEvent(scope: MerchantScope, id: string, customerId: string, e: ValidUsageEvent, receivedAt: string): boolean;
  /** The id of the stored event with this key. */
  findEventId(scope: MerchantScope, key: string): string | undefined;
}

export interface StoredIdempotencyRecord {
  request_hash: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: string | null;
  expires_at: string;
}

export interface NewIdempotencyRecord {
  requestHash: string;
  status: number;
  body: string;
  createdAt: string;
  expiresAt: string;
}

export interface CustomerRef {
  id: string;
  status: string;
  usage_locked_until: string | null;
}

/** Customers resolved during one group transaction, keyed by merchant, environment, externalId. */
export type CustomerCache = Map<string, CustomerRef | null>;

const ALL_REJECTED_MESSAGE = 'Every event in the batch was rejected; see results[].reason';

export function applyIngestJob(tx: UsageWriteTx, job: IngestJob, cache: CustomerCache, ids: IdSource, nowIso: string): JobOutcome {
  const { scope } = job;
  const idem = job.idempotency;
  if (idem) {
    const existing = tx.findIdempotencyRecord(scope, idem.key);
    if (existing && existing.expires_at > nowIso) {
      if (existing.request_hash !== idem.requestHash) return { kind: 'key_reused' };
      if (existing.state !== 'completed' || existing.response_status === null || existing.response_body === null) return { kind: 'key_in_use' };
      return { kind: 'replayed', status: existing.response_status, body: existing.response_body };
    }
    if (existing) tx.deleteIdempotencyRecord(scope, idem.key); // expired: as if absent
  }

  let autoCreate: boolean | undefined;
  const cachePrefix = `${scope.merchantId}\u0000${scope.environment}\u0000`;
  const n = job.events.length;
  let out = '';
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    const e = job.events[i];
    if (i > 0) out += ',';
    if (isRefused(e)) {
      rejected++;
      out += rejectedResult(e.idempotencyKey, e.rejected);
      continue;
    }
    const cacheKey = cachePrefix + e.customerExternalId;
    let customer = cache.get(cacheKey);
    if (customer === undefined) {
      customer = tx.findCustomer(scope, e.customerExternalId) ?? null;
      if (customer === null) {
        autoCreate ??= tx.autoCreatesCustomers(scope.merchantId);
        if (autoCreate) customer = tx.createCustomer(scope, e.customerExternalId, ids.next('cus'), nowIso);
      }
      cache.set(cacheKey, customer);
    }
    let refusal: RejectionReason | undefined;
    if (customer === null) refusal = 'unknown_customer';
    else if (customer.status !== 'active') refusal = 'customer_archived';
    else if (customer.usage_locked_until !== null && e.occurredAt < customer.usage_locked_until) refusal = 'period_closed';

    if (refusal === undefined) {
      const id = ids.next('evt');
      if (tx.insertEvent(scope, id, customer!.id, e, job.receivedAt)) {
        accepted++;
        out += `{"idempotencyKey":${JSON.stringify(e.idempotencyKey)},"status":"accepted","eventId":"${id}"}`;
        continue;
      }
    }
    // A retry of an event stored earlier is a duplicate even if its period has closed since.
    const original = tx.findEventId(scope, e.idempotencyKey);
    if (original !== undefined) {
      duplicates++;
      out += `{"idempotencyKey":${JSON.stringify(e.idempotencyKey)},"status":"duplicate","eventId":"${original}"}`;
    } else if (refusal !== undefined) {
      rejected++;
      out += rejectedResult(e.idempotencyKey, refusal);
    } else {
      throw new Error('usage event insert conflicted but no stored event has its key');
    }
  }

  const counts = `"accepted":${accepted},"duplicates":${duplicates},"rejected":${rejected},"results":[${out}]}`;
  const allRejected = rejected === n;
  const status = allRejected ? 422 : 200;
  const body = allRejected
    ? `{"ok":false,"error":"all_events_rejected","message":${JSON.stringify(ALL_REJECTED_MESSAGE)},${counts}`
    : `{${counts}`;
  if (idem) {
    tx.insertIdempotencyRecord(scope, idem.key, { requestHash: idem.requestHash, status, body, createdAt: nowIso, expiresAt: idem.expiresAt });
  }
  return { kind: 'executed', status, body };
}

function rejectedResult(key: string | undefined, reason: RejectionReason): string {
  return key === undefined ? `{"status":"rejected","reason":"${reason}"}` : `{"idempotencyKey":${JSON.stringify(key)},"status":"rejected","reason":"${reason}"}`;
}

/** Responses for batches refused entirely before the database (no Idempotency-Key involved). */
export function renderAllRejected(job: IngestJob): string {
  let out = '';
  for (let i = 0; i < job.events.length; i++) {
    const e = job.events[i];
    if (!isRefused(e)) throw new Error('renderAllRejected: batch has a valid event');
    out += (i > 0 ? ',' : '') + rejectedResult(e.idempotencyKey, e.rejected);
  }
  return `{"ok":false,"error":"all_events_rejected","message":${JSON.stringify(ALL_REJECTED_MESSAGE)},"accepted":0,"duplicates":0,"rejected":${job.events.length},"results":[${out}]}`;
}
