import type { MerchantScope } from '../context/index.js';
import type { IdSource } from '../ids/index.js';
import { isPackedBatch, reasonCode, reasonOf, unpackBatch } from './batch.js';
import type { RejectionReason } from './limits.js';
import { outcomeOf, readStoredOutcome, rejectedResult, storedOutcomeText } from './outcome.js';
import type { IngestJob, JobOutcome } from './writer.js';

/**
 * The rules of applying one batch, written once against a synchronous view of an open write
 * transaction. A dialect's writer supplies the view (prepared statements on SQLite) and the
 * transaction around a whole group; the decisions — duplicate or not, which reason, the
 * batch's outcome — are made here (transports render outcomes: outcome.ts).
 */
export interface UsageWriteTx {
  findIdempotencyRecord(scope: MerchantScope, key: string): StoredIdempotencyRecord | undefined;
  deleteIdempotencyRecord(scope: MerchantScope, key: string): void;
  insertIdempotencyRecord(scope: MerchantScope, key: string, record: NewIdempotencyRecord): void;
  /** The scope's integer ref (usage_scopes), created on first use. */
  scopeRef(scope: MerchantScope): number;
  autoCreatesCustomers(merchantId: string): boolean;
  /** The customer with its usage ref (usage_customers, created on first use), if it exists. */
  findCustomer(scope: MerchantScope, externalId: string): CustomerRef | undefined;
  /** Creates an auto-created customer (name = externalId); returns it as now stored. */
  createCustomer(scope: MerchantScope, externalId: string, id: string, now: string): CustomerRef;
  /** The id of this canonical dimensions JSON (usage_dimension_sets), created on first use. */
  dimensionSetRef(canonical: string): number;
  /** Inserts the event unless (scope, idempotencyKey) exists: the new row's seq, or 0. */
  insertEvent(scopeRef: number, key: string, customerRef: number, metric: number, quantity: string, occurredMs: number, dimensionsRef: number, receivedMs: number): number;
  /** The stored event with this key. */
  findEvent(scopeRef: number, key: string): { seq: number; legacy_id: string | null } | undefined;
  /** Public ids of these seqs (event-ids.ts). */
  eventIds(seqs: readonly number[]): string[];
}

export interface StoredIdempotencyRecord {
  request_hash: string;
  state: 'in_progress' | 'completed';
  /** The outcome (outcome.ts), once completed. */
  response_body: string | null;
  created_at: string;
  expires_at: string;
}

export interface NewIdempotencyRecord {
  requestHash: string;
  /** The outcome's stored form (outcome.ts `storedOutcomeText`). */
  outcome: string;
  createdAt: string;
  expiresAt: string;
}

/**
 * An `in_progress` record older than this is abandoned (its process died mid-request) and is
 * taken over instead of answering 409 `idempotency_key_in_use` until it expires a day later.
 * The SQLite writer never leaves one (claim and completion are one transaction); a writer that
 * claims first (PostgreSQL, later) must finish a request well within it. Taking over is safe:
 * the events of the abandoned attempt either committed — and dedupe by their own keys — or not.
 */
export const IN_PROGRESS_LEASE_MS = 60_000;

export interface CustomerRef {
  /** usage_customers.ref */
  ref: number;
  status: string;
  /** customers.usage_locked_until in ms, or null. */
  lockedUntilMs: number | null;
}

/**
 * What a writer may remember between groups. Scope refs and dimension-set ids never change once
 * committed; customers may (archived, period closed, created), so the writer drops `customers`
 * whenever usage_state.customers_epoch moved. Anything created inside a transaction that rolls
 * back must be forgotten too: the writer calls `clear()`.
 */
export class WriterCaches {
  scopes = new Map<string, number>();
  /**
   * scope ref → externalId → customer (null: no such customer). Misses are kept for one group
   * only (`startGroup`): a merchant may switch auto-create on, which no customer row records.
   */
  customers = new Map<number, Map<string, CustomerRef | null>>();
  private misses: Array<[Map<string, CustomerRef | null>, string]> = [];
  customerCount = 0;
  dimensions = new Map<string, number>();
  static readonly MAX_CUSTOMERS = 200_000;
  static readonly MAX_DIMENSION_SETS = 100_000;

  /** Called at the start of every group transaction. */
  startGroup(): void {
    for (const [byId, externalId] of this.misses) if (byId.get(externalId) === null) byId.delete(externalId);
    this.misses.length = 0;
  }

  noteMiss(byId: Map<string, CustomerRef | null>, externalId: string): void {
    this.misses.push([byId, externalId]);
  }

  clear(): void {
    this.scopes.clear();
    this.clearCustomers();
    this.dimensions.clear();
  }

  clearCustomers(): void {
    this.customers.clear();
    this.misses.length = 0;
    this.customerCount = 0;
  }
}

const ACCEPTED = 1;
const DUPLICATE = 2;

function customerOf(
  tx: UsageWriteTx,
  caches: WriterCaches,
  scope: MerchantScope,
  scopeRef: number,
  externalId: string,
  ids: IdSource,
  nowIso: string,
  autoCreate: { value?: boolean },
): CustomerRef | null {
  let byId = caches.customers.get(scopeRef);
  if (byId === undefined) caches.customers.set(scopeRef, (byId = new Map()));
  let customer = byId.get(externalId);
  if (customer !== undefined) return customer;
  customer = tx.findCustomer(scope, externalId) ?? null;
  if (customer === null) {
    autoCreate.value ??= tx.autoCreatesCustomers(scope.merchantId);
    if (autoCreate.value) customer = tx.createCustomer(scope, externalId, ids.next('cus'), nowIso);
  }
  if (caches.customerCount >= WriterCaches.MAX_CUSTOMERS) caches.clearCustomers();
  byId.set(externalId, customer);
  if (customer === null) caches.noteMiss(byId, externalId);
  caches.customerCount++;
  return customer;
}

/**
 * `decideOnly`: stop once every event is decided — no results, ids or Idempotency-Key record (the
 * outcome's counts only). The PostgreSQL writer's first pass uses it to learn which events the
 * rules would insert before it writes them all at once (postgres-writer.ts).
 */
export function applyIngestJob(tx: UsageWriteTx, job: IngestJob, caches: WriterCaches, ids: IdSource, nowIso: string, decideOnly = false): JobOutcome {
  const { scope } = job;
  const idem = job.idempotency;
  if (idem) {
    const existing = tx.findIdempotencyRecord(scope, idem.key);
    const abandoned = existing !== undefined && existing.state !== 'completed' && Date.parse(existing.created_at) + IN_PROGRESS_LEASE_MS <= Date.parse(nowIso);
    if (existing && existing.expires_at > nowIso && !abandoned) {
      if (existing.request_hash !== idem.requestHash) return { kind: 'key_reused' };
      if (existing.state !== 'completed' || existing.response_body === null) return { kind: 'key_in_use' };
      return { kind: 'replayed', outcome: readStoredOutcome(existing.response_body) };
    }
    if (existing) tx.deleteIdempotencyRecord(scope, idem.key); // expired or abandoned: as if absent
  }
  const batch = unpackBatch(job.batch);
  // The scanner admits only printable ASCII other than `"` and `\` in strings, so its keys are
  // their own JSON text between quotes; the general path's keys may need escaping.
  const quoteKey = isPackedBatch(job.batch) ? (k: string) => `"${k}"` : (k: string) => JSON.stringify(k);

  const scopeKey = `${scope.merchantId}\u0000${scope.environment}`;
  let scopeRef = caches.scopes.get(scopeKey);
  if (scopeRef === undefined) caches.scopes.set(scopeKey, (scopeRef = tx.scopeRef(scope)));

  const n = batch.count;
  // Per event: ACCEPTED / DUPLICATE with its seq (or legacy id), else a rejection code.
  const outcome = new Uint8Array(n);
  const reasons = batch.reasons.slice();
  const seqs: number[] = [];
  const seqOf = new Int32Array(n).fill(-1); // index into seqs
  // Per distinct dimension set of the batch: its usage_dimension_sets id, resolved on first use
  // (0: not yet; ids are rowids, ≥ 1). Float64: an id is a rowid, which can outgrow an Int32.
  const dimensionRefs = new Float64Array(batch.dimensionSets.length);
  let legacy: Map<number, string> | undefined;
  const autoCreate: { value?: boolean } = {};
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    if (reasons[i] !== 0) {
      rejected++;
      continue;
    }
    const customer = customerOf(tx, caches, scope, scopeRef, batch.externalIds[i], ids, nowIso, autoCreate);
    let refusal: RejectionReason | undefined;
    if (customer === null) refusal = 'unknown_customer';
    else if (customer.status !== 'active') refusal = 'customer_archived';
    else if (customer.lockedUntilMs !== null && batch.occurredMs[i] < customer.lockedUntilMs) refusal = 'period_closed';

    const key = batch.keys[i]!;
    if (refusal === undefined) {
      const d = batch.dimensionIndex[i];
      let dims = dimensionRefs[d];
      if (dims === 0) {
        const canonical = batch.dimensionSets[d];
        let ref = caches.dimensions.get(canonical);
        if (ref === undefined) {
          ref = tx.dimensionSetRef(canonical);
          if (caches.dimensions.size >= WriterCaches.MAX_DIMENSION_SETS) caches.dimensions.clear();
          caches.dimensions.set(canonical, ref);
        }
        dimensionRefs[d] = dims = ref;
      }
      const seq = tx.insertEvent(scopeRef, key, customer!.ref, batch.metrics[i], batch.quantities[i], batch.occurredMs[i], dims, job.receivedMs);
      if (seq !== 0) {
        accepted++;
        outcome[i] = ACCEPTED;
        seqOf[i] = seqs.push(seq) - 1;
        continue;
      }
    }
    // A retry of an event stored earlier is a duplicate even if its period has closed since.
    const original = tx.findEvent(scopeRef, key);
    if (original !== undefined) {
      duplicates++;
      outcome[i] = DUPLICATE;
      if (original.legacy_id !== null) (legacy ??= new Map()).set(i, original.legacy_id);
      else seqOf[i] = seqs.push(original.seq) - 1;
    } else if (refusal !== undefined) {
      rejected++;
      reasons[i] = reasonCode(refusal);
    } else {
      throw new Error('usage event insert conflicted but no stored event has its key');
    }
  }

  if (decideOnly) return { kind: 'executed', outcome: outcomeOf({ accepted, duplicates, rejected }, '[]') };
  const eventIds = tx.eventIds(seqs);
  let out = '';
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ',';
    const o = outcome[i];
    if (o === 0) {
      out += rejectedResult(batch.keys[i], reasonOf(reasons[i]));
      continue;
    }
    const id = seqOf[i] >= 0 ? eventIds[seqOf[i]] : legacy!.get(i)!;
    out += `{"idempotencyKey":${quoteKey(batch.keys[i]!)},"status":"${o === ACCEPTED ? 'accepted' : 'duplicate'}","eventId":"${id}"}`;
  }

  const decided = outcomeOf({ accepted, duplicates, rejected }, `[${out}]`);
  if (idem) {
    tx.insertIdempotencyRecord(scope, idem.key, { requestHash: idem.requestHash, outcome: storedOutcomeText(decided), createdAt: nowIso, expiresAt: idem.expiresAt });
  }
  return { kind: 'executed', outcome: decided };
}
