import { type Kysely, sql } from 'kysely';
import type { CoreContext, MerchantScope } from '../context/index.js';
import type { Database } from '../db/index.js';
import { type CustomerRef, type StoredIdempotencyRecord, type UsageWriteTx, WriterCaches, applyIngestJob } from './apply-job.js';
import { unpackBatch } from './batch.js';
import { type EventIdCodec, createEventIdCodec } from './event-ids.js';
import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

/** Expired Idempotency-Key records are purged at most this often, a bounded slice at a time. */
const PURGE_EVERY_MS = 60_000;
const PURGE_SLICE = 1_000;

/**
 * Group commit on PostgreSQL — the straightforward design of the first slice (the high-throughput
 * one, and its bench, come later; see core/usage/README.md):
 *
 * - A group of batches is one transaction. Like every transaction on PostgreSQL it first takes
 *   the database's write lock (core/db/postgres.ts), so groups from every replica apply one at a
 *   time — exactly the guarantee SQLite's BEGIN IMMEDIATE gives the SQLite writer. Each batch
 *   gets a savepoint, so a batch that fails rolls back alone; outcomes are handed back only after
 *   COMMIT returned (a 200 means stored).
 * - The rules of a batch are not written twice: each batch is decided by the same
 *   `applyIngestJob` as on SQLite, over a synchronous view of the transaction. The view is filled
 *   first, asynchronously, with a handful of set-wise queries (the Idempotency-Key record, the
 *   scope, the batch's customers — auto-created when the merchant wants that —, dimension sets,
 *   the events already stored under the batch's keys, and as many seqs as the batch could need,
 *   drawn from the sequence). What the decision wrote is then applied in one multi-row
 *   `INSERT … ON CONFLICT DO NOTHING RETURNING`, and the stored response in the same transaction.
 *   Holding the write lock, nothing can change the view between reading and writing; the
 *   RETURNING count is checked all the same.
 * - Idempotency-Key across replicas: a request in flight on replica A holds the lock; its retry
 *   on replica B waits for it and then finds the completed record and replays — never a second
 *   execution. Per-event dedupe across replicas is the (scope, idempotency_key) unique index.
 * - seqs are drawn inside the locked transaction, so they increase in commit order (the usage
 *   indexer's cursor relies on that); a rolled-back batch leaves a gap, which nothing minds.
 */
export function createPostgresUsageEventWriter(ctx: CoreContext): UsageEventWriter {
  const db = ctx.db;
  let codec: EventIdCodec | undefined;
  let lastPurgeMs = -Infinity;

  async function eventIdCodec(k: Kysely<Database>): Promise<EventIdCodec> {
    if (codec) return codec;
    const row = await k.selectFrom('usage_state').select('event_id_key').where('id', '=', 1).executeTakeFirst();
    if (!row) throw new Error('usage_state has no event id key (migration 0006 missing?)');
    codec = createEventIdCodec(row.event_id_key as Uint8Array);
    return codec;
  }

  async function applyJob(k: Kysely<Database>, job: IngestJob, nowIso: string): Promise<JobOutcome> {
    const { scope } = job;
    const batch = unpackBatch(job.batch);
    const idem = job.idempotency;
    const record = idem
      ? ((await k
          .selectFrom('idempotency_records')
          .select(['request_hash', 'state', 'response_body', 'created_at', 'expires_at'])
          .where('merchant_id', '=', scope.merchantId)
          .where('environment', '=', scope.environment)
          .where('idempotency_key', '=', idem.key)
          .executeTakeFirst()) as StoredIdempotencyRecord | undefined)
      : undefined;
    if (record !== undefined) {
      // A replay, a reused key or a key in use is decided from the record alone: answer before
      // resolving (and perhaps creating) anything the batch names, as the SQLite writer does.
      const early = decideFromRecord(job, record, nowIso);
      if (early) return early;
    }
    const scopeRef = await usageScopeRef(k, scope);

    // What the batch's valid events need; invalid ones are rejected before any lookup.
    const externalIds = new Set<string>();
    const keys = new Set<string>();
    const canonicals = new Set<string>();
    for (let i = 0; i < batch.count; i++) {
      if (batch.reasons[i] !== 0) continue;
      externalIds.add(batch.externalIds[i]);
      keys.add(batch.keys[i]!);
      canonicals.add(batch.dimensionSets[batch.dimensionIndex[i]]);
    }
    const customers = await batchCustomers(k, scope, [...externalIds], () => ctx.ids.next('cus'), nowIso);
    const dimensionRefs = await dimensionSetRefs(k, [...canonicals]);
    const stored = new Map<string, { seq: number; legacy_id: string | null }>();
    if (keys.size > 0) {
      const rows = await k
        .selectFrom('usage_events')
        .select(['idempotency_key', 'seq', 'legacy_id'])
        .where('scope', '=', scopeRef)
        .where('idempotency_key', '=', sql<string>`any(${[...keys]}::text[])`)
        .execute();
      for (const r of rows) stored.set(r.idempotency_key, { seq: Number(r.seq), legacy_id: r.legacy_id });
    }
    const seqs =
      keys.size === 0
        ? []
        : (await sql<{ seq: string }>`select nextval(pg_get_serial_sequence('usage_events', 'seq'))::text as seq from generate_series(1, ${keys.size})`.execute(k)).rows.map((r) =>
            Number(r.seq),
          );

    // The decision, made by the rules shared with SQLite.
    const inserted: Array<[number, string, number, number, string, number, number]> = [];
    const insertedByKey = new Map<string, { seq: number; legacy_id: null }>();
    let deleteRecord = false;
    let newRecord: Parameters<UsageWriteTx['insertIdempotencyRecord']>[2] | undefined;
    const codecNow = await eventIdCodec(k);
    const view: UsageWriteTx = {
      findIdempotencyRecord: () => record,
      deleteIdempotencyRecord: () => {
        deleteRecord = true;
      },
      insertIdempotencyRecord: (_scope, _key, r) => {
        newRecord = r;
      },
      scopeRef: () => scopeRef,
      autoCreatesCustomers: () => customers.autoCreate,
      findCustomer: (_scope, externalId) => customers.byExternalId.get(externalId),
      createCustomer: () => {
        // batchCustomers created every customer the batch may create, before the decision.
        throw new Error('unexpected customer creation while applying a usage batch');
      },
      dimensionSetRef: (canonical) => {
        const ref = dimensionRefs.get(canonical);
        if (ref === undefined) throw new Error('dimension set not resolved before applying a usage batch');
        return ref;
      },
      insertEvent(_scopeRef, key, customerRef, metric, quantity, occurredMs, dimensionsRef, receivedMs) {
        if (stored.has(key) || insertedByKey.has(key)) return 0;
        const seq = seqs[inserted.length];
        if (seq === undefined) throw new Error('more usage events than seqs drawn');
        inserted.push([seq, key, customerRef, metric, quantity, occurredMs, dimensionsRef]);
        insertedByKey.set(key, { seq, legacy_id: null });
        void receivedMs;
        return seq;
      },
      findEvent: (_scopeRef, key) => stored.get(key) ?? insertedByKey.get(key),
      eventIds: (list) => codecNow.encode(list),
    };
    const outcome = applyIngestJob(view, job, new WriterCaches(), ctx.ids, nowIso);
    if (outcome.kind !== 'executed') return outcome;

    // What it decided, written.
    if (deleteRecord && idem) {
      await k
        .deleteFrom('idempotency_records')
        .where('merchant_id', '=', scope.merchantId)
        .where('environment', '=', scope.environment)
        .where('idempotency_key', '=', idem.key)
        .execute();
    }
    if (inserted.length > 0) {
      const col = (i: number) => inserted.map((r) => r[i]);
      const result = await sql<{ seq: string }>`
        insert into usage_events (seq, scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at)
        select s, ${scopeRef}::bigint, key, c, m, q, o, d, ${job.receivedMs}::bigint
        from unnest(${col(0)}::bigint[], ${col(1)}::text[], ${col(2)}::bigint[], ${col(3)}::int[], ${col(4)}::numeric[], ${col(5)}::bigint[], ${col(6)}::bigint[])
          as t(s, key, c, m, q, o, d)
        on conflict (scope, idempotency_key) do nothing
        returning seq`.execute(k);
      if (result.rows.length !== inserted.length) throw new Error('usage events changed while their batch was applied (write lock not held?)');
    }
    if (newRecord && idem) {
      await k
        .insertInto('idempotency_records')
        .values({
          merchant_id: scope.merchantId,
          environment: scope.environment,
          idempotency_key: idem.key,
          request_hash: newRecord.requestHash,
          state: 'completed',
          response_status: null,
          response_body: newRecord.outcome,
          created_at: newRecord.createdAt,
          expires_at: newRecord.expiresAt,
        })
        .execute();
    }
    return outcome;
  }

  return {
    async commitGroup(jobs: readonly IngestJob[]): Promise<JobOutcome[]> {
      const now = ctx.clock.now();
      const nowIso = now.toISOString();
      return db.kysely.transaction().execute(async (k) => {
        const outcomes: JobOutcome[] = new Array(jobs.length);
        for (let i = 0; i < jobs.length; i++) {
          await sql`savepoint usage_job`.execute(k);
          try {
            outcomes[i] = await applyJob(k, jobs[i], nowIso);
            await sql`release savepoint usage_job`.execute(k);
          } catch (error) {
            await sql`rollback to savepoint usage_job`.execute(k);
            await sql`release savepoint usage_job`.execute(k);
            outcomes[i] = { kind: 'failed', error };
          }
        }
        if (now.getTime() - lastPurgeMs >= PURGE_EVERY_MS) {
          lastPurgeMs = now.getTime();
          await sql`delete from idempotency_records where ctid in (select ctid from idempotency_records where expires_at <= ${nowIso} limit ${PURGE_SLICE})`.execute(k);
        }
        return outcomes;
      });
    },

    indexCustomerUsage(maxRows: number): Promise<number> {
      // Runs under the write lock too, so no group commits (and draws seqs) meanwhile: every seq
      // at or below the new cursor is committed and copied.
      return db.kysely.transaction().execute(async (k) => {
        const { rows } = await sql<{ copied: number; last: string | null }>`
          with cursor as (select last_seq from usage_index_state where name = 'usage_by_customer'),
          batch as (
            select e.seq, e.customer, e.occurred_at, e.metric, e.quantity, e.dimensions
            from usage_events e where e.seq > (select last_seq from cursor) order by e.seq limit ${maxRows}
          ),
          copied as (
            insert into usage_by_customer (customer, occurred_at, seq, metric, quantity, dimensions)
            select customer, occurred_at, seq, metric, quantity, dimensions from batch order by customer, occurred_at, seq
            on conflict do nothing
          )
          select count(*)::int as copied, max(seq)::text as last from batch`.execute(k);
        const { copied, last } = rows[0];
        if (last !== null) {
          await k
            .updateTable('usage_index_state')
            .set({ last_seq: last as never })
            .where('name', '=', 'usage_by_customer')
            .where('last_seq', '<', last as never)
            .execute();
        }
        return copied;
      });
    },

    async unindexedCount(): Promise<number> {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from usage_events
        where seq > (select last_seq from usage_index_state where name = 'usage_by_customer')`.execute(db.kysely);
      return rows[0].n;
    },
  };
}

/** Thrown by the probe view past the Idempotency-Key check: the batch must be applied. */
const MUST_APPLY = Symbol('must apply');

/**
 * Runs the shared rules against the stored Idempotency-Key record only: their outcome if the
 * record decides the request (replayed, key_reused, key_in_use), undefined if it must be applied.
 */
function decideFromRecord(job: IngestJob, record: StoredIdempotencyRecord, nowIso: string): JobOutcome | undefined {
  const stop = () => {
    throw MUST_APPLY;
  };
  const probe: UsageWriteTx = {
    findIdempotencyRecord: () => record,
    deleteIdempotencyRecord: () => {},
    insertIdempotencyRecord: stop,
    scopeRef: stop,
    autoCreatesCustomers: stop,
    findCustomer: stop,
    createCustomer: stop,
    dimensionSetRef: stop,
    insertEvent: stop,
    findEvent: stop,
    eventIds: stop,
  };
  try {
    return applyIngestJob(probe, job, new WriterCaches(), { next: stop } as never, nowIso);
  } catch (e) {
    if (e === MUST_APPLY) return undefined;
    throw e;
  }
}

/** The scope's usage_scopes id, created on first use. */
async function usageScopeRef(k: Kysely<Database>, scope: MerchantScope): Promise<number> {
  const found = await k.selectFrom('usage_scopes').select('id').where('merchant_id', '=', scope.merchantId).where('environment', '=', scope.environment).executeTakeFirst();
  if (found) return Number(found.id);
  const created = await k
    .insertInto('usage_scopes')
    .values({ merchant_id: scope.merchantId, environment: scope.environment })
    .onConflict((oc) => oc.columns(['merchant_id', 'environment']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (created) return Number(created.id);
  return usageScopeRef(k, scope);
}

/**
 * The batch's customers with their usage refs, as the SQLite writer would find or create them
 * one by one: existing customers (with a usage_customers ref, created on first use), and — when
 * the merchant auto-creates customers — new ones for every external id not found.
 */
async function batchCustomers(
  k: Kysely<Database>,
  scope: MerchantScope,
  externalIds: string[],
  newId: () => string,
  nowIso: string,
): Promise<{ byExternalId: Map<string, CustomerRef>; autoCreate: boolean }> {
  const byExternalId = new Map<string, CustomerRef>();
  let autoCreate = false;
  if (externalIds.length === 0) return { byExternalId, autoCreate };
  const find = (ids: string[]) =>
    k
      .selectFrom('customers as c')
      .leftJoin('usage_customers as u', 'u.customer_id', 'c.id')
      .select(['c.id', 'c.external_id', 'c.status', 'c.usage_locked_until', 'u.ref'])
      .where('c.merchant_id', '=', scope.merchantId)
      .where('c.environment', '=', scope.environment)
      .where('c.external_id', '=', sql<string>`any(${ids}::text[])`)
      .execute();
  let rows = await find(externalIds);
  const missing = externalIds.filter((id) => !rows.some((r) => r.external_id === id));
  if (missing.length > 0) {
    const merchant = await k.selectFrom('merchants').select('auto_create_customers').where('id', '=', scope.merchantId).executeTakeFirst();
    autoCreate = merchant?.auto_create_customers === 1;
    if (autoCreate) {
      await k
        .insertInto('customers')
        .values(
          missing.map((externalId) => ({
            id: newId(),
            merchant_id: scope.merchantId,
            environment: scope.environment,
            external_id: externalId,
            name: externalId,
            email: null,
            metadata: '{}',
            status: 'active',
            usage_locked_until: null,
            auto_created: 1,
            created_at: nowIso,
            updated_at: nowIso,
          })),
        )
        .onConflict((oc) => oc.columns(['merchant_id', 'environment', 'external_id']).doNothing())
        .execute();
      rows = await find(externalIds);
    }
  }
  const withoutRef = rows.filter((r) => r.ref === null).map((r) => r.id);
  if (withoutRef.length > 0) {
    await k
      .insertInto('usage_customers')
      .values(withoutRef.map((id) => ({ customer_id: id })))
      .onConflict((oc) => oc.column('customer_id').doNothing())
      .execute();
    rows = await find(externalIds);
  }
  for (const r of rows) {
    byExternalId.set(r.external_id, {
      ref: Number(r.ref),
      status: r.status,
      lockedUntilMs: r.usage_locked_until === null ? null : Date.parse(r.usage_locked_until),
    });
  }
  return { byExternalId, autoCreate };
}

/** The usage_dimension_sets id of each canonical JSON, created on first use. */
async function dimensionSetRefs(k: Kysely<Database>, canonicals: string[]): Promise<Map<string, number>> {
  const refs = new Map<string, number>();
  if (canonicals.length === 0) return refs;
  await k
    .insertInto('usage_dimension_sets')
    .values(canonicals.map((canonical) => ({ canonical })))
    .onConflict((oc) => oc.column('canonical').doNothing())
    .execute();
  const rows = await k.selectFrom('usage_dimension_sets').select(['id', 'canonical']).where('canonical', '=', sql<string>`any(${canonicals}::text[])`).execute();
  for (const r of rows) refs.set(r.canonical, Number(r.id));
  return refs;
}
