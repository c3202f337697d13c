import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, HOUR, ManualClock, createContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { type TestDatabase, createTestDatabase, refuseInserts } from '../testing/database.js';
import { insertTestCustomer } from '../testing/index.js';
import { IN_PROGRESS_LEASE_MS } from './apply-job.js';
import { purgeExpiredIdempotencyRecords } from './idempotency.js';
import { postgresWriterLimits } from './postgres-writer.js';
import { createUsageEventWriter, createUsageIngest } from './ingest.js';
import type { IngestJob, UsageEventWriter } from './writer.js';

let database: TestDatabase;
let ctx: CoreContext;
let clock: ManualClock;
const scope = { merchantId: 'mer_test', environment: 'sandbox' as const };

beforeEach(async () => {
  database = await createTestDatabase('buffmoney-usage-', 'test.db');
  const db = openDatabase(database.url, { durable: false });
  if (!database.migrated) await migrateToLatest(db);
  clock = new ManualClock('2026-05-25T12:00:00.000Z');
  ctx = createContext({ db, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  const now = clock.now().toISOString();
  await db.kysely
    .insertInto('merchants')
    .values({ id: scope.merchantId, name: 'M', email: 'm@example.com', password_hash: 'x', status: 'active', created_at: now, updated_at: now } as any)
    .execute();
  await insertTestCustomer(db, { id: 'cus_1', merchantId: scope.merchantId, environment: 'sandbox', externalId: 'user_42' });
});

afterEach(async () => {
  await ctx.db.close();
  await database.cleanup();
});

const body = (...keys: string[]) =>
  Buffer.from(
    JSON.stringify({
      events: keys.map((k) => ({ customerExternalId: 'user_42', idempotencyKey: k, metric: 'agent_run', quantity: '1', occurredAt: '2026-05-25T11:00:00Z' })),
    }),
  );

const count = async (table: 'usage_events' | 'idempotency_records') =>
  Number(
    (
      await ctx.db.kysely
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('Idempotency-Key records', () => {
  it('expire after 24 hours: purged by the core function, and the key executes anew', async () => {
    const ingest = createUsageIngest(ctx);
    const first = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(first.counts.accepted).toBe(1);
    clock.advance(24 * HOUR - 1);
    expect(await purgeExpiredIdempotencyRecords(ctx)).toBe(0);
    const replay = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(replay.replayed).toBe(true);
    expect(replay).toEqual({ ...first, replayed: true });
    clock.advance(1);
    const again = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(again.replayed).toBe(false);
    expect(again.counts).toEqual({ accepted: 0, duplicates: 1, rejected: 0 }); // per-event dedupe still holds
    expect(await count('usage_events')).toBe(1);
    clock.advance(24 * HOUR);
    expect(await purgeExpiredIdempotencyRecords(ctx)).toBe(1);
    expect(await count('idempotency_records')).toBe(0);
  });

  it('are purged opportunistically by the writer, a bounded slice at most once a minute', async () => {
    const ingest = createUsageIngest(ctx);
    for (const k of ['K1', 'K2', 'K3']) await ingest.ingest({ scope, body: body(k), idempotencyKey: k });
    expect(await count('idempotency_records')).toBe(3);
    clock.advance(25 * HOUR);
    await ingest.ingest({ scope, body: body('later') });
    expect(await count('idempotency_records')).toBe(0);
  });
});

describe('group commit', () => {
  function countingWriter(): { writer: UsageEventWriter; groups: number[] } {
    const inner = createUsageEventWriter(ctx);
    const groups: number[] = [];
    return {
      groups,
      writer: {
        commitGroup(jobs: readonly IngestJob[]) {
          groups.push(jobs.length);
          return inner.commitGroup(jobs);
        },
        indexCustomerUsage: (maxRows) => inner.indexCustomerUsage(maxRows),
        unindexedCount: () => inner.unindexedCount(),
      },
    };
  }

  it('commits batches that arrive together in one transaction, dedupes across them, and caps a group', async () => {
    const { writer, groups } = countingWriter();
    const ingest = createUsageIngest(ctx, { writer, maxGroupEvents: 4 });
    const resume = ingest.pauseWrites();
    const pending = [ingest.ingest({ scope, body: body('a', 'b') }), ingest.ingest({ scope, body: body('b', 'c') }), ingest.ingest({ scope, body: body('c', 'd') })];
    expect(ingest.pendingBatches).toBe(3);
    resume();
    const results = (await Promise.all(pending)).map((r) => JSON.parse(r.resultsJson).map((x: any) => x.status));
    expect(groups).toEqual([2, 1]);
    expect(results).toEqual([
      ['accepted', 'accepted'],
      ['duplicate', 'accepted'],
      ['duplicate', 'accepted'],
    ]);
    expect(await count('usage_events')).toBe(4);
  });

  it('decides a group as if its batches ran one after another: a key refused early in the group is taken by a later batch, stored keys are duplicates', async () => {
    const events = (...list: Array<[string, string]>) =>
      Buffer.from(
        JSON.stringify({
          events: list.map(([k, customer]) => ({ customerExternalId: customer, idempotencyKey: k, metric: 'agent_run', quantity: '1', occurredAt: '2026-05-25T11:00:00Z' })),
        }),
      );
    const ingest = createUsageIngest(ctx);
    const first = await ingest.ingest({ scope, body: events(['old', 'user_42']) });
    const oldId = JSON.parse(first.resultsJson)[0].eventId;
    const resume = ingest.pauseWrites();
    const pending = [
      ingest.ingest({ scope, body: events(['k', 'nobody'], ['a', 'user_42'], ['old', 'user_42']) }),
      ingest.ingest({ scope, body: events(['k', 'user_42'], ['old', 'nobody']) }),
      ingest.ingest({ scope, body: events(['k', 'user_42'], ['k', 'nobody'], ['a', 'nobody']) }),
    ];
    resume();
    const results = (await Promise.all(pending)).map((r) => JSON.parse(r.resultsJson));
    expect(results.map((r) => r.map((x: any) => x.status))).toEqual([
      ['rejected', 'accepted', 'duplicate'],
      ['accepted', 'duplicate'],
      ['duplicate', 'duplicate', 'duplicate'],
    ]);
    expect(results[0][0].reason).toBe('unknown_customer');
    expect(results[0][2].eventId).toBe(oldId);
    expect(results[1][1].eventId).toBe(oldId);
    expect(results[2][0].eventId).toBe(results[1][0].eventId);
    expect(results[2][1].eventId).toBe(results[1][0].eventId);
    expect(results[2][2].eventId).toBe(results[0][1].eventId);
    expect(await count('usage_events')).toBe(3);
  });

  it('finds every stored key whether it sorts above or below the keys stored so far, per scope and whatever the collation, without falling back', async () => {
    const other = { merchantId: 'mer_other', environment: 'sandbox' as const };
    const now = clock.now().toISOString();
    await ctx.db.kysely
      .insertInto('merchants')
      .values({ id: other.merchantId, name: 'O', email: 'o@example.com', password_hash: 'x', status: 'active', created_at: now, updated_at: now, auto_create_customers: 1 } as any)
      .execute();
    const writer = createUsageEventWriter(ctx);
    const ingest = createUsageIngest(ctx, { writer });
    const statuses = async (s: typeof scope, ...keys: string[]) => JSON.parse((await ingest.ingest({ scope: s, body: body(...keys) })).resultsJson).map((x: any) => x.status);
    expect(await statuses(other, 'zz-other', 'm')).toEqual(['accepted', 'accepted']); // another scope's keys: theirs only
    expect(await statuses(scope, 'm')).toEqual(['accepted']);
    // Above the greatest ('z…'), the greatest itself, below it ('a'), a key only the other scope holds.
    expect(await statuses(scope, 'zz-new', 'm', 'a', 'zz-other')).toEqual(['accepted', 'duplicate', 'accepted', 'accepted']);
    expect(await statuses(scope, 'a', 'zz-new', 'zz-other', 'b', 'zzz')).toEqual(['duplicate', 'duplicate', 'duplicate', 'accepted', 'accepted']);
    // Case and non-ASCII keys, whose order depends on the collation: stored ones are found all the same.
    expect(await statuses(scope, 'Zebra', 'émile', 'ÉMILE', '0')).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect(await statuses(scope, 'émile', 'Zebra', 'ÉMILE', '0', 'zebra')).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'accepted']);
    expect(await count('usage_events')).toBe(2 + 11);
    // On PostgreSQL every group took the fast path: a key wrongly taken as new would have failed
    // the COPY on the unique index and sent its group down the batch-by-batch fallback.
    expect(writer.fallbacks ?? 0).toBe(0);
  });

  it('decides a group again under the lock when a customer changed after the writer remembered it (archived, period closed)', async () => {
    const writer = createUsageEventWriter(ctx);
    const ingest = createUsageIngest(ctx, { writer });
    const at = (key: string, occurredAt: string) =>
      Buffer.from(JSON.stringify({ events: [{ customerExternalId: 'user_42', idempotencyKey: key, metric: 'agent_run', quantity: '1', occurredAt }] }));
    const results = async (b: Buffer) => JSON.parse((await ingest.ingest({ scope, body: b })).resultsJson).map((x: any) => x.reason ?? x.status);
    expect(await results(at('a', '2026-05-25T11:00:00Z'))).toEqual(['accepted']); // the writer now remembers user_42
    expect(await results(at('b', '2026-05-25T11:00:00Z'))).toEqual(['accepted']);
    // Another connection (an invoice run, the back office) closes the period, then archives the customer.
    await ctx.db.kysely.updateTable('customers').set({ usage_locked_until: '2026-05-25T10:30:00.000Z' }).where('id', '=', 'cus_1').execute();
    expect(await results(at('c', '2026-05-25T10:00:00Z'))).toEqual(['period_closed']);
    expect(await results(at('d', '2026-05-25T11:00:00Z'))).toEqual(['accepted']);
    await ctx.db.kysely.updateTable('customers').set({ status: 'archived' }).where('id', '=', 'cus_1').execute();
    expect(await results(Buffer.concat([at('e', '2026-05-25T11:00:00Z')]))).toEqual(['customer_archived']);
    expect(await results(at('b', '2026-05-25T11:00:00Z'))).toEqual(['duplicate']); // a retry of a stored event stays a duplicate
    expect(await count('usage_events')).toBe(3);
    expect(writer.fallbacks ?? 0).toBe(0);
    // On PostgreSQL: 'b' and 'd' (and the retry) were decided before the lock; 'c' and 'e' were
    // decided that way too, found the customers' epoch moved, and were decided again under it.
    if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toMatchObject({ kept: 3, redone: 2, optimisticMisses: 0 });
  });

  it('decides each batch as it queues; a group of such batches settles as if they ran one after another', async () => {
    const writer = createUsageEventWriter(ctx);
    const ingest = createUsageIngest(ctx, { writer });
    const events = (...list: Array<[string, string]>) =>
      Buffer.from(
        JSON.stringify({ events: list.map(([k, occurredAt]) => ({ customerExternalId: 'user_42', idempotencyKey: k, metric: 'agent_run', quantity: '1', occurredAt })) }),
      );
    const open = '2026-05-25T11:00:00Z';
    const closed = '2026-05-25T10:00:00Z';
    await ctx.db.kysely.updateTable('customers').set({ usage_locked_until: '2026-05-25T10:30:00.000Z' }).where('id', '=', 'cus_1').execute();
    const first = await ingest.ingest({ scope, body: events(['old', open]) }); // the writer now remembers user_42, period closed
    const oldId = JSON.parse(first.resultsJson)[0].eventId;
    const resume = ingest.pauseWrites();
    // Refused events ask about keys another batch of the group claims, and a stored one.
    const pending = [
      ingest.ingest({ scope, body: events(['k', closed], ['a', open], ['old', open], ['a', open]) }),
      ingest.ingest({ scope, body: events(['k', open], ['old', closed]) }),
      ingest.ingest({ scope, body: events(['k', open], ['k', closed], ['a', closed], ['n', closed]) }),
    ];
    resume();
    const results = (await Promise.all(pending)).map((r) => JSON.parse(r.resultsJson));
    expect(results.map((r) => r.map((x: any) => x.reason ?? x.status))).toEqual([
      ['period_closed', 'accepted', 'duplicate', 'duplicate'],
      ['accepted', 'duplicate'],
      ['duplicate', 'duplicate', 'duplicate', 'period_closed'],
    ]);
    expect(results[0][2].eventId).toBe(oldId);
    expect(results[0][3].eventId).toBe(results[0][1].eventId);
    expect(results[1][1].eventId).toBe(oldId);
    expect(results[2][0].eventId).toBe(results[1][0].eventId);
    expect(results[2][1].eventId).toBe(results[1][0].eventId);
    expect(results[2][2].eventId).toBe(results[0][1].eventId);
    expect(await count('usage_events')).toBe(3);
    expect(writer.fallbacks ?? 0).toBe(0);
    // On PostgreSQL the three batches were decided as they queued, and their group before the lock.
    if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toEqual({ kept: 1, redone: 0, optimisticMisses: 0, preparedEarly: 3, preparedLate: 0 });
    // A group with a batch naming a customer the writer does not remember is decided under the lock, whole.
    const resumeAgain = ingest.pauseWrites();
    const mixed = [
      ingest.ingest({ scope, body: events(['m1', open]) }),
      ingest.ingest({
        scope,
        body: Buffer.from(JSON.stringify({ events: [{ customerExternalId: 'nobody', idempotencyKey: 'm2', metric: 'agent_run', quantity: '1', occurredAt: open }] })),
      }),
    ];
    resumeAgain();
    expect((await Promise.all(mixed)).map((r) => r.counts)).toEqual([
      { accepted: 1, duplicates: 0, rejected: 0 },
      { accepted: 0, duplicates: 0, rejected: 1 },
    ]);
    if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toEqual({ kept: 1, redone: 0, optimisticMisses: 0, preparedEarly: 3, preparedLate: 0 });
  });

  it('decides a batch again when its group forms if what it was decided on changed after it queued', async () => {
    const writer = createUsageEventWriter(ctx);
    const ingest = createUsageIngest(ctx, { writer, maxGroupEvents: 1 });
    const at = (key: string, occurredAt: string) =>
      Buffer.from(JSON.stringify({ events: [{ customerExternalId: 'user_42', idempotencyKey: key, metric: 'agent_run', quantity: '1', occurredAt }] }));
    expect((await ingest.ingest({ scope, body: at('warm', '2026-05-25T11:00:00Z') })).counts.accepted).toBe(1);
    const resume = ingest.pauseWrites();
    // Both decided as they queue, with the period open; then another connection closes it.
    const pending = [ingest.ingest({ scope, body: at('p', '2026-05-25T10:00:00Z') }), ingest.ingest({ scope, body: at('q', '2026-05-25T10:00:00Z') })];
    await ctx.db.kysely.updateTable('customers').set({ usage_locked_until: '2026-05-25T10:30:00.000Z' }).where('id', '=', 'cus_1').execute();
    resume();
    const results = (await Promise.all(pending)).map((r) => JSON.parse(r.resultsJson).map((x: any) => x.reason ?? x.status));
    // 'p' (its own group): the epoch read under the lock had moved, so it was decided again there.
    // 'q' (the next group): the writer had forgotten the customer meanwhile, so its early pass was dropped.
    expect(results).toEqual([['period_closed'], ['period_closed']]);
    expect(await count('usage_events')).toBe(1);
    if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toEqual({ kept: 1, redone: 1, optimisticMisses: 0, preparedEarly: 1, preparedLate: 1 });
  });

  it('finds stored keys of every shape when the lookup is written into the statement text (quotes, backslashes, braces, commas, NULL, unicode)', async () => {
    const writer = createUsageEventWriter(ctx);
    const ingest = createUsageIngest(ctx, { writer });
    const keys = ['plain', 'a"b', 'c\\d', '\\"', '{e}', 'f,g', "'h'", 'NULL', 'null', ' spaced ', 'tab\there', 'new\nline', 'émile', '🙂', "O'Brien\\"];
    const statuses = async (list: string[]) => JSON.parse((await ingest.ingest({ scope, body: body(...list) })).resultsJson).map((x: any) => x.status);
    expect(await statuses(['warm'])).toEqual(['accepted']); // the writer remembers user_42: the next groups are decided before the lock
    expect(await statuses(keys)).toEqual(keys.map(() => 'accepted'));
    expect(await statuses([...keys].reverse())).toEqual(keys.map(() => 'duplicate'));
    expect(await count('usage_events')).toBe(1 + keys.length);
    expect(writer.fallbacks ?? 0).toBe(0);
    if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toEqual({ kept: 2, redone: 0, optimisticMisses: 0, preparedEarly: 2, preparedLate: 0 });
  });

  it('rolls back only the batch that failed; its neighbours in the group commit', async () => {
    const allowBoom = await refuseInserts(ctx.db, 'usage_events', 'boom', "NEW.idempotency_key = 'boom'");
    const { writer, groups } = countingWriter();
    const ingest = createUsageIngest(ctx, { writer });
    const resume = ingest.pauseWrites();
    const ok1 = ingest.ingest({ scope, body: body('x1') });
    const bad = ingest.ingest({ scope, body: body('y1', 'boom'), idempotencyKey: 'KB' });
    const ok2 = ingest.ingest({ scope, body: body('x2') });
    resume();
    await expect(bad).rejects.toThrow(/boom/);
    expect((await ok1).kind).toBe('processed');
    expect((await ok2).kind).toBe('processed');
    expect(groups).toEqual([3]);
    const keys = (await ctx.db.kysely.selectFrom('usage_events').select('idempotency_key').execute()).map((r) => r.idempotency_key).sort();
    expect(keys).toEqual(['x1', 'x2']); // y1 rolled back with its batch
    expect(await count('idempotency_records')).toBe(0); // so a retry can run
    await allowBoom();
    const retry = await ingest.ingest({ scope, body: body('y1', 'boom'), idempotencyKey: 'KB' });
    expect(retry.counts.accepted).toBe(2);
  });
});

describe('Idempotency-Key records in progress', () => {
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  async function inProgressRecord(key: string, requestBody: Buffer, ageMs: number) {
    const created = new Date(clock.now().getTime() - ageMs);
    await ctx.db.kysely
      .insertInto('idempotency_records')
      .values({
        merchant_id: scope.merchantId,
        environment: scope.environment,
        idempotency_key: key,
        request_hash: sha256(requestBody),
        state: 'in_progress',
        response_status: null,
        response_body: null,
        created_at: created.toISOString(),
        expires_at: new Date(created.getTime() + 24 * HOUR).toISOString(),
      })
      .execute();
  }

  it('answer 409 idempotency_key_in_use while fresh, and are taken over once abandoned (not stuck for a day)', async () => {
    const ingest = createUsageIngest(ctx);
    const fresh = body('p1');
    await inProgressRecord('KP1', fresh, IN_PROGRESS_LEASE_MS - 1_000);
    await expect(ingest.ingest({ scope, body: fresh, idempotencyKey: 'KP1' })).rejects.toMatchObject({ code: 'idempotency_key_in_use' });

    const abandoned = body('p2');
    await inProgressRecord('KP2', abandoned, IN_PROGRESS_LEASE_MS);
    const taken = await ingest.ingest({ scope, body: abandoned, idempotencyKey: 'KP2' });
    expect(taken).toMatchObject({ kind: 'processed', counts: { accepted: 1, duplicates: 0, rejected: 0 }, replayed: false });
    const replay = await ingest.ingest({ scope, body: abandoned, idempotencyKey: 'KP2' });
    expect(replay).toEqual({ ...taken, replayed: true });
    // Once abandoned, a different body is refused as for any completed key.
    await expect(ingest.ingest({ scope, body: body('other'), idempotencyKey: 'KP2' })).rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });
});

describe('ingest outcomes', () => {
  it('are typed: counts and results for the transport to render; an all-rejected batch is its own kind', async () => {
    const ingest = createUsageIngest(ctx);
    const mixed = await ingest.ingest({ scope, body: body('o1', 'o1') });
    expect(mixed).toMatchObject({ kind: 'processed', counts: { accepted: 1, duplicates: 1, rejected: 0 }, replayed: false });
    expect(JSON.parse(mixed.resultsJson).map((r: any) => r.status)).toEqual(['accepted', 'duplicate']);
    const unknown = Buffer.from(
      JSON.stringify({ events: [{ customerExternalId: 'nobody', idempotencyKey: 'o2', metric: 'agent_run', quantity: '1', occurredAt: '2026-05-25T11:00:00Z' }] }),
    );
    expect(await ingest.ingest({ scope, body: unknown })).toEqual({
      kind: 'all_rejected',
      counts: { accepted: 0, duplicates: 0, rejected: 1 },
      resultsJson: '[{"idempotencyKey":"o2","status":"rejected","reason":"unknown_customer"}]',
      replayed: false,
    });
    const invalid = Buffer.from('{"events":[{"idempotencyKey":"o3"}]}');
    expect(await ingest.ingest({ scope, body: invalid })).toMatchObject({ kind: 'all_rejected', counts: { accepted: 0, duplicates: 0, rejected: 1 } });
  });

  it('are stored under an Idempotency-Key as counts and results, and records of the earlier rendered form still replay', async () => {
    const ingest = createUsageIngest(ctx);
    const first = await ingest.ingest({ scope, body: body('s1'), idempotencyKey: 'KS' });
    const row = await ctx.db.kysely.selectFrom('idempotency_records').selectAll().where('idempotency_key', '=', 'KS').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'completed', response_status: null });
    expect(row.response_body).toBe(`{"accepted":1,"duplicates":0,"rejected":0,"results":${first.resultsJson}}`);

    // A record written before outcomes moved out of core: the rendered 422 body.
    const legacyBody = Buffer.from('{"events":[{"idempotencyKey":"old"}]}');
    const results = '[{"idempotencyKey":"old","status":"rejected","reason":"invalid_customer_external_id"}]';
    await ctx.db.kysely
      .insertInto('idempotency_records')
      .values({
        merchant_id: scope.merchantId,
        environment: scope.environment,
        idempotency_key: 'KL',
        request_hash: createHash('sha256').update(legacyBody).digest('hex'),
        state: 'completed',
        response_status: 422,
        response_body: `{"ok":false,"error":"all_events_rejected","message":"Every event in the batch was rejected; see results[].reason","accepted":0,"duplicates":0,"rejected":1,"results":${results}}`,
        created_at: clock.now().toISOString(),
        expires_at: new Date(clock.now().getTime() + HOUR).toISOString(),
      })
      .execute();
    expect(await ingest.ingest({ scope, body: legacyBody, idempotencyKey: 'KL' })).toEqual({
      kind: 'all_rejected',
      counts: { accepted: 0, duplicates: 0, rejected: 1 },
      resultsJson: results,
      replayed: true,
    });
  });
});

describe('two processes on one database (a second connection, as a second replica has)', () => {
  it('execute an Idempotency-Key once and store an event key once, whichever commits first', async () => {
    const other = openDatabase(database.url, { durable: false });
    try {
      const ctxB = createContext({ db: other, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
      const a = createUsageIngest(ctx);
      const b = createUsageIngest(ctxB);
      // The same request (same key, same body) at both at once; then overlapping event keys.
      const [ra, rb] = await Promise.all([
        a.ingest({ scope, body: body('p1', 'p2'), idempotencyKey: 'SAME' }),
        b.ingest({ scope, body: body('p1', 'p2'), idempotencyKey: 'SAME' }),
      ]);
      expect([ra.replayed, rb.replayed].sort()).toEqual([false, true]);
      expect(ra.resultsJson).toBe(rb.resultsJson); // the replay is the stored response, byte for byte
      const [rc, rd] = await Promise.all([a.ingest({ scope, body: body('q1', 'q2') }), b.ingest({ scope, body: body('q2', 'q3') })]);
      const q2 = [rc, rd].map((r) => JSON.parse(r.resultsJson).find((x: { idempotencyKey: string }) => x.idempotencyKey === 'q2'));
      expect(q2.map((x) => x.status).sort()).toEqual(['accepted', 'duplicate']);
      expect(q2[0].eventId).toBe(q2[1].eventId);
      expect(await count('usage_events')).toBe(5); // p1 p2 q1 q2 q3
      // Another key with a different body is refused on either side.
      await expect(b.ingest({ scope, body: body('p9'), idempotencyKey: 'SAME' })).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    } finally {
      await other.close();
    }
  });

  it('find the keys the other stored: read back under the lock, or — for one it was not told of — refused by the unique index, then looked up', async () => {
    const other = openDatabase(database.url, { durable: false });
    const limits = { ...postgresWriterLimits };
    try {
      const ctxB = createContext({ db: other, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
      const writer = createUsageEventWriter(ctx);
      const a = createUsageIngest(ctx, { writer });
      const b = createUsageIngest(ctxB);
      const results = async (ingest: typeof a, ...keys: string[]) => JSON.parse((await ingest.ingest({ scope, body: body(...keys) })).resultsJson);
      const statuses = async (ingest: typeof a, ...keys: string[]) => (await results(ingest, ...keys)).map((x: any) => x.status);
      expect(await statuses(a, 'a1')).toEqual(['accepted']); // A now remembers user_42: its next groups are decided before the lock
      expect(await statuses(a, 'a2')).toEqual(['accepted']);
      const stored = await results(b, 'b1', 'b2');
      // A reads what B committed in its next lock's round trip.
      const seen = await results(a, 'b1', 'a3', 'b2', 'a2');
      expect(seen.map((x: any) => x.status)).toEqual(['duplicate', 'accepted', 'duplicate', 'duplicate']);
      expect([seen[0].eventId, seen[2].eventId]).toEqual(stored.map((x: any) => x.eventId));
      // A reads nothing back now: B's next key is unknown to A, and A's COPY meets the unique index.
      postgresWriterLimits.catchUpRows = 0;
      const late = await results(b, 'm1');
      const fresh = Array.from({ length: 450 }, (_, i) => `n${i}`); // the COPY goes out in slices: it fails after some were sent
      const met = await results(a, ...fresh, 'm1', 'm2');
      expect(met.map((x: any) => x.status)).toEqual([...fresh.map(() => 'accepted'), 'duplicate', 'accepted']);
      expect(met[450].eventId).toBe(late[0].eventId);
      expect(await count('usage_events')).toBe(6 + 451); // a1 a2 b1 b2 a3 m1, then n0…n449 and m2
      expect(writer.fallbacks ?? 0).toBe(0); // the COPY was done again in the same transaction, not batch by batch
      if (writer.decidedBeforeLock) expect(writer.decidedBeforeLock).toEqual({ kept: 3, redone: 0, optimisticMisses: 1, preparedEarly: 3, preparedLate: 0 });
    } finally {
      Object.assign(postgresWriterLimits, limits);
      await other.close();
    }
  });
});
