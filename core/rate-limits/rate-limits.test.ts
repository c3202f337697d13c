import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WRITE_LOCK_KEY } from '../db/postgres.js';
import { isDomainError } from '../errors/index.js';
import { type TestContext, onPostgres, openTestContext } from '../testing/index.js';
import { queryRows } from '../testing/database.js';
import { type RateLimitStore, countAttempt, createDatabaseRateLimitStore, createMemoryRateLimitStore, rateLimitStoreFor } from './index.js';

let t: TestContext;
beforeEach(async () => {
  t = await openTestContext();
});
afterEach(async () => {
  await t.close();
});

const T0 = Date.parse('2026-05-01T00:00:00.000Z');
const rule = { name: 'login', limit: 3, windowMs: 60_000 };

async function refusal(store: RateLimitStore, key: string, now: number) {
  try {
    await countAttempt(store, rule, key, now);
    return undefined;
  } catch (e) {
    if (!isDomainError(e)) throw e;
    return e;
  }
}

describe.each([
  ['in memory', () => createMemoryRateLimitStore()],
  ['in the database', () => createDatabaseRateLimitStore(t.ctx.db)],
])('a rate-limit store %s', (_name, make) => {
  it('refuses past the limit with 429 rate_limited and what is left of the window, per limiter and client', async () => {
    const store = make();
    for (let i = 0; i < 3; i++) expect(await refusal(store, '10.0.0.1', T0 + i * 1000)).toBeUndefined();
    const refused = await refusal(store, '10.0.0.1', T0 + 20_000);
    expect(refused).toMatchObject({ kind: 'rate_limited', code: 'rate_limited', retryAfterSeconds: 40 });
    expect(refused?.message).toBe('Too many login attempts; try again in 40 seconds.');
    // Another client, or another limiter for the same client, counts on its own.
    expect(await refusal(store, '10.0.0.2', T0 + 20_000)).toBeUndefined();
    expect((await store.hit('signup', '10.0.0.1', 60_000, T0 + 20_000)).count).toBe(1);
    // The window opened with the first attempt: it ends 60 s after it, and a new one starts.
    expect(await refusal(store, '10.0.0.1', T0 + 59_999)).toBeDefined();
    expect(await refusal(store, '10.0.0.1', T0 + 60_000)).toBeUndefined();
    expect((await store.hit('login', '10.0.0.1', 60_000, T0 + 61_000)).count).toBe(2);
  });

  it('gives concurrent attempts distinct counts (none lost)', async () => {
    const store = make();
    const counts = await Promise.all(Array.from({ length: 25 }, () => store.hit('login', '10.0.0.9', 60_000, T0)));
    expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('the database store', () => {
  it('is chosen when several machines share the database, memory otherwise', async () => {
    const store = rateLimitStoreFor(t.ctx.db);
    await store.hit('login', 'probe', 60_000, T0);
    const rows = await queryRows(t.ctx.db, 'select count(*) as n from rate_limit_windows');
    expect(Number(rows[0].n)).toBe(t.ctx.db.capabilities.sharedByMachines ? 1 : 0);
  });

  it('purges expired windows', async () => {
    const store = createDatabaseRateLimitStore(t.ctx.db, { purgeEveryMs: 60_000 });
    await store.hit('login', 'old', 60_000, T0);
    await store.hit('login', 'recent', 60_000, T0 + 100_000);
    // The next attempt past the purge interval deletes what has expired (in the background).
    await store.hit('login', 'later', 60_000, T0 + 150_000);
    await expect
      .poll(async () => (await queryRows<{ client_key: string }>(t.ctx.db, 'select client_key from rate_limit_windows order by client_key')).map((r) => r.client_key))
      .toEqual(['later', 'recent']);
  });

  it.skipIf(!onPostgres)('postgres: counts an attempt while another process holds the global write lock', async () => {
    const holder = new pg.Client({ connectionString: t.dbFile });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      const store = createDatabaseRateLimitStore(t.ctx.db);
      const hit = await Promise.race([store.hit('login', '10.0.0.1', 60_000, T0), new Promise((r) => setTimeout(() => r('blocked'), 3_000))]);
      expect(hit).toEqual({ count: 1, windowEndsAt: T0 + 60_000 });
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });
});
if (!onPostgres) console.log('rate-limits.test: the postgres-only test (write lock held elsewhere) is skipped on SQLite: it needs a second connection to a server');
