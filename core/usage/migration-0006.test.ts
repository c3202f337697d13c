import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ManualClock, createContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { createTestDatabase } from '../testing/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { aggregateUsage } from './aggregate.js';
import { createUsageIngest, listStoredUsageEvents } from './index.js';
import { migrations } from '../../migrations/index.js';

/**
 * 0006 re-encodes usage rows stored under 0003's text layout. Events keep the ids already given
 * out (legacy_id), their totals, and their dedupe keys; new events get derived ids.
 */
describe('migration 0006_usage_compact', () => {
  it('moves 0003 rows over: ids, keys, times, dimensions and totals unchanged', async () => {
    const database = await createTestDatabase('buffmoney-m0006-', 'm.db', { empty: true });
    const db = openDatabase(database.url, { durable: false });
    try {
      const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } });
      const { error } = await migrator.migrateTo('0005_catalog');
      expect(error).toBeUndefined();
      const k = db.kysely as any;
      const now = '2026-05-01T00:00:00.000Z';
      // A merchant row as 0005 knew it: every NOT NULL column without a default gets a value.
      const table = (await db.kysely.introspection.getTables()).find((t) => t.name === 'merchants')!;
      const merchant: Record<string, unknown> = {};
      for (const c of table.columns) {
        if (c.name === 'id' || (!c.isNullable && !c.hasDefaultValue)) merchant[c.name] = c.name === 'id' ? 'mer_old' : c.name.endsWith('_at') ? now : `${c.name}@example.com`;
      }
      await k.insertInto('merchants').values(merchant).execute();
      for (const id of ['cus_a', 'cus_b']) {
        await k
          .insertInto('customers')
          .values({
            id,
            merchant_id: 'mer_old',
            environment: 'sandbox',
            external_id: id,
            name: id,
            metadata: '{}',
            status: 'active',
            auto_created: 0,
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
      const old = [
        {
          id: 'evt_01jold0000000000000000000a',
          customer_id: 'cus_a',
          idempotency_key: 'k1',
          metric: 'tokens_input',
          quantity: '1' + '0'.repeat(30),
          occurred_at: '2026-05-02T10:00:00.123Z',
          dimensions: '{"model":"gpt-5"}',
        },
        {
          id: 'evt_01jold0000000000000000000b',
          customer_id: 'cus_a',
          idempotency_key: 'k2',
          metric: 'tokens_input',
          quantity: '5',
          occurred_at: '2026-05-03T10:00:00.000Z',
          dimensions: '{"model":"gpt-5"}',
        },
        {
          id: 'evt_01jold0000000000000000000c',
          customer_id: 'cus_a',
          idempotency_key: 'k3',
          metric: 'storage_gb',
          quantity: '7',
          occurred_at: '2026-05-04T23:59:59.999Z',
          dimensions: '{}',
        },
        {
          id: 'evt_01jold0000000000000000000d',
          customer_id: 'cus_b',
          idempotency_key: 'k4',
          metric: 'agent_run',
          quantity: '2',
          occurred_at: '2026-05-05T00:00:00.000Z',
          dimensions: '{}',
        },
      ];
      for (const e of old)
        await k
          .insertInto('usage_events')
          .values({ ...e, merchant_id: 'mer_old', environment: 'sandbox', received_at: now })
          .execute();

      await migrateToLatest(db);
      const clock = new ManualClock('2026-05-10T00:00:00.000Z');
      const ctx = createContext({ db, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
      const stored = await listStoredUsageEvents(ctx, 'mer_old');
      expect(stored.map((e) => [e.eventId, e.customerId, e.idempotencyKey, e.metric, e.quantity, e.occurredAt, e.dimensions])).toEqual(
        old.map((e) => [e.id, e.customer_id, e.idempotency_key, e.metric, e.quantity, e.occurred_at, e.dimensions]),
      );
      const scope = { merchantId: 'mer_old', environment: 'sandbox' as const };
      const may = [new Date('2026-05-01T00:00:00Z'), new Date('2026-06-01T00:00:00Z')] as const;
      expect(await aggregateUsage(ctx, scope, 'cus_a', ...may)).toEqual([
        { metric: 'storage_gb', dimensions: {}, quantity: '7' },
        { metric: 'tokens_input', dimensions: { model: 'gpt-5' }, quantity: (10n ** 30n + 5n).toString() },
      ]);

      // A retry of a migrated event is a duplicate answering its old id; a new one gets a derived id.
      const ingest = createUsageIngest(ctx);
      const res = await ingest.ingest({
        scope,
        body: Buffer.from(
          JSON.stringify({
            events: [
              { idempotencyKey: 'k2', customerExternalId: 'cus_a', metric: 'tokens_input', quantity: '5', occurredAt: '2026-05-03T10:00:00Z' },
              { idempotencyKey: 'k9', customerExternalId: 'cus_b', metric: 'agent_run', quantity: '1', occurredAt: '2026-05-06T00:00:00Z' },
            ],
          }),
        ),
      });
      const results = JSON.parse(res.resultsJson);
      expect(results[0]).toEqual({ idempotencyKey: 'k2', status: 'duplicate', eventId: 'evt_01jold0000000000000000000b' });
      expect(results[1]).toMatchObject({ status: 'accepted', eventId: expect.stringMatching(/^evt_[0-9a-z]{26}$/) });
      // The indexer rebuilds usage_by_customer from the moved rows.
      while ((await ingest.indexCustomerUsage()) > 0);
      expect(await aggregateUsage(ctx, scope, 'cus_b', ...may)).toEqual([{ metric: 'agent_run', dimensions: {}, quantity: '3' }]);
    } finally {
      await db.close();
      await database.cleanup();
    }
  });
});
