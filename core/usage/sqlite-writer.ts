import type BetterSqlite3 from 'better-sqlite3';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { type CustomerRef, type StoredIdempotencyRecord, type UsageWriteTx, WriterCaches, applyIngestJob } from './apply-job.js';
import type { EventFeedWriter } from './event-feed.js';
import { type EventIdCodec, createEventIdCodec } from './event-ids.js';
import { createSqliteUsageIndexer } from './sqlite-indexer.js';
import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

/** Expired Idempotency-Key records are purged at most this often, a bounded slice at a time. */
const PURGE_EVERY_MS = 60_000;
const PURGE_SLICE = 1_000;

function prepare(raw: BetterSqlite3.Database) {
  return {
    // IMMEDIATE: take the write lock up front (another process waits on busy_timeout).
    begin: raw.prepare('BEGIN IMMEDIATE'),
    commit: raw.prepare('COMMIT'),
    rollback: raw.prepare('ROLLBACK'),
    savepoint: raw.prepare('SAVEPOINT usage_job'),
    release: raw.prepare('RELEASE usage_job'),
    rollbackToSavepoint: raw.prepare('ROLLBACK TO usage_job'),
    customersEpoch: raw.prepare('SELECT customers_epoch FROM usage_state WHERE id = 1').pluck(),
    eventIdKey: raw.prepare('SELECT event_id_key FROM usage_state WHERE id = 1').pluck(),
    findIdempotency: raw.prepare(
      'SELECT request_hash, state, response_body, created_at, expires_at FROM idempotency_records WHERE merchant_id = ? AND environment = ? AND idempotency_key = ?',
    ),
    deleteIdempotency: raw.prepare('DELETE FROM idempotency_records WHERE merchant_id = ? AND environment = ? AND idempotency_key = ?'),
    insertIdempotency: raw.prepare(
      `INSERT INTO idempotency_records (merchant_id, environment, idempotency_key, request_hash, state, response_status, response_body, created_at, expires_at)
       VALUES (?, ?, ?, ?, 'completed', NULL, ?, ?, ?)`,
    ),
    purgeIdempotency: raw.prepare('DELETE FROM idempotency_records WHERE rowid IN (SELECT rowid FROM idempotency_records WHERE expires_at <= ? LIMIT ?)'),
    findScope: raw.prepare('SELECT id FROM usage_scopes WHERE merchant_id = ? AND environment = ?').pluck(),
    insertScope: raw.prepare('INSERT INTO usage_scopes (merchant_id, environment) VALUES (?, ?)'),
    merchantAutoCreate: raw.prepare('SELECT auto_create_customers FROM merchants WHERE id = ?').pluck(),
    findCustomer: raw.prepare(
      `SELECT c.id, c.status, c.usage_locked_until, u.ref FROM customers c LEFT JOIN usage_customers u ON u.customer_id = c.id
       WHERE c.merchant_id = ? AND c.environment = ? AND c.external_id = ?`,
    ),
    insertCustomerRef: raw.prepare('INSERT INTO usage_customers (customer_id) VALUES (?)'),
    insertCustomer: raw.prepare(
      `INSERT INTO customers (id, merchant_id, environment, external_id, name, email, metadata, status, usage_locked_until, auto_created, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, '{}', 'active', NULL, 1, ?, ?)
       ON CONFLICT (merchant_id, environment, external_id) DO NOTHING`,
    ),
    findDimensionSet: raw.prepare('SELECT id FROM usage_dimension_sets WHERE canonical = ?').pluck(),
    insertDimensionSet: raw.prepare('INSERT INTO usage_dimension_sets (canonical) VALUES (?)'),
    insertEvent: raw.prepare(
      `INSERT INTO usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, idempotency_key) DO NOTHING`,
    ),
    findEvent: raw.prepare('SELECT seq, legacy_id FROM usage_events WHERE scope = ? AND idempotency_key = ?'),
  };
}
type Statements = ReturnType<typeof prepare>;

interface CustomerRow {
  id: string;
  status: string;
  usage_locked_until: string | null;
  ref: number | null;
}

function writeTx(s: Statements, codec: EventIdCodec, feed: EventFeedWriter | undefined): UsageWriteTx {
  const withRef = (row: CustomerRow): CustomerRef => ({
    ref: row.ref ?? Number(s.insertCustomerRef.run(row.id).lastInsertRowid),
    status: row.status,
    lockedUntilMs: row.usage_locked_until === null ? null : Date.parse(row.usage_locked_until),
  });
  return {
    findIdempotencyRecord: (scope, key) => s.findIdempotency.get(scope.merchantId, scope.environment, key) as StoredIdempotencyRecord | undefined,
    deleteIdempotencyRecord: (scope, key) => void s.deleteIdempotency.run(scope.merchantId, scope.environment, key),
    insertIdempotencyRecord: (scope, key, r) => void s.insertIdempotency.run(scope.merchantId, scope.environment, key, r.requestHash, r.outcome, r.createdAt, r.expiresAt),
    scopeRef: (scope) =>
      (s.findScope.get(scope.merchantId, scope.environment) as number | undefined) ?? Number(s.insertScope.run(scope.merchantId, scope.environment).lastInsertRowid),
    autoCreatesCustomers: (merchantId) => s.merchantAutoCreate.get(merchantId) === 1,
    findCustomer(scope, externalId) {
      const row = s.findCustomer.get(scope.merchantId, scope.environment, externalId) as CustomerRow | undefined;
      return row && withRef(row);
    },
    createCustomer(scope: MerchantScope, externalId: string, id: string, now: string): CustomerRef {
      s.insertCustomer.run(id, scope.merchantId, scope.environment, externalId, externalId, now, now);
      return withRef(s.findCustomer.get(scope.merchantId, scope.environment, externalId) as CustomerRow);
    },
    dimensionSetRef: (canonical) => (s.findDimensionSet.get(canonical) as number | undefined) ?? Number(s.insertDimensionSet.run(canonical).lastInsertRowid),
    insertEvent(scopeRef, key, customerRef, metric, quantity, occurredMs, dimensionsRef, receivedMs) {
      const r = s.insertEvent.run(scopeRef, key, customerRef, metric, quantity, occurredMs, dimensionsRef, receivedMs);
      if (r.changes !== 1) return 0;
      const seq = Number(r.lastInsertRowid);
      feed?.add(seq, customerRef, occurredMs, metric, dimensionsRef, quantity);
      return seq;
    },
    findEvent: (scopeRef, key) => s.findEvent.get(scopeRef, key) as { seq: number; legacy_id: string | null } | undefined,
    eventIds: (seqs) => codec.encode(seqs),
  };
}

/**
 * Group commit on SQLite: every queued batch is applied inside ONE `BEGIN IMMEDIATE … COMMIT`
 * with prepared statements, run synchronously under `db.exclusive` (nothing else is on the
 * connection meanwhile). Each batch gets a savepoint, so a batch that fails rolls back alone.
 * With synchronous=FULL the COMMIT returns after the WAL is fsynced; only then are outcomes
 * handed back — so a 200 always means durably stored, and one fsync is shared by the group.
 */
export function createSqliteUsageEventWriter(ctx: CoreContext, options: { feed?: EventFeedWriter } = {}): UsageEventWriter {
  const { feed } = options;
  const db = ctx.db;
  if (!db.exclusive) throw new Error('SQLite usage-event writer needs db.exclusive');
  const prepared = new WeakMap<BetterSqlite3.Database, { s: Statements; tx: UsageWriteTx }>();
  const caches = new WriterCaches();
  const indexer = createSqliteUsageIndexer(db);
  let epoch = -1;
  let lastPurgeMs = -Infinity;

  const statements = (raw: BetterSqlite3.Database) => {
    let p = prepared.get(raw);
    if (!p) {
      const s = prepare(raw);
      const key = s.eventIdKey.get() as Buffer | undefined;
      if (!key) throw new Error('usage_state has no event id key (migration 0006 missing?)');
      p = { s, tx: writeTx(s, createEventIdCodec(key), feed) };
      prepared.set(raw, p);
    }
    return p;
  };

  return {
    // The index lives in its own file (core/db/usage-index-file.ts); in process, this connection has it attached.
    indexCustomerUsage: (maxRows: number) => indexer.indexCustomerUsage(maxRows),
    unindexedCount: () => indexer.unindexedCount(),
    commitGroup(jobs: readonly IngestJob[]): Promise<JobOutcome[]> {
      return db.exclusive!<JobOutcome[]>((raw) => {
        const { s, tx } = statements(raw);
        const now = ctx.clock.now();
        const nowIso = now.toISOString();
        const outcomes: JobOutcome[] = new Array(jobs.length);
        s.begin.run();
        try {
          // Inside the write transaction nobody else can change customers: if the counter is
          // where it was, every cached customer is still exactly as stored.
          const current = s.customersEpoch.get() as number;
          if (current !== epoch) {
            caches.clearCustomers();
            epoch = current;
          }
          caches.startGroup();
          for (let i = 0; i < jobs.length; i++) {
            s.savepoint.run();
            const mark = feed?.mark() ?? 0;
            try {
              outcomes[i] = applyIngestJob(tx, jobs[i], caches, ctx.ids, nowIso);
              s.release.run();
            } catch (error) {
              s.rollbackToSavepoint.run();
              s.release.run();
              feed?.rewind(mark);
              caches.clear(); // rows it created (customers, refs, dimension sets) are gone again
              outcomes[i] = { kind: 'failed', error };
            }
          }
          if (now.getTime() - lastPurgeMs >= PURGE_EVERY_MS) {
            lastPurgeMs = now.getTime();
            s.purgeIdempotency.run(nowIso, PURGE_SLICE);
          }
          s.commit.run();
          feed?.publish(); // committed: the usage reader thread may take these rows (event-feed.ts)
        } catch (error) {
          feed?.discard();
          caches.clear();
          epoch = -1;
          if (raw.inTransaction) s.rollback.run();
          throw error;
        }
        return outcomes;
      });
    },
  };
}
