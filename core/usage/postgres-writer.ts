import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { WRITE_LOCK_KEY } from '../db/postgres.js';
import type { CoreContext, MerchantScope } from '../context/index.js';
import type { Database } from '../db/index.js';
import { type CustomerRef, type NewIdempotencyRecord, type StoredIdempotencyRecord, type UsageWriteTx, WriterCaches, applyIngestJob } from './apply-job.js';
import { type CheckedBatch, unpackBatch } from './batch.js';
import { type EventIdCodec, createEventIdCodec } from './event-ids.js';
import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

/**
 * The PostgreSQL writer's bounds (an object so tests can shrink them): stored keys it remembers
 * at most (~100 bytes each); events committed by others it reads back per group at most (the
 * newest); groups that look every key up after an optimistic COPY met a stored key.
 */
export const postgresWriterLimits = { knownKeys: 500_000, catchUpRows: 50_000, optimismPauseGroups: 32 };
const COPY_SAVEPOINT = 'usage_copy';
/** New rows are sent to COPY in slices of this many. */
const COPY_SLICE_ROWS = 250;
const UNIQUE_VIOLATION = '23505';

/** Expired Idempotency-Key records are purged at most this often, a bounded slice at a time. */
const PURGE_EVERY_MS = 60_000;
const PURGE_SLICE = 1_000;

/** A stored event found by its key. */
interface StoredKeyRow {
  scope: string;
  idempotency_key: string;
  seq: string;
  legacy_id: string | null;
  /** On the one row that carries it: the last seq of the block drawn for the group. */
  last?: string | null;
}

/** A COPY of new rows into usage_events on the group's connection, and its end. */
function startCopy(client: pg.PoolClient) {
  const stream = client.query(copyFrom('copy usage_events (seq, scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at) from stdin'));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  done.catch(() => {}); // awaited by the caller; a failure is reported there
  return { stream, done };
}

/** A PostgreSQL array literal of these strings (each quoted; quotes and backslashes escaped). */
function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += `${i === 0 ? '' : ','}"${values[i].replace(/["\\]/g, '\\$&')}"`;
  return `${out}}`;
}

/** Rows to insert, column by column: scope ref, key, customer ref, metric, quantity, occurred, dimensions, received. */
interface Cols {
  s: number[];
  key: string[];
  c: number[];
  m: number[];
  q: string[];
  o: number[];
  d: number[];
  r: number[];
}

/** One job's first pass (postgres-writer's step 4), before its group is settled. */
interface JobPass {
  scopeRef: number;
  cols: Cols;
  /** Key → row in `cols`. */
  claimed: Map<string, number>;
  /** Keys its refused events asked about. */
  asked: Set<string>;
}

/** Stored events by scope ref and key. */
type StoredKeys = Map<number, Map<string, { seq: number; legacy_id: string | null }>>;
function storeKey(into: StoredKeys, scopeRef: number, key: string, row: { seq: number; legacy_id: string | null }): void {
  let m = into.get(scopeRef);
  if (m === undefined) into.set(scopeRef, (m = new Map()));
  m.set(key, row);
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : value;
}

/**
 * Kysely on one checked-out connection (the group's transaction), for the writer's less frequent
 * statements (references, Idempotency-Key records): the connection is never released by it.
 */
function kyselyOn(client: pg.PoolClient): Kysely<Database> {
  const borrowed = { query: client.query.bind(client), release() {} };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: async () => borrowed, end: async () => {} } as never }) });
}
/**
 * Group commit on PostgreSQL. A group (the batches that queued while the previous group
 * committed) is one transaction on one pooled connection, decided set-wise — a handful of
 * statements per group, not per batch or per event:
 *
 * 1. `BEGIN`, the database's write lock (core/db/postgres.ts: every transaction here takes it, on
 *    every replica) and `usage_state.customers_epoch`, in one round trip. The lock keeps every
 *    guarantee of the first design: groups of all replicas apply one at a time; an
 *    Idempotency-Key in flight on replica A holds it, so its retry on B waits and then replays
 *    (never a second execution); closing a period (invoicing, also under the lock) cannot race an
 *    insert; seqs drawn under it increase in commit order (the usage indexer's cursor).
 * 2. The group's Idempotency-Key records in one query; a replay, reused key or key in use is
 *    answered from its record alone.
 * 3. References the writer does not remember yet (scopes, customers — auto-created in one insert
 *    —, dimension sets), set-wise for the group. Remembered across groups as the SQLite writer
 *    does: scope refs and dimension-set ids for good, customers while the epoch is unchanged;
 *    any failure forgets everything (refs made by a rolled-back transaction do not exist).
 * 4. First pass of the shared rules (`applyIngestJob`, decide-only) over a view of the
 *    transaction: which events would be inserted — each key claimed by its first insertable
 *    event in group order, as if the batches ran one after another — and which refused events
 *    ask whether their key is stored. Batch by batch, then merged (`passJob`, `mergePasses`);
 *    in the common case each batch's pass was decided from the caches as it queued (`prepare`).
 * 5. One lookup of all those keys (an index probe per key), and in the same round trip one
 *    block of seqs drawn from the sequence under the lock.
 * 6. The new rows — claimed and not stored — `COPY`ed into usage_events with those seqs. Plain COPY is safe because, holding the
 *    lock, nothing else inserts between the lookup and the COPY; the unique index still has the
 *    last word (a violation fails the group, and the fallback below applies it).
 * 7. Second pass of the same rules, now knowing what is stored: every batch's outcome
 *    (accepted with its new seq, duplicate with the stored one, or the refusal), exactly what
 *    the batches would get one after another on SQLite. Outcomes with an Idempotency-Key are
 *    stored in the same transaction (one insert), then COMMIT; outcomes leave only after it.
 *    Without such records nothing is left to write after the COPY, so COMMIT is sent first
 *    and this pass runs while PostgreSQL flushes the WAL (a pass that then disagreed with the
 *    first would fail every batch of the committed group: the retries are exact).
 *
 * Why not `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING RETURNING` (the first design):
 * PostgreSQL's speculative insertion costs ~14 µs of server CPU a row here against ~6 µs for
 * COPY plus ~3 µs for the probe (bench figures in core/usage/README.md).
 *
 * A failing batch still rolls back alone: if anything fails before COMMIT, the whole group is
 * rolled back and applied again batch by batch, each in its savepoint (`commitBatchByBatch`, the
 * first design), so only the failing batch is refused. A failure at COMMIT fails every batch
 * (it may have committed; the clients retry, and per-event keys make the retry exact).
 */
export function createPostgresUsageEventWriter(ctx: CoreContext): UsageEventWriter {
  const db = ctx.db;
  let codec: EventIdCodec | undefined;
  let lastPurgeMs = -Infinity;
  let fallbacks = 0;
  const decidedBeforeLock = { kept: 0, redone: 0 };

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
      // An index probe per key (see the group path's lookup for why not `= any(…)`).
      const { rows } = await sql<{ idempotency_key: string; seq: string; legacy_id: string | null }>`
        select e.idempotency_key, e.seq, e.legacy_id from unnest(${[...keys]}::text[]) as t(k)
        cross join lateral (select idempotency_key, seq, legacy_id from usage_events u where u.scope = ${scopeRef} and u.idempotency_key = t.k limit 1) e`.execute(k);
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

  // --- The group path: the whole group decided set-wise, a handful of statements per group ---

  /**
   * What is remembered between groups, as the SQLite writer does (apply-job.ts WriterCaches):
   * scope refs and dimension-set ids never change once committed; customers are valid while
   * usage_state.customers_epoch (read under the write lock in every group) is unchanged. Refs
   * created by a transaction that then rolled back would be wrong, so any failure clears all.
   */
  const scopeRefs = new Map<string, number>();
  const dimensionIds = new Map<string, number>();
  let customersEpoch: string | undefined;
  /** scope ref → external id → customer (found ones only: a miss is decided again next group). */
  let customersByScope = new Map<number, Map<string, CustomerRef>>();
  let cachedCustomers = 0;
  /**
   * Moves whenever a remembered reference is forgotten or may have changed (caches cleared, the
   * epoch moved): a job's first pass decided in an earlier generation is decided again.
   */
  let generation = 0;
  let preparedEarly = 0;
  let preparedLate = 0;
  /**
   * Keys known to be stored (by scope ref, then key → the stored row): the ones this writer committed
   * and the ones it read back as committed by others — events are never updated or deleted, so
   * what is known stays true. `knownUpTo`: every event up to this seq is known (or was let go
   * to keep the map bounded). A key the writer does not know may still be stored (before it
   * started, or forgotten): the optimistic path leaves that to the unique index.
   */
  let storedKeys: StoredKeys = new Map();
  let knownCount = 0;
  let knownUpTo = 0;
  const remember = (scopeRef: number, key: string, seq: number, legacy_id: string | null) => {
    let m = storedKeys.get(scopeRef);
    if (m === undefined) storedKeys.set(scopeRef, (m = new Map()));
    const size = m.size;
    m.set(key, { seq, legacy_id });
    knownCount += m.size - size;
    if (knownCount > postgresWriterLimits.knownKeys) {
      // The oldest tenth of every scope's (a Map iterates in insertion order): retries are of recent events.
      for (const keys of storedKeys.values()) {
        let drop = Math.ceil(keys.size / 10);
        for (const known of keys.keys()) {
          if (drop-- <= 0) break;
          keys.delete(known);
          knownCount--;
        }
      }
    }
  };
  /** Groups left to decide with a full lookup after an optimistic COPY met a stored key. */
  let pauseOptimism = 0;
  let optimisticMisses = 0;

  const clearCaches = () => {
    generation++;
    scopeRefs.clear();
    dimensionIds.clear();
    customersEpoch = undefined;
    customersByScope = new Map();
    cachedCustomers = 0;
    storedKeys = new Map();
    knownCount = 0;
    knownUpTo = 0;
  };

  /**
   * What the lock's round trip looks up for a first pass decided before it. Optimistic (the
   * default): only keys neither claimed nor known (refused events asking whether their key is
   * stored), and seqs for the claimed keys not known as stored — the unique index checks the
   * rest during the COPY. After a miss, for `postgresWriterLimits.optimismPauseGroups` groups: every key, as
   * under the lock.
   */
  function planLookup(pass: FirstPass): { asked: Map<number, Set<string>>; n: number; optimistic: boolean; known: StoredKeys } {
    const known: StoredKeys = new Map();
    if (pauseOptimism > 0) {
      pauseOptimism--;
      return { asked: allKeys(pass), n: pass.cols.key.length, optimistic: false, known };
    }
    let n = 0;
    for (let row = 0; row < pass.cols.key.length; row++) {
      const scopeRef = pass.cols.s[row];
      const key = pass.cols.key[row];
      const stored = storedKeys.get(scopeRef)?.get(key);
      if (stored === undefined) n++;
      else storeKey(known, scopeRef, key, stored);
    }
    const asked = new Map<number, Set<string>>();
    for (const [scopeRef, keys] of pass.asked) {
      const storedHere = storedKeys.get(scopeRef);
      const claimedHere = pass.claimed.get(scopeRef);
      for (const key of keys) {
        if (claimedHere?.has(key)) continue;
        const stored = storedHere?.get(key);
        if (stored !== undefined) storeKey(known, scopeRef, key, stored);
        else {
          let a = asked.get(scopeRef);
          if (a === undefined) asked.set(scopeRef, (a = new Set()));
          a.add(key);
        }
      }
    }
    return { asked, n, optimistic: true, known };
  }

  /** What the first pass decided for a group (steps 2–4 below), before anything is looked up. */
  interface FirstPass {
    /** Outcomes decided from an Idempotency-Key record alone; the rest are filled in later. */
    outcomes: JobOutcome[];
    records: Map<number, StoredIdempotencyRecord>;
    /** The jobs to apply, and each one unpacked. */
    apply: number[];
    unpacked: IngestJob[];
    groupScopeRef: Map<number, number>;
    autoCreates: Map<string, boolean>;
    /** The rows the group would insert (each key claimed by its first insertable event)… */
    cols: Cols;
    /** …by scope ref and key (→ row index)… */
    claimed: Map<number, Map<string, number>>;
    /** …and the keys refused events asked about (whether stored: then they are duplicates). */
    asked: Map<number, Set<string>>;
  }

  /** Every key of the group to look up: those claimed, and those refused events asked about. */
  function allKeys(pass: FirstPass): Map<number, Set<string>> {
    const all = new Map<number, Set<string>>();
    for (const [scopeRef, keys] of pass.asked) all.set(scopeRef, new Set(keys));
    for (let row = 0; row < pass.cols.key.length; row++) {
      let a = all.get(pass.cols.s[row]);
      if (a === undefined) all.set(pass.cols.s[row], (a = new Set()));
      a.add(pass.cols.key[row]);
    }
    return all;
  }

  /**
   * Step 2: the jobs to apply (a replay, reused key or key in use is answered from its record
   * alone, before anything it names is resolved), unpacked once.
   */
  function jobsToApply(jobs: readonly IngestJob[], records: Map<number, StoredIdempotencyRecord>, nowIso: string) {
    const outcomes: JobOutcome[] = new Array(jobs.length);
    const apply: number[] = [];
    const unpacked: IngestJob[] = new Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const record = records.get(i);
      const early = record === undefined ? undefined : decideFromRecord(jobs[i], record, nowIso);
      if (early) {
        outcomes[i] = early;
        continue;
      }
      apply.push(i);
      unpacked[i] = unpackedJob(jobs[i]);
    }
    return { outcomes, apply, unpacked };
  }

  /**
   * Step 3 under the lock: references, set-wise for the group — scopes, customers
   * (auto-created in one insert when the merchant wants that), dimension sets — each only when
   * not remembered.
   */
  async function resolveRefs(k: Kysely<Database>, jobs: readonly IngestJob[], apply: number[], unpacked: IngestJob[], nowIso: string) {
    const groupScopeRef = new Map<number, number>(); // job index → scope ref
    const wantedCustomers = new Map<number, { scope: MerchantScope; ids: Set<string> }>();
    const wantedDimensions = new Set<string>();
    const autoCreates = new Map<string, boolean>();
    for (const i of apply) {
      const { scope } = jobs[i];
      const scopeKey = `${scope.merchantId}\u0000${scope.environment}`;
      let ref = scopeRefs.get(scopeKey);
      if (ref === undefined) scopeRefs.set(scopeKey, (ref = await usageScopeRef(k, scope)));
      groupScopeRef.set(i, ref);
      const batch = unpacked[i].batch as CheckedBatch;
      const known = customersByScope.get(ref);
      let wanted = wantedCustomers.get(ref);
      for (let e = 0; e < batch.count; e++) {
        if (batch.reasons[e] !== 0) continue;
        const externalId = batch.externalIds[e];
        if (known?.has(externalId)) continue;
        if (wanted === undefined) wantedCustomers.set(ref, (wanted = { scope, ids: new Set() }));
        wanted.ids.add(externalId);
      }
      for (const canonical of batch.dimensionSets) if (!dimensionIds.has(canonical)) wantedDimensions.add(canonical);
    }
    for (const [ref, { scope, ids }] of wantedCustomers) {
      const found = await batchCustomers(k, scope, [...ids], () => ctx.ids.next('cus'), nowIso);
      if (found.autoCreate) autoCreates.set(scope.merchantId, true);
      let known = customersByScope.get(ref);
      if (known === undefined) customersByScope.set(ref, (known = new Map()));
      if (cachedCustomers + found.byExternalId.size > WriterCaches.MAX_CUSTOMERS) {
        for (const m of customersByScope.values()) m.clear();
        cachedCustomers = 0;
        generation++;
      }
      for (const [externalId, c] of found.byExternalId) known.set(externalId, c);
      cachedCustomers += found.byExternalId.size;
    }
    if (wantedDimensions.size > 0) {
      if (dimensionIds.size + wantedDimensions.size > WriterCaches.MAX_DIMENSION_SETS) {
        dimensionIds.clear();
        generation++;
      }
      for (const [canonical, id] of await dimensionSetRefs(k, [...wantedDimensions])) dimensionIds.set(canonical, id);
    }
    return { groupScopeRef, autoCreates };
  }

  /** The view of the group's references every pass of the rules reads, for job `i`. */
  function baseView(
    pass: Pick<FirstPass, 'records' | 'groupScopeRef' | 'autoCreates'>,
    i: number,
  ): Omit<UsageWriteTx, 'insertEvent' | 'findEvent' | 'eventIds' | 'insertIdempotencyRecord' | 'deleteIdempotencyRecord'> {
    return {
      findIdempotencyRecord: () => pass.records.get(i),
      scopeRef: () => pass.groupScopeRef.get(i)!,
      autoCreatesCustomers: (merchantId) => pass.autoCreates.get(merchantId) ?? false,
      findCustomer: (_scope, externalId) => customersByScope.get(pass.groupScopeRef.get(i)!)?.get(externalId),
      createCustomer: () => {
        // The references were resolved (every customer the group may create, created) before the decision.
        throw new Error('unexpected customer creation while applying a usage batch');
      },
      dimensionSetRef: (canonical) => {
        const ref = dimensionIds.get(canonical);
        if (ref === undefined) throw new Error('dimension set not resolved before applying a usage batch');
        return ref;
      },
    };
  }

  /**
   * Step 4 for one job, the first pass of the shared rules: which of its events would be new.
   * Every event the rules would insert claims its key (the job's first insertable event with it
   * wins); events they refuse ask whether their key is stored (a retry of a stored event is a
   * duplicate even if refused now). A job's decisions depend on no other job's — only on the
   * references, the Idempotency-Key record and its own events — so a job is decided alone (before
   * its group forms, see `prepare`) and `mergePasses` settles the group.
   */
  function passJob(base: Pick<FirstPass, 'records' | 'groupScopeRef' | 'autoCreates'>, i: number, job: IngestJob, nowIso: string): JobPass {
    const scopeRef = base.groupScopeRef.get(i)!;
    const claimed = new Map<string, number>();
    const asked = new Set<string>();
    const cols: Cols = { s: [], key: [], c: [], m: [], q: [], o: [], d: [], r: [] };
    const PENDING = { seq: 0, legacy_id: null };
    const probe: UsageWriteTx = {
      ...baseView(base, i),
      deleteIdempotencyRecord: () => {},
      insertIdempotencyRecord: () => {},
      insertEvent(scopeRef, key, customerRef, metric, quantity, occurredMs, dimensionsRef, receivedMs) {
        if (claimed.has(key)) return 0;
        claimed.set(key, cols.key.length);
        cols.s.push(scopeRef);
        cols.key.push(key);
        cols.c.push(customerRef);
        cols.m.push(metric);
        cols.q.push(quantity);
        cols.o.push(occurredMs);
        cols.d.push(dimensionsRef);
        cols.r.push(receivedMs);
        return 1;
      },
      findEvent(_scopeRef, key) {
        if (claimed.has(key)) return PENDING;
        asked.add(key);
        return undefined;
      },
      eventIds: () => [],
    };
    applyIngestJob(probe, job, new WriterCaches(), ctx.ids, nowIso, true);
    return { scopeRef, cols, claimed, asked };
  }

  /**
   * Step 4 for the group: the jobs' passes in group order, as if the batches ran one after
   * another — a key claimed by an earlier job is not new for a later one (its event is a
   * duplicate of a row this group inserts), and a later job's question about such a key is
   * answered by the group itself.
   */
  function mergePasses(base: Omit<FirstPass, 'cols' | 'claimed' | 'asked'>, passes: ReadonlyMap<number, JobPass>): FirstPass {
    const claimed = new Map<number, Map<string, number>>(); // scope ref → key → row index
    const asked = new Map<number, Set<string>>();
    const cols: Cols = { s: [], key: [], c: [], m: [], q: [], o: [], d: [], r: [] };
    for (const i of base.apply) {
      const job = passes.get(i)!;
      let mine = claimed.get(job.scopeRef);
      if (mine === undefined) claimed.set(job.scopeRef, (mine = new Map()));
      const from = job.cols;
      for (let row = 0; row < from.key.length; row++) {
        const key = from.key[row];
        if (mine.has(key)) continue;
        mine.set(key, cols.key.length);
        cols.s.push(from.s[row]);
        cols.key.push(key);
        cols.c.push(from.c[row]);
        cols.m.push(from.m[row]);
        cols.q.push(from.q[row]);
        cols.o.push(from.o[row]);
        cols.d.push(from.d[row]);
        cols.r.push(from.r[row]);
      }
      if (job.asked.size === 0) continue;
      let a = asked.get(job.scopeRef);
      if (a === undefined) asked.set(job.scopeRef, (a = new Set()));
      for (const key of job.asked) if (!mine.has(key)) a.add(key);
    }
    return { ...base, cols, claimed, asked };
  }

  /** Step 4 for a whole group, under the lock. */
  function firstPass(base: Omit<FirstPass, 'cols' | 'claimed' | 'asked'>, nowIso: string): FirstPass {
    const passes = new Map<number, JobPass>();
    for (const i of base.apply) passes.set(i, passJob(base, i, base.unpacked[i], nowIso));
    return mergePasses(base, passes);
  }

  /**
   * Step 5 as one statement: which of the asked keys are stored already, and — when the group
   * inserts anything — one block of seqs for the claimed rows, drawn in the same round trip (a
   * round trip costs milliseconds on a busy machine); keys that turn out stored leave a gap, as
   * a rolled-back batch does. With `inline`, the arrays are written into the text (for a
   * simple-protocol message that carries other statements too); else they are parameters.
   *
   * One index probe per key, whatever the planner believes: `scope = $1 and key = any($2)` was
   * planned as a bitmap scan of the whole scope when statistics were stale (measured: 150 ms
   * for 2,500 keys over 500,000 rows, against 8 ms this way).
   */
  function lookupStatement(asked: Map<number, Set<string>>, n: number, inline: boolean): { text: string; values: unknown[] } {
    const s: number[] = [];
    const keys: string[] = [];
    for (const [scopeRef, set] of asked) {
      for (const key of set) {
        s.push(scopeRef);
        keys.push(key);
      }
    }
    const [scopes, keyArray, count] = inline ? [`'{${s.join(',')}}'`, pg.escapeLiteral(textArrayLiteral(keys)), String(n)] : ['$1', '$2', '$3'];
    const lookup = `select e.scope, e.idempotency_key, e.seq, e.legacy_id
       from unnest(${scopes}::bigint[], ${keyArray}::text[]) as t(s, k)
       cross join lateral (select scope, idempotency_key, seq, legacy_id from usage_events u where u.scope = t.s and u.idempotency_key = t.k limit 1) e`;
    if (n === 0) return { text: lookup, values: inline ? [] : [s, keys] };
    return {
      text: `with block as materialized (select setval(q, nextval(q) + ${count} - 1)::text as last from (select pg_get_serial_sequence('usage_events', 'seq') as q) sq)
       select null as scope, null as idempotency_key, null as seq, null as legacy_id, (select last from block) as last
       union all
       select scope::text, idempotency_key, seq::text, legacy_id, null from (${lookup}) found`,
      values: inline ? [] : [s, keys, n],
    };
  }

  /** A lookup's rows read: the stored keys per scope, and the first seq of the block of `n` drawn with it. */
  function readLookup(rows: readonly StoredKeyRow[], n: number, into: StoredKeys = new Map()): { stored: StoredKeys; firstSeq: number; lastSeq: number } {
    let lastSeq = 0;
    for (const r of rows) {
      if (r.last != null) {
        lastSeq = Number(r.last);
        continue;
      }
      storeKey(into, Number(r.scope), r.idempotency_key, { seq: Number(r.seq), legacy_id: r.legacy_id });
    }
    return { stored: into, firstSeq: n > 0 ? lastSeq - n + 1 : 0, lastSeq };
  }

  /**
   * Jobs decided before their group formed (`prepare`: when the request queued, typically while
   * the previous group was in PostgreSQL), with the cache generation they were decided in.
   */
  const prepared = new WeakMap<IngestJob, { generation: number; unpacked: IngestJob; pass: JobPass }>();
  /**
   * Each job unpacked once, whichever path decides it: as it queues, when its group forms, or
   * under the lock when a reference must be read first (a new customer makes all three run).
   */
  const unpackedJobs = new WeakMap<IngestJob, IngestJob>();
  const unpackedJob = (job: IngestJob): IngestJob => {
    let unpacked = unpackedJobs.get(job);
    if (unpacked === undefined) unpackedJobs.set(job, (unpacked = { ...job, batch: unpackBatch(job.batch) }));
    return unpacked;
  };
  const NO_RECORDS = new Map<number, StoredIdempotencyRecord>();
  const NO_AUTO_CREATES = new Map<string, boolean>();

  /**
   * One job's first pass from what the writer remembers only, or undefined when something must
   * be read under the lock first: an Idempotency-Key record, or a scope, a valid event's
   * customer or a dimension set not remembered (only found customers are remembered, so no
   * customer would be created).
   */
  function passFromCache(job: IngestJob, nowIso: string): { generation: number; unpacked: IngestJob; pass: JobPass } | undefined {
    if (customersEpoch === undefined || job.idempotency !== null) return undefined;
    const scopeRef = scopeRefs.get(`${job.scope.merchantId}\u0000${job.scope.environment}`);
    if (scopeRef === undefined) return undefined;
    const unpacked = unpackedJob(job);
    const batch = unpacked.batch as CheckedBatch;
    const known = customersByScope.get(scopeRef);
    if (known === undefined) return undefined;
    for (let e = 0; e < batch.count; e++) if (batch.reasons[e] === 0 && !known.has(batch.externalIds[e])) return undefined;
    for (const canonical of batch.dimensionSets) if (!dimensionIds.has(canonical)) return undefined;
    const pass = passJob({ records: NO_RECORDS, groupScopeRef: new Map([[0, scopeRef]]), autoCreates: NO_AUTO_CREATES }, 0, unpacked, nowIso);
    return { generation, unpacked, pass };
  }

  /**
   * The group's first pass from what the writer remembers, decided before the write lock is
   * taken — each job's as prepared when it queued if the caches it read are unchanged, else now
   * — or undefined when something must be read under the lock first. Customers are remembered
   * for one `customers_epoch`; the caller checks under the lock that it has not moved.
   */
  function speculate(jobs: readonly IngestJob[], nowIso: string): { pass: FirstPass; epoch: string } | undefined {
    if (customersEpoch === undefined) return undefined;
    const passes = new Map<number, JobPass>();
    const unpacked: IngestJob[] = new Array(jobs.length);
    const groupScopeRef = new Map<number, number>();
    const apply: number[] = [];
    let late = 0;
    for (let i = 0; i < jobs.length; i++) {
      let job = prepared.get(jobs[i]);
      if (job === undefined || job.generation !== generation) {
        job = passFromCache(jobs[i], nowIso);
        if (job === undefined) return undefined;
        late++;
      }
      passes.set(i, job.pass);
      unpacked[i] = job.unpacked;
      groupScopeRef.set(i, job.pass.scopeRef);
      apply.push(i);
    }
    const pass = mergePasses({ outcomes: new Array(jobs.length), records: NO_RECORDS, apply, unpacked, groupScopeRef, autoCreates: NO_AUTO_CREATES }, passes);
    preparedLate += late;
    preparedEarly += jobs.length - late;
    return { pass, epoch: customersEpoch };
  }

  /**
   * Applies the group in the open transaction, holding the write lock. `decided` is a first
   * pass decided before the lock (still valid: the epoch did not move) with what its round trip
   * found stored and the seq block it drew; without it the first pass is decided here.
   * `decided.optimistic`: keys the writer does not know as stored were not looked up, and are
   * COPYed as new — if one was stored after all, the unique index refuses the COPY, which is
   * then rolled back to the savepoint taken before it and done again after a full lookup.
   *
   * Without Idempotency-Key records to store, nothing is left to write once the rows are
   * COPYed, so it sends COMMIT (after `beforeCommit`) *before* the second pass and computes the
   * outcomes while PostgreSQL flushes the WAL; `committed` says whether it did. The outcomes
   * are still handed out only after COMMIT returned.
   */
  async function applyGroup(
    client: pg.PoolClient,
    k: Kysely<Database>,
    jobs: readonly IngestJob[],
    epoch: string,
    nowIso: string,
    beforeCommit: () => Promise<void>,
    decided?: { pass: FirstPass; stored: StoredKeys; firstSeq: number; lastSeq: number; optimistic: boolean },
  ): Promise<{ outcomes: JobOutcome[]; committed: boolean; inserted: StoredKeys; lastSeq: number }> {
    if (epoch !== customersEpoch) {
      customersByScope = new Map();
      cachedCustomers = 0;
      customersEpoch = epoch;
      generation++;
    }
    let pass: FirstPass;
    let found: { stored: StoredKeys; firstSeq: number; lastSeq: number } = { stored: new Map(), firstSeq: 0, lastSeq: 0 };
    if (decided) {
      pass = decided.pass;
      found = decided;
    } else {
      // 1. Idempotency-Key records of the group, one query. Keys of one process never share a
      //    group (ingest.ts refuses a key already running here with 409), so one record per job.
      const records = new Map<number, StoredIdempotencyRecord>();
      const withKey = jobs.map((_job, i) => i).filter((i) => jobs[i].idempotency !== null);
      if (withKey.length > 0) {
        const { rows } = await sql<StoredIdempotencyRecord & { merchant_id: string; environment: string; idempotency_key: string }>`
          select r.merchant_id, r.environment, r.idempotency_key, r.request_hash, r.state, r.response_body, r.created_at, r.expires_at
          from idempotency_records r
          join unnest(${withKey.map((i) => jobs[i].scope.merchantId)}::text[], ${withKey.map((i) => jobs[i].scope.environment)}::text[], ${withKey.map(
            (i) => jobs[i].idempotency!.key,
          )}::text[]) as t(m, e, k) on r.merchant_id = t.m and r.environment = t.e and r.idempotency_key = t.k`.execute(k);
        const byKey = new Map(rows.map((r) => [`${r.merchant_id}\u0000${r.environment}\u0000${r.idempotency_key}`, r]));
        for (const i of withKey) {
          const r = byKey.get(`${jobs[i].scope.merchantId}\u0000${jobs[i].scope.environment}\u0000${jobs[i].idempotency!.key}`);
          if (r !== undefined) records.set(i, r);
        }
      }
      // 2.–4. The jobs to apply, their references, the first pass.
      const { outcomes, apply, unpacked } = jobsToApply(jobs, records, nowIso);
      const { groupScopeRef, autoCreates } = await resolveRefs(k, jobs, apply, unpacked, nowIso);
      pass = firstPass({ outcomes, records, apply, unpacked, groupScopeRef, autoCreates }, nowIso);
      // 5. Which keys are stored already, and the seq block. Holding the write lock, nothing
      //    else inserts meanwhile, so the rest are new.
      if (pass.asked.size > 0 || pass.cols.key.length > 0) {
        const { text, values } = lookupStatement(allKeys(pass), pass.cols.key.length, false);
        found = readLookup((await client.query<StoredKeyRow>(text, values)).rows, pass.cols.key.length);
      }
    }
    const { outcomes, apply, unpacked, groupScopeRef, cols } = pass;

    // 6. The new rows, COPYed: every claimed row not stored. Their seqs come from the block drawn
    //    under the lock, in group order, so seqs still increase in commit order (the usage
    //    indexer's cursor).
    const copyNew = async (stored: StoredKeys, firstSeq: number, lastSeq: number) => {
      const fresh = new Map<number, Map<string, number>>(); // scope ref → key → new seq
      let seq = firstSeq;
      let text = '';
      // Sent in slices as they are written, so PostgreSQL starts on the first while this
      // thread writes the rest.
      let copy: ReturnType<typeof startCopy> | undefined;
      for (let row = 0; row < cols.key.length; row++) {
        const scopeRef = cols.s[row];
        const key = cols.key[row];
        if (stored.get(scopeRef)?.has(key)) continue;
        if (!(seq > 0 && seq <= lastSeq)) throw new Error('more new usage events than seqs drawn');
        let m = fresh.get(scopeRef);
        if (m === undefined) fresh.set(scopeRef, (m = new Map()));
        m.set(key, seq);
        text += `${seq}\t${scopeRef}\t${copyText(key)}\t${cols.c[row]}\t${cols.m[row]}\t${cols.q[row]}\t${cols.o[row]}\t${cols.d[row]}\t${cols.r[row]}\n`;
        seq++;
        if ((seq - firstSeq) % COPY_SLICE_ROWS === 0) {
          copy ??= startCopy(client);
          copy.stream.write(text);
          text = '';
        }
      }
      const newRows = seq - firstSeq;
      if (newRows > 0) {
        copy ??= startCopy(client);
        copy.stream.end(text);
        await copy.done;
        if (copy.stream.rowCount !== newRows) throw new Error(`COPY stored ${copy.stream.rowCount} usage events, expected ${newRows}`);
      }
      return fresh;
    };
    let fresh: Map<number, Map<string, number>>;
    try {
      fresh = await copyNew(found.stored, found.firstSeq, found.lastSeq);
    } catch (error) {
      if (!decided?.optimistic || (error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      // A key taken as new was stored (by another replica, or before this process knew): back
      // to before the COPY, look every key up, COPY again.
      optimisticMisses++;
      pauseOptimism = postgresWriterLimits.optimismPauseGroups;
      await client.query(`rollback to savepoint ${COPY_SAVEPOINT}`);
      const { text, values } = lookupStatement(allKeys(pass), cols.key.length, false);
      found = readLookup((await client.query<StoredKeyRow>(text, values)).rows, cols.key.length);
      fresh = await copyNew(found.stored, found.firstSeq, found.lastSeq);
    }
    const stored = found.stored;

    // 7. Second pass of the same rules, now knowing what is stored: the outcomes.
    const codecNow = await eventIdCodec(k);
    let committing: Promise<unknown> | undefined;
    if (!apply.some((i) => jobs[i].idempotency !== null)) {
      await beforeCommit();
      committing = client.query('commit');
      committing.catch(() => {}); // awaited below; a failure is reported there
    }
    const deleteRecords: number[] = [];
    const newRecords: Array<[number, NewIdempotencyRecord]> = [];
    const handedOut: StoredKeys = new Map();
    for (const i of apply) {
      const scopeRef = groupScopeRef.get(i)!;
      const mine = fresh.get(scopeRef);
      const storedHere = stored.get(scopeRef);
      let given = handedOut.get(scopeRef);
      if (given === undefined) handedOut.set(scopeRef, (given = new Map()));
      const done = given;
      const view: UsageWriteTx = {
        ...baseView(pass, i),
        deleteIdempotencyRecord: () => void deleteRecords.push(i),
        insertIdempotencyRecord: (_scope, _key, r) => void newRecords.push([i, r]),
        insertEvent(_scopeRef, key) {
          const seq = mine?.get(key);
          if (seq === undefined) return 0;
          mine!.delete(key);
          done.set(key, { seq, legacy_id: null });
          return seq;
        },
        findEvent: (_scopeRef, key) => done.get(key) ?? storedHere?.get(key),
        eventIds: (list) => codecNow.encode(list),
      };
      outcomes[i] = applyIngestJob(view, unpacked[i], new WriterCaches(), ctx.ids, nowIso);
    }
    for (const m of fresh.values()) if (m.size > 0) throw new Error('usage events inserted that no batch claimed (the two passes disagree)');
    if (committing) {
      await committing;
      return { outcomes, committed: true, inserted: handedOut, lastSeq: found.lastSeq };
    }

    // 8. Idempotency-Key records: expired or abandoned ones replaced, outcomes stored — in the
    //    events' transaction, so an outcome is stored if and only if its events are.
    if (deleteRecords.length > 0) {
      await sql`
        delete from idempotency_records r using unnest(${deleteRecords.map((i) => jobs[i].scope.merchantId)}::text[], ${deleteRecords.map(
          (i) => jobs[i].scope.environment,
        )}::text[], ${deleteRecords.map((i) => jobs[i].idempotency!.key)}::text[]) as t(m, e, k)
        where r.merchant_id = t.m and r.environment = t.e and r.idempotency_key = t.k`.execute(k);
    }
    if (newRecords.length > 0) {
      const col = <T>(f: (i: number, r: NewIdempotencyRecord) => T) => newRecords.map(([i, r]) => f(i, r));
      await sql`
        insert into idempotency_records (merchant_id, environment, idempotency_key, request_hash, state, response_status, response_body, created_at, expires_at)
        select m, e, k, h, 'completed', null, b, c, x
        from unnest(${col((i) => jobs[i].scope.merchantId)}::text[], ${col((i) => jobs[i].scope.environment)}::text[], ${col((i) => jobs[i].idempotency!.key)}::text[],
          ${col((_, r) => r.requestHash)}::text[], ${col((_, r) => r.outcome)}::text[], ${col((_, r) => r.createdAt)}::text[], ${col((_, r) => r.expiresAt)}::text[])
          as t(m, e, k, h, b, c, x)`.execute(k);
    }
    return { outcomes, committed: false, inserted: handedOut, lastSeq: found.lastSeq };
  }

  async function purgeIfDue(k: Kysely<Database>, now: Date, nowIso: string): Promise<void> {
    if (now.getTime() - lastPurgeMs < PURGE_EVERY_MS) return;
    lastPurgeMs = now.getTime();
    await sql`delete from idempotency_records where ctid in (select ctid from idempotency_records where expires_at <= ${nowIso} limit ${PURGE_SLICE})`.execute(k);
  }

  /** The first slice's path, batch by batch in savepoints: a failing batch rolls back alone. */
  function commitBatchByBatch(jobs: readonly IngestJob[], now: Date, nowIso: string): Promise<JobOutcome[]> {
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
      await purgeIfDue(k, now, nowIso);
      return outcomes;
    });
  }

  /**
   * The connection of the last group, kept until the end of the event loop's turn: the queue
   * hands over the next group as soon as one commits (group-commit.ts), and that group's first
   * message then goes out at once — not after the pool's hand-over, which waits for every
   * response of the group just committed to be written. Released when no group follows, so the
   * pool can close.
   */
  let kept: { client: pg.PoolClient } | undefined;
  const keep = (client: pg.PoolClient) => {
    const mine = { client };
    kept = mine;
    setImmediate(() => {
      if (kept !== mine) return;
      kept = undefined;
      client.release();
    });
  };

  return {
    get fallbacks() {
      return fallbacks;
    },
    get decidedBeforeLock() {
      return { ...decidedBeforeLock, optimisticMisses, preparedEarly, preparedLate };
    },
    prepare(job: IngestJob): void {
      // Decided now, while the writer is busy with an earlier group; taken up by `speculate`
      // if nothing it read has been forgotten by then.
      const early = passFromCache(job, ctx.clock.now().toISOString());
      if (early !== undefined) prepared.set(job, early);
    },
    async commitGroup(jobs: readonly IngestJob[]): Promise<JobOutcome[]> {
      const now = ctx.clock.now();
      const nowIso = now.toISOString();
      const pool = db.postgresPool;
      if (!pool) throw new Error('the PostgreSQL usage writer needs the database pool');
      // Decided before the lock when the writer remembers every reference the group names, so
      // nothing but PostgreSQL's work is left between taking the lock and the COPY.
      const speculated = speculate(jobs, nowIso);
      const plan = speculated ? planLookup(speculated.pass) : undefined;
      const client = kept?.client ?? (await pool.connect());
      kept = undefined;
      let decided = false;
      try {
        // One round trip: the transaction, the write lock every transaction here takes
        // (core/db/postgres.ts), the epoch the customer cache is valid for — and, with a first
        // pass decided already, the events committed since this writer last looked, a savepoint
        // before the COPY, and the lookup with its seq block (arrays written into the text: a
        // message of several statements cannot carry parameters).
        const statements = [`begin; select pg_advisory_xact_lock(${WRITE_LOCK_KEY}); select customers_epoch::text as epoch from usage_state where id = 1`];
        if (plan) {
          statements.push(
            `select seq::text, scope::text, idempotency_key, legacy_id from usage_events
             where seq > greatest(${knownUpTo}, (select coalesce(max(seq), 0) from usage_events) - ${postgresWriterLimits.catchUpRows})`,
            `savepoint ${COPY_SAVEPOINT}`,
            plan.asked.size > 0 || plan.n > 0 ? lookupStatement(plan.asked, plan.n, true).text : 'select 1 where false',
          );
        }
        const opened = (await client.query(statements.join('; '))) as unknown as pg.QueryResult[];
        const epoch = (opened[2].rows[0] as { epoch: string }).epoch;
        const k = kyselyOn(client);
        const beforeCommit = async () => {
          await purgeIfDue(k, now, nowIso);
          decided = true;
        };
        let ready: Parameters<typeof applyGroup>[6];
        let seen = knownUpTo;
        if (speculated && plan) {
          // Committed since this writer last looked: remembered, so it need not probe for them.
          const caughtUp = opened[3].rows as StoredKeyRow[];
          for (const r of caughtUp) {
            remember(Number(r.scope), r.idempotency_key, Number(r.seq), r.legacy_id);
            seen = Math.max(seen, Number(r.seq));
          }
          if (speculated.epoch === epoch) {
            // Stored: what the writer knew, what it just read back, what the lookup found.
            const found = readLookup(opened[5].rows as StoredKeyRow[], plan.n, plan.known);
            for (const r of caughtUp) {
              const scopeRef = Number(r.scope);
              if (speculated.pass.claimed.get(scopeRef)?.has(r.idempotency_key) || speculated.pass.asked.get(scopeRef)?.has(r.idempotency_key))
                storeKey(found.stored, Number(r.scope), r.idempotency_key, { seq: Number(r.seq), legacy_id: r.legacy_id });
            }
            ready = { pass: speculated.pass, ...found, optimistic: plan.optimistic };
            decidedBeforeLock.kept++;
          } else {
            // A customer changed since the pass was decided (archived, period closed, created):
            // decide again under the lock. The seqs drawn are a gap, as a rolled-back batch's.
            decidedBeforeLock.redone++;
          }
        }
        const { outcomes, committed, inserted, lastSeq } = await applyGroup(client, k, jobs, epoch, nowIso, beforeCommit, ready);
        if (!committed) {
          await beforeCommit();
          await client.query('commit');
        }
        // Committed: remembered as stored. Every seq up to the block's end is now known, when
        // this group read what others committed before it (under the lock nothing else ran).
        for (const [scopeRef, keys] of inserted) for (const [key, row] of keys) remember(scopeRef, key, row.seq, null);
        if (plan) knownUpTo = Math.max(seen, lastSeq);
        keep(client);
        return outcomes;
      } catch (error) {
        clearCaches();
        let broken = false;
        await client.query('rollback').catch(() => {
          broken = true;
        });
        client.release(broken);
        // Failed at COMMIT: it may have committed; answering from a second attempt could turn
        // accepted events into duplicates, so every batch fails (the client retries).
        if (decided) throw error;
        // Failed before COMMIT: nothing of the group is stored. Apply it again batch by batch,
        // so that only the batch that fails is refused and its neighbours commit.
        fallbacks++;
        return commitBatchByBatch(jobs, now, nowIso);
      }
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

    // The indexer asks every 250 ms. `count(*)` of the tail scanned it whole each time — a scan
    // growing with the backlog, ~10–20% of a core during a burst; the distance from the cursor
    // to the last seq is two index lookups. It counts the seq gaps too (keys of a group's block
    // that turned out stored), so it is an upper bound, exact once the index has caught up (0).
    async unindexedCount(): Promise<number> {
      const { rows } = await sql<{ n: string }>`
        select greatest(coalesce((select max(seq) from usage_events), 0)
          - (select last_seq from usage_index_state where name = 'usage_by_customer'), 0)::text as n`.execute(db.kysely);
      return Number(rows[0].n);
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
