import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, HOUR, ManualClock, createContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { purgeExpiredIdempotencyRecords } from './idempotency.js';
import { createUsageEventWriter, createUsageIngest } from './ingest.js';
import type { IngestJob, UsageEventWriter } from './writer.js';

let dir: string;
let ctx: CoreContext;
let clock: ManualClock;
const scope = { merchantId: 'mer_test', environment: 'sandbox' as const };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-usage-'));
  const db = openDatabase(path.join(dir, 'test.db'), { durable: false });
  await migrateToLatest(db);
  clock = new ManualClock('2026-05-25T12:00:00.000Z');
  ctx = createContext({ db, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  const now = clock.now().toISOString();
  await db.kysely
    .insertInto('merchants')
    .values({ id: scope.merchantId, name: 'M', email: 'm@example.com', password_hash: 'x', status: 'active', created_at: now, updated_at: now } as any)
    .execute();
  await db.kysely
    .insertInto('customers')
    .values({
      id: 'cus_1',
      merchant_id: scope.merchantId,
      environment: 'sandbox',
      external_id: 'user_42',
      name: 'u',
      email: null,
      metadata: '{}',
      status: 'active',
      usage_locked_until: null,
      auto_created: 0,
      created_at: now,
      updated_at: now,
    })
    .execute();
});

afterEach(async () => {
  await ctx.db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const body = (...keys: string[]) =>
  Buffer.from(
    JSON.stringify({
      events: keys.map((k) => ({ customerExternalId: 'user_42', idempotencyKey: k, metric: 'agent_run', quantity: '1', occurredAt: '2026-05-25T11:00:00Z' })),
    }),
  );

const count = async (table: 'usage_events' | 'idempotency_records') =>
  Number((await ctx.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('Idempotency-Key records', () => {
  it('expire after 24 hours: purged by the core function, and the key executes anew', async () => {
    const ingest = createUsageIngest(ctx);
    const first = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(JSON.parse(first.body).accepted).toBe(1);
    clock.advance(24 * HOUR - 1);
    expect(await purgeExpiredIdempotencyRecords(ctx)).toBe(0);
    const replay = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(replay.replayed).toBe(true);
    expect(replay.body).toBe(first.body);
    clock.advance(1);
    const again = await ingest.ingest({ scope, body: body('a'), idempotencyKey: 'K' });
    expect(again.replayed).toBe(false);
    expect(JSON.parse(again.body)).toMatchObject({ accepted: 0, duplicates: 1 }); // per-event dedupe still holds
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
    const results = (await Promise.all(pending)).map((r) => JSON.parse(r.body).results.map((x: any) => x.status));
    expect(groups).toEqual([2, 1]);
    expect(results).toEqual([
      ['accepted', 'accepted'],
      ['duplicate', 'accepted'],
      ['duplicate', 'accepted'],
    ]);
    expect(await count('usage_events')).toBe(4);
  });

  it('rolls back only the batch that failed; its neighbours in the group commit', async () => {
    await ctx.db.exclusive!((raw) =>
      raw.exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON usage_events WHEN NEW.idempotency_key = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`),
    );
    const { writer, groups } = countingWriter();
    const ingest = createUsageIngest(ctx, { writer });
    const resume = ingest.pauseWrites();
    const ok1 = ingest.ingest({ scope, body: body('x1') });
    const bad = ingest.ingest({ scope, body: body('y1', 'boom'), idempotencyKey: 'KB' });
    const ok2 = ingest.ingest({ scope, body: body('x2') });
    resume();
    await expect(bad).rejects.toThrow(/boom/);
    expect((await ok1).status).toBe(200);
    expect((await ok2).status).toBe(200);
    expect(groups).toEqual([3]);
    const keys = (await ctx.db.kysely.selectFrom('usage_events').select('idempotency_key').execute()).map((r) => r.idempotency_key).sort();
    expect(keys).toEqual(['x1', 'x2']); // y1 rolled back with its batch
    expect(await count('idempotency_records')).toBe(0); // so a retry can run
    await ctx.db.exclusive!((raw) => raw.exec('DROP TRIGGER boom'));
    const retry = await ingest.ingest({ scope, body: body('y1', 'boom'), idempotencyKey: 'KB' });
    expect(JSON.parse(retry.body).accepted).toBe(2);
  });
});
