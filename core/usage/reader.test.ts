import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, createContext, type CoreContext } from '../context/index.js';
import { type Db, openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { inTransaction } from '../db/transaction.js';
import { type TestDatabase, createTestDatabase, onPostgres, refuseInserts } from '../testing/database.js';
import { insertTestCustomer } from '../testing/index.js';
import { aggregateUsage } from './aggregate.js';
import { metricCode } from './batch.js';
import { EventFeedWriter, createEventFeedBuffer } from './event-feed.js';
import { createUsageIngest } from './ingest.js';
import { createThreadedUsageReader, usageReaderFor } from './reader.js';
import { createSqliteUsageEventWriter } from './sqlite-writer.js';
import type { UsageMetric } from './tables.js';
import { insertUsageRowForTest } from './testing.js';

describe('usage reader', () => {
  let database: TestDatabase;
  let db: Db;
  let ctx: CoreContext;
  const scope = { merchantId: 'mer_r', environment: 'live' as const };
  const may = new Date('2026-05-01T00:00:00.000Z');
  const june = new Date('2026-06-01T00:00:00.000Z');
  let n = 0;

  async function event(customerId: string, metric: UsageMetric, quantity: string, occurredAt: string, dimensions = '{}') {
    n++;
    await insertUsageRowForTest(db, { ...scope, customerId, idempotencyKey: `r${n}`, metric, quantity, occurredAt, dimensions });
  }

  /** A mix every read path must get right: long quantities, a 64-bit overflow, gauges, the window's edges. */
  async function seed(customerId: string) {
    const big = `4${'0'.repeat(29)}`;
    for (let i = 0; i < 12; i++) await event(customerId, 'tokens_output', '9'.repeat(18), `2026-05-${String(1 + i).padStart(2, '0')}T08:00:00.000Z`, '{"model":"gpt-5"}');
    await event(customerId, 'tokens_input', big, '2026-05-01T00:00:00.000Z', '{"model":"gpt-5","region":"eu"}'); // first instant: in
    await event(customerId, 'tokens_input', '17', '2026-05-31T23:59:59.999Z', '{"model":"gpt-5","region":"eu"}'); // last instant: in
    await event(customerId, 'tokens_input', '1000', '2026-06-01T00:00:00.000Z', '{"model":"gpt-5","region":"eu"}'); // window end: out
    await event(customerId, 'storage_gb', '12', '2026-05-03T00:00:00.000Z');
    await event(customerId, 'storage_gb', big, '2026-05-04T00:00:00.000Z');
    await event(customerId, 'storage_gb', '5', '2026-05-05T00:00:00.000Z');
    await event(customerId, 'agent_run', '3', '2026-04-30T23:59:59.999Z'); // before the window: out
  }

  beforeAll(async () => {
    database = await createTestDatabase('buffmoney-reader-', 'reader.db');
    db = openDatabase(database.url, { durable: false });
    if (!database.migrated) await migrateToLatest(db);
    ctx = createContext({ db, clock: new ManualClock(), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  });
  afterAll(async () => {
    await db.close();
    await database.cleanup();
  });

  it('reads exactly what aggregateUsage reads, and does not wait for a write transaction in progress', async () => {
    await seed('cus_pool');
    const expected = await aggregateUsage(ctx, scope, 'cus_pool', may, june);
    expect(expected.find((r) => r.metric === 'storage_gb')?.quantity).toBe(`4${'0'.repeat(29)}`);
    expect(await usageReaderFor(ctx).aggregate(scope, 'cus_pool', may, june)).toEqual(expected);
    if (!onPostgres) return; // on SQLite in process the connection itself is shared: see the thread below
    // PostgreSQL: a usage read is a READ ONLY snapshot on a pooled connection, without the write lock.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let writing!: () => void;
    const started = new Promise<void>((r) => (writing = r));
    const tx = inTransaction(ctx, async (t) => {
      await t.db.kysely.selectFrom('usage_state').select('customers_epoch').execute();
      writing();
      await held;
    });
    await started;
    try {
      expect(await usageReaderFor(ctx).aggregate(scope, 'cus_pool', may, june)).toEqual(expected);
    } finally {
      release();
      await tx;
    }
  });

  // The reader thread exists only for an embedded SQLite file.
  it.skipIf(onPostgres)('sqlite: the reader thread answers what the in-process path answers, indexed or not, while the writer holds the write lock', async () => {
    await seed('cus_thread');
    for (let i = 0; i < 3; i++) await seed(`cus_other_${i}`);
    const reader = createThreadedUsageReader({ file: db.capabilities.embeddedFile!, threads: 2 });
    try {
      const windows: Array<[Date, Date]> = [
        [may, june],
        [new Date('2026-05-04T00:00:00.000Z'), new Date('2026-05-04T00:00:00.001Z')],
        [new Date('2026-04-01T00:00:00.000Z'), new Date('2026-07-01T00:00:00.000Z')],
      ];
      const ingest = createUsageIngest(ctx);
      const compare = async () => {
        for (const customer of ['cus_thread', 'cus_other_1', 'cus_nobody']) {
          for (const [from, to] of windows) {
            expect(await reader.aggregate(scope, customer, from, to)).toEqual(await aggregateUsage(ctx, scope, customer, from, to));
          }
        }
      };
      await compare(); // all from the unindexed tail (the thread loads it into memory)
      await seed('cus_thread'); // new events since: loaded incrementally by the next read
      await event('cus_other_1', 'agent_run', '8', '2026-05-20T00:00:00.000Z');
      await compare();
      await ingest.indexCustomerUsage(20);
      await compare(); // index + tail (entries the index took over are dropped from memory)
      await seed('cus_other_1');
      await ingest.indexCustomerUsage(30);
      await compare();
      while ((await ingest.indexCustomerUsage(1000)) > 0);
      await compare(); // all indexed (SQL sums, the overflow fallback, long quantities)
      expect((await reader.aggregate(scope, 'cus_thread', may, june)).length).toBe(3);

      // The writer's connection holds the write lock (as during a group commit): the thread's
      // read-only snapshot goes on, and sees the state before that transaction.
      const before = await aggregateUsage(ctx, scope, 'cus_thread', may, june);
      const writer = openDatabase(database.url, { durable: false });
      try {
        await writer.exclusive!(async (raw) => {
          raw.prepare('BEGIN IMMEDIATE').run();
          raw.prepare('UPDATE usage_index_state SET last_seq = last_seq').run();
        });
        expect(await reader.aggregate(scope, 'cus_thread', may, june)).toEqual(before);
        await writer.exclusive!((raw) => raw.prepare('ROLLBACK').run());
      } finally {
        await writer.close();
      }
    } finally {
      await reader.close();
    }
  });

  it.skipIf(onPostgres)('sqlite: the reader thread takes committed events from the writer’s feed, and loads from its snapshot whatever the feed left out', async () => {
    const now = new Date().toISOString();
    await db.kysely
      .insertInto('merchants')
      .values({ id: scope.merchantId, name: 'R', email: 'r@example.com', password_hash: 'x', status: 'active', created_at: now, updated_at: now } as never)
      .execute();
    for (const id of ['cus_feed_a', 'cus_feed_b']) await insertTestCustomer(db, { id, merchantId: scope.merchantId, environment: scope.environment, externalId: id.slice(4) });
    (ctx.clock as ManualClock).set('2026-05-30T12:00:00.000Z'); // every event of May is in the past
    const feed = createEventFeedBuffer(16); // small: a burst between two reads overflows it
    const feedWriter = new EventFeedWriter(feed);
    const ingest = createUsageIngest(ctx, { writer: createSqliteUsageEventWriter(ctx, { feed: feedWriter }) });
    let k = 0;
    const batch = (customer: 'feed_a' | 'feed_b', ...quantities: string[]) =>
      Buffer.from(
        JSON.stringify({
          events: quantities.map((quantity, i) => ({
            customerExternalId: customer,
            idempotencyKey: quantity === 'boom' ? 'boom' : `f${++k}`,
            metric: i % 2 === 0 ? 'tokens_input' : 'storage_gb',
            quantity: quantity === 'boom' ? '1' : quantity,
            occurredAt: `2026-05-${String(1 + (k % 28)).padStart(2, '0')}T10:00:00.000Z`,
            dimensions: { model: k % 3 === 0 ? 'a' : 'b' },
          })),
        }),
      );
    const reader = createThreadedUsageReader({ file: db.capabilities.embeddedFile!, feed });
    const compare = async () => {
      for (const customer of ['cus_feed_a', 'cus_feed_b'])
        expect(await reader.aggregate(scope, customer, may, june)).toEqual(await aggregateUsage(ctx, scope, customer, may, june));
    };
    try {
      await compare();
      // Numbers, 16 digits (text in the feed) and 40 (not carried: a gap the snapshot fills).
      expect((await ingest.ingest({ scope, body: batch('feed_a', '3', '999999999999999', '1000000000000001', '7', `5${'0'.repeat(39)}`, '11') })).counts.accepted).toBe(6);
      expect((await ingest.ingest({ scope, body: batch('feed_b', '2', '4') })).counts.accepted).toBe(2);
      await compare();
      // Committed without the feed (another process): a gap, then the feed again.
      await event('cus_feed_a', 'tokens_input', '13', '2026-05-09T00:00:00.000Z');
      await ingest.ingest({ scope, body: batch('feed_a', '17', '19') });
      await compare();
      // More than the ring holds between two reads: the writer leaves rows out rather than wait.
      const many = await ingest.ingest({ scope, body: batch('feed_b', ...Array.from({ length: 40 }, (_, i) => String(100 + i))) });
      expect(many.counts.accepted).toBe(40);
      expect(feedWriter.dropped).toBeGreaterThan(0);
      await compare();
      // A batch rolled back in its group: its rows were never published, and its seqs went to
      // the next batch's rows, which the reader must hold with their own quantities.
      const allowBoom = await refuseInserts(db, 'usage_events', 'boom', "NEW.idempotency_key = 'boom'");
      const resume = ingest.pauseWrites();
      const ok1 = ingest.ingest({ scope, body: batch('feed_a', '23') });
      const bad = ingest.ingest({ scope, body: batch('feed_b', '29', '31', 'boom') });
      const ok2 = ingest.ingest({ scope, body: batch('feed_b', '37', '41', '43') });
      resume();
      await expect(bad).rejects.toThrow(/boom/);
      expect((await ok1).counts.accepted + (await ok2).counts.accepted).toBe(4);
      await allowBoom();
      await compare();
      // Indexed in part: the rows the index took over are dropped from memory.
      await ingest.indexCustomerUsage(25);
      await ingest.ingest({ scope, body: batch('feed_a', '47') });
      await compare();

      // White-box: the rows do come from the feed. A row published that SQLite never stored is
      // counted — which is why only the writer publishes, and only after COMMIT.
      const before = await reader.aggregate(scope, 'cus_feed_b', may, june);
      const [{ seq }] = (await db.kysely
        .selectFrom('usage_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .execute()) as Array<{ seq: number }>;
      const [{ ref }] = await db.kysely.selectFrom('usage_customers').select('ref').where('customer_id', '=', 'cus_feed_b').execute();
      const [{ id: dims }] = await db.kysely.selectFrom('usage_dimension_sets').select('id').where('canonical', '=', '{"model":"b"}').execute();
      const lie = new EventFeedWriter(feed);
      lie.add(Number(seq) + 1, Number(ref), Date.parse('2026-05-20T00:00:00.000Z'), metricCode('tokens_input'), Number(dims), '1000000');
      lie.publish();
      const after = await reader.aggregate(scope, 'cus_feed_b', may, june);
      const tokens = (rows: typeof before) => BigInt(rows.find((r) => r.metric === 'tokens_input' && r.dimensions.model === 'b')?.quantity ?? '0');
      expect(tokens(after) - tokens(before)).toBe(1_000_000n);
    } finally {
      await reader.close();
    }
  });
});
