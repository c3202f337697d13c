import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, createContext, type CoreContext } from '../context/index.js';
import { type Db, openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { aggregateUsage, dimensionSetCacheLimit } from './aggregate.js';
import { createUsageIngest } from './ingest.js';
import type { UsageMetric } from './tables.js';
import { insertUsageRowForTest } from './testing.js';

describe('aggregateUsage', () => {
  let database: TestDatabase;
  let db: Db;
  let ctx: CoreContext;
  const scope = { merchantId: 'mer_a', environment: 'sandbox' as const };
  let n = 0;

  async function event(customerId: string, metric: string, quantity: string, occurredAt: string, dimensions = '{}') {
    n++;
    await insertUsageRowForTest(db, {
      merchantId: scope.merchantId,
      environment: scope.environment,
      customerId,
      idempotencyKey: `k${n}`,
      metric: metric as UsageMetric,
      quantity,
      occurredAt,
      dimensions,
    });
  }

  beforeAll(async () => {
    database = await createTestDatabase('buffmoney-agg-', 'agg.db');
    db = openDatabase(database.url, { durable: false });
    if (!database.migrated) await migrateToLatest(db);
    ctx = createContext({ db, clock: new ManualClock(), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  });
  afterAll(async () => {
    await db.close();
    await database.cleanup();
  });

  const may = new Date('2026-05-01T00:00:00.000Z');
  const june = new Date('2026-06-01T00:00:00.000Z');

  it('sums counters per metric and dimensions with BigInt, exactly beyond 10^30', async () => {
    const big = `1${'0'.repeat(30)}`;
    await event('cus_1', 'tokens_input', big, '2026-05-02T00:00:00.000Z', '{"model":"gpt-5"}');
    await event('cus_1', 'tokens_input', big, '2026-05-03T00:00:00.000Z', '{"model":"gpt-5"}');
    await event('cus_1', 'tokens_input', '9007199254740993', '2026-05-03T00:00:00.000Z', '{"model":"gpt-5"}'); // 2^53 + 1: lossy as a Number
    await event('cus_1', 'tokens_input', '5', '2026-05-04T00:00:00.000Z', '{"model":"gpt-4o-mini"}');
    await event('cus_1', 'agent_run', '2', '2026-05-04T00:00:00.000Z');
    expect(await aggregateUsage(ctx, scope, 'cus_1', may, june)).toEqual([
      { metric: 'agent_run', dimensions: {}, quantity: '2' },
      { metric: 'tokens_input', dimensions: { model: 'gpt-4o-mini' }, quantity: '5' },
      { metric: 'tokens_input', dimensions: { model: 'gpt-5' }, quantity: (2n * 10n ** 30n + 9007199254740993n).toString() },
    ]);
  });

  it('takes the peak of storage_gb per dimension set instead of summing readings', async () => {
    await event('cus_2', 'storage_gb', '3', '2026-05-02T00:00:00.000Z', '{"region":"eu"}');
    await event('cus_2', 'storage_gb', '12', '2026-05-10T00:00:00.000Z', '{"region":"eu"}');
    await event('cus_2', 'storage_gb', '4', '2026-05-20T00:00:00.000Z', '{"region":"eu"}');
    await event('cus_2', 'storage_gb', '1', '2026-05-20T00:00:00.000Z', '{"region":"us"}');
    expect(await aggregateUsage(ctx, scope, 'cus_2', may, june)).toEqual([
      { metric: 'storage_gb', dimensions: { region: 'eu' }, quantity: '12' },
      { metric: 'storage_gb', dimensions: { region: 'us' }, quantity: '1' },
    ]);
  });

  it('counts [from, to) only, and only the customer’s own events', async () => {
    await event('cus_3', 'agent_run', '1', '2026-04-30T23:59:59.999Z');
    await event('cus_3', 'agent_run', '10', '2026-05-01T00:00:00.000Z');
    await event('cus_3', 'agent_run', '100', '2026-05-31T23:59:59.999Z');
    await event('cus_3', 'agent_run', '1000', '2026-06-01T00:00:00.000Z');
    await event('cus_3b', 'agent_run', '10000', '2026-05-05T00:00:00.000Z');
    expect(await aggregateUsage(ctx, scope, 'cus_3', may, june)).toEqual([{ metric: 'agent_run', dimensions: {}, quantity: '110' }]);
  });

  it('groups dimensions by content whatever their key order', async () => {
    await event('cus_4', 'tokens_output', '1', '2026-05-02T00:00:00.000Z', '{"model":"gpt-5","region":"eu"}');
    await event('cus_4', 'tokens_output', '2', '2026-05-02T00:00:00.000Z', '{"region":"eu","model":"gpt-5"}');
    expect(await aggregateUsage(ctx, scope, 'cus_4', may, june)).toEqual([{ metric: 'tokens_output', dimensions: { model: 'gpt-5', region: 'eu' }, quantity: '3' }]);
  });

  it('keeps parsed dimension sets between reads, and hands each caller a copy of its own', async () => {
    await event('cus_5', 'tokens_output', '7', '2026-05-02T00:00:00.000Z', '{"model":"gpt-5","region":"us"}');
    const first = await aggregateUsage(ctx, scope, 'cus_5', may, june);
    expect(first).toEqual([{ metric: 'tokens_output', dimensions: { model: 'gpt-5', region: 'us' }, quantity: '7' }]);
    first[0].dimensions.model = 'changed by a caller'; // e.g. a rating step decorating its input
    await event('cus_5', 'tokens_output', '3', '2026-05-03T00:00:00.000Z', '{"region":"us","model":"gpt-5"}');
    // The second read finds the set in the cache: same canonical grouping, untouched by the caller.
    expect(await aggregateUsage(ctx, scope, 'cus_5', may, june)).toEqual([{ metric: 'tokens_output', dimensions: { model: 'gpt-5', region: 'us' }, quantity: '10' }]);
  });

  it('reads exact totals over more dimension sets than the cache holds (it starts over mid-read)', async () => {
    const limit = dimensionSetCacheLimit.max;
    dimensionSetCacheLimit.max = 2;
    try {
      for (let i = 0; i < 5; i++) await event('cus_6', 'agent_run', String(i + 1), '2026-05-02T00:00:00.000Z', `{"lane":"${i}"}`);
      const expected = [0, 1, 2, 3, 4].map((i) => ({ metric: 'agent_run', dimensions: { lane: String(i) }, quantity: String(i + 1) }));
      expect(await aggregateUsage(ctx, scope, 'cus_6', may, june)).toEqual(expected);
      expect(await aggregateUsage(ctx, scope, 'cus_6', may, june)).toEqual(expected); // part from the cache, part read again
    } finally {
      dimensionSetCacheLimit.max = limit;
    }
  });

  it('reads the same totals before, during and after the usage indexer copies events into usage_by_customer', async () => {
    const ingest = createUsageIngest(ctx);
    for (let i = 0; i < 25; i++) {
      await event('cus_idx', i % 2 ? 'tokens_output' : 'tokens_input', String(1000 + i), `2026-05-${String(1 + (i % 28)).padStart(2, '0')}T12:00:00.000Z`, '{"model":"gpt-5"}');
    }
    await event('cus_idx', 'storage_gb', '7', '2026-05-10T00:00:00.000Z');
    await event('cus_idx', 'storage_gb', '3', '2026-05-11T00:00:00.000Z');
    await event('cus_idx', 'tokens_input', '1', '2026-06-01T00:00:00.000Z'); // outside the window
    const before = await aggregateUsage(ctx, scope, 'cus_idx', may, june);
    expect(before.find((r) => r.metric === 'storage_gb')?.quantity).toBe('7');
    expect(await ingest.unindexedCount()).toBeGreaterThan(0);

    expect(await ingest.indexCustomerUsage(10)).toBe(10); // partly indexed: index + tail
    expect(await aggregateUsage(ctx, scope, 'cus_idx', may, june)).toEqual(before);
    while ((await ingest.indexCustomerUsage(7)) > 0);
    expect(await ingest.unindexedCount()).toBe(0);
    expect(await aggregateUsage(ctx, scope, 'cus_idx', may, june)).toEqual(before);
    // Running again copies nothing and changes nothing.
    expect(await ingest.indexCustomerUsage()).toBe(0);
    expect(await aggregateUsage(ctx, scope, 'cus_idx', may, june)).toEqual(before);
    const copied = await db.kysely
      .selectFrom('usage_by_customer')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .innerJoin('usage_customers as c', 'c.ref', 'usage_by_customer.customer')
      .where('c.customer_id', '=', 'cus_idx')
      .executeTakeFirstOrThrow();
    expect(Number(copied.n)).toBe(28);
  });

  it('adds in SQL what fits 64 bits and the rest exactly, once events are indexed', async () => {
    const nines = '9'.repeat(18); // fits 64 bits alone; ten of them do not (2^63 ≈ 9.2 × 10^18)
    const big = `3${'0'.repeat(29)}`;
    for (let i = 0; i < 10; i++) await event('cus_sql', 'tokens_output', nines, `2026-05-0${(i % 9) + 1}T00:00:00.000Z`);
    await event('cus_sql', 'tokens_output', '7', '2026-05-03T00:00:00.000Z');
    await event('cus_sql', 'agent_run', big, '2026-05-04T00:00:00.000Z');
    await event('cus_sql', 'agent_run', '11', '2026-05-05T00:00:00.000Z');
    await event('cus_sql', 'storage_gb', big, '2026-05-05T00:00:00.000Z');
    await event('cus_sql', 'storage_gb', '5', '2026-05-06T00:00:00.000Z');
    await event('cus_sql', 'storage_gb', nines, '2026-05-07T00:00:00.000Z', '{"region":"eu"}');
    await event('cus_sql', 'storage_gb', '6', '2026-05-08T00:00:00.000Z', '{"region":"eu"}');
    const expected = [
      { metric: 'agent_run', dimensions: {}, quantity: (3n * 10n ** 29n + 11n).toString() },
      { metric: 'storage_gb', dimensions: { region: 'eu' }, quantity: nines },
      { metric: 'storage_gb', dimensions: {}, quantity: big },
      { metric: 'tokens_output', dimensions: {}, quantity: (10n * (10n ** 18n - 1n) + 7n).toString() },
    ];
    expect(await aggregateUsage(ctx, scope, 'cus_sql', may, june)).toEqual(expected); // from the unindexed tail
    const ingest = createUsageIngest(ctx);
    while ((await ingest.unindexedCount()) > 0) await ingest.indexCustomerUsage(1000);
    expect(await aggregateUsage(ctx, scope, 'cus_sql', may, june)).toEqual(expected); // grouped by SQL (overflow → exact fallback)
  });
});
