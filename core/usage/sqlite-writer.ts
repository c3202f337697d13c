import type BetterSqlite3 from 'better-sqlite3';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { type CustomerCache, type CustomerRef, type StoredIdempotencyRecord, type UsageWriteTx, applyIngestJob } from './apply-job.js';
import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

/** Expired Idempotency-Key records are purged at most this often, a bounded slice at a time. */
const PURGE_EVERY_MS = 60_000;
const PURGE_SLICE = 1_000;

interface Statements {
  begin: BetterSqlite3.Statement;
  commit: BetterSqlite3.Statement;
  rollback: BetterSqlite3.Statement;
  savepoint: BetterSqlite3.Statement;
  release: BetterSqlite3.Statement;
  rollbackToSavepoint: BetterSqlite3.Statement;
  findIdempotency: BetterSqlite3.Statement;
  deleteIdempotency: BetterSqlite3.Statement;
  insertIdempotency: BetterSqlite3.Statement;
  purgeIdempotency: BetterSqlite3.Statement;
  merchantAutoCreate: BetterSqlite3.Statement;
  findCustomer: BetterSqlite3.Statement;
  insertCustomer: BetterSqlite3.Statement;
  insertEvent: BetterSqlite3.Statement;
  findEventId: BetterSqlite3.Statement;
  indexCursor: BetterSqlite3.Statement;
  maxSeq: BetterSqlite3.Statement;
  unindexed: BetterSqlite3.Statement;
  insertByCustomer: BetterSqlite3.Statement;
  advanceCursor: BetterSqlite3.Statement;
}

function prepare(raw: BetterSqlite3.Database): Statements {
  return {
    // IMMEDIATE: take the write lock up front (another process waits on busy_timeout).
    begin: raw.prepare('BEGIN IMMEDIATE'),
    commit: raw.prepare('COMMIT'),
    rollback: raw.prepare('ROLLBACK'),
    savepoint: raw.prepare('SAVEPOINT usage_job'),
    release: raw.prepare('RELEASE usage_job'),
    rollbackToSavepoint: raw.prepare('ROLLBACK TO usage_job'),
    findIdempotency: raw.prepare(
      'SELECT request_hash, state, response_status, response_body, expires_at FROM idempotency_records WHERE merchant_id = ? AND environment = ? AND idempotency_key = ?',
    ),
    deleteIdempotency: raw.prepare('DELETE FROM idempotency_records WHERE merchant_id = ? AND environment = ? AND idempotency_key = ?'),
    insertIdempotency: raw.prepare(
      `INSERT INTO idempotency_records (merchant_id, environment, idempotency_key, request_hash, state, response_status, response_body, created_at, expires_at)
       VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, ?)`,
    ),
    purgeIdempotency: raw.prepare(
      'DELETE FROM idempotency_records WHERE rowid IN (SELECT rowid FROM idempotency_records WHERE expires_at <= ? LIMIT ?)',
    ),
    merchantAutoCreate: raw.prepare('SELECT auto_create_customers FROM merchants WHERE id = ?').pluck(),
    findCustomer: raw.prepare('SELECT id, status, usage_locked_until FROM customers WHERE merchant_id = ? AND environment = ? AND external_id = ?'),
    insertCustomer: raw.prepare(
      `INSERT INTO customers (id, merchant_id, environment, external_id, name, email, metadata, status, usage_locked_until, auto_created, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, '{}', 'active', NULL, 1, ?, ?)
       ON CONFLICT (merchant_id, environment, external_id) DO NOTHING`,
    ),
    insertEvent: raw.prepare(
      `INSERT INTO usage_events (id, merchant_id, environment, idempotency_key, customer_id, metric, quantity, occurred_at, dimensions, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (merchant_id, environment, idempotency_key) DO NOTHING`,
    ),
    findEventId: raw.prepare('SELECT id FROM usage_events WHERE merchant_id = ? AND environment = ? AND idempotency_key = ?').pluck(),
    indexCursor: raw.prepare("SELECT last_seq FROM usage_index_state WHERE name = 'usage_by_customer'").pluck(),
    maxSeq: raw.prepare('SELECT COALESCE(MAX(seq), 0) FROM usage_events').pluck(),
    unindexed: raw
      .prepare('SELECT seq, customer_id, occurred_at, metric, quantity, dimensions FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?')
      .raw(),
    insertByCustomer: raw.prepare(
      'INSERT INTO usage_by_customer (customer_id, occurred_at, seq, metric, quantity, dimensions) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    advanceCursor: raw.prepare("UPDATE usage_index_state SET last_seq = ? WHERE name = 'usage_by_customer' AND last_seq < ?"),
  };
}

function writeTx(s: Statements): UsageWriteTx {
  return {
    findIdempotencyRecord: (scope, key) => s.findIdempotency.get(scope.merchantId, scope.environment, key) as StoredIdempotencyRecord | undefined,
    deleteIdempotencyRecord: (scope, key) => void s.deleteIdempotency.run(scope.merchantId, scope.environment, key),
    insertIdempotencyRecord: (scope, key, r) =>
      void s.insertIdempotency.run(scope.merchantId, scope.environment, key, r.requestHash, r.status, r.body, r.createdAt, r.expiresAt),
    autoCreatesCustomers: (merchantId) => s.merchantAutoCreate.get(merchantId) === 1,
    findCustomer: (scope, externalId) => s.findCustomer.get(scope.merchantId, scope.environment, externalId) as CustomerRef | undefined,
    createCustomer(scope: MerchantScope, externalId: string, id: string, now: string): CustomerRef {
      s.insertCustomer.run(id, scope.merchantId, scope.environment, externalId, externalId, now, now);
      return s.findCustomer.get(scope.merchantId, scope.environment, externalId) as CustomerRef;
    },
    insertEvent: (scope, id, customerId, e, receivedAt) =>
      s.insertEvent.run(id, scope.merchantId, scope.environment, e.idempotencyKey, customerId, e.metric, e.quantity, e.occurredAt, e.dimensions, receivedAt)
        .changes === 1,
    findEventId: (scope, key) => s.findEventId.get(scope.merchantId, scope.environment, key) as string | undefined,
  };
}

/**
 * Group commit on SQLite: every queued batch is applied inside ONE `BEGIN IMMEDIATE … COMMIT`
 * with prepared statements, run synchronously under `db.exclusive` (nothing else is on the
 * connection meanwhile). Each batch gets a savepoint, so a batch that fails rolls back alone.
 * With synchronous=FULL the COMMIT returns after the WAL is fsynced; only then are outcomes
 * handed back — so a 200 always means durably stored, and one fsync is shared by the group.
 */
export function createSqliteUsageEventWriter(ctx: CoreContext): UsageEventWriter {
  const db = ctx.db;
  if (!db.exclusive) throw new Error('SQLite usage-event writer needs db.exclusive');
  const prepared = new WeakMap<BetterSqlite3.Database, { s: Statements; tx: UsageWriteTx }>();
  let lastPurgeMs = -Infinity;

  const statements = (raw: BetterSqlite3.Database) => {
    let p = prepared.get(raw);
    if (!p) {
      const s = prepare(raw);
      p = { s, tx: writeTx(s) };
      prepared.set(raw, p);
    }
    return p;
  };

  return {
    indexCustomerUsage(maxRows: number): Promise<number> {
      return db.exclusive!<number>((raw) => {
        const { s } = statements(raw);
        s.begin.run();
        try {
          const from = s.indexCursor.get() as number;
          const rows = s.unindexed.all(from, maxRows) as Array<[number, string, string, string, string, string]>;
          if (rows.length === 0) {
            s.commit.run();
            return 0;
          }
          // Sorted by the target key, the inserts walk the index in order: each page is written
          // once per batch instead of once per event — the point of indexing in bulk.
          rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : a[0] - b[0]));
          let last = from;
          for (const r of rows) {
            s.insertByCustomer.run(r[1], r[2], r[0], r[3], r[4], r[5]);
            if (r[0] > last) last = r[0];
          }
          s.advanceCursor.run(last, last);
          s.commit.run();
          return rows.length;
        } catch (error) {
          if (raw.inTransaction) s.rollback.run();
          throw error;
        }
      });
    },
    unindexedCount(): Promise<number> {
      return db.exclusive!<number>((raw) => {
        const { s } = statements(raw);
        return (s.maxSeq.get() as number) - (s.indexCursor.get() as number);
      });
    },
    commitGroup(jobs: readonly IngestJob[]): Promise<JobOutcome[]> {
      return db.exclusive!<JobOutcome[]>((raw) => {
        const { s, tx } = statements(raw);
        const now = ctx.clock.now();
        const nowIso = now.toISOString();
        const outcomes: JobOutcome[] = new Array(jobs.length);
        const cache: CustomerCache = new Map();
        s.begin.run();
        try {
          for (let i = 0; i < jobs.length; i++) {
            s.savepoint.run();
            try {
              outcomes[i] = applyIngestJob(tx, jobs[i], cache, ctx.ids, nowIso);
              s.release.run();
            } catch (error) {
              s.rollbackToSavepoint.run();
              s.release.run();
              cache.clear(); // customers it auto-created are gone again
              outcomes[i] = { kind: 'failed', error };
            }
          }
          if (now.getTime() - lastPurgeMs >= PURGE_EVERY_MS) {
            lastPurgeMs = now.getTime();
            s.purgeIdempotency.run(nowIso, PURGE_SLICE);
          }
          s.commit.run();
        } catch (error) {
          if (raw.inTransaction) s.rollback.run();
          throw error;
        }
        return outcomes;
      });
    },
  };
}
