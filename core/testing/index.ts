import { type CoreContext, type Environment, ManualClock, createContext } from '../context/index.js';
import { type Db, openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { createTestDatabase } from './database.js';

export { createTestDatabase, onPostgres, type TestDatabase } from './database.js';

/**
 * Test support (tests only, never imported by product code): a core context on a fresh, migrated
 * database — a SQLite file in a temp folder, or with BUFFMONEY_TEST_DB (npm run test:pg) a fresh
 * PostgreSQL database — with a clock the test moves.
 */
export interface TestContext {
  ctx: CoreContext;
  clock: ManualClock;
  /** The database's URL: a SQLite file path, or a postgres:// URL under test:pg. */
  dbFile: string;
  close(): Promise<void>;
}

export async function openTestContext(start: string = '2026-05-01T00:00:00.000Z'): Promise<TestContext> {
  const database = await createTestDatabase('buffmoney-core-', 'test.db');
  const dbFile = database.url;
  const db = openDatabase(dbFile, { durable: false });
  if (!database.migrated) await migrateToLatest(db);
  const clock = new ManualClock(start);
  const ctx = createContext({ db, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  return {
    ctx,
    clock,
    dbFile,
    async close() {
      await db.close();
      await database.cleanup();
    },
  };
}

/**
 * An active customer row as the back office stores it (tests that need no API call); `extra`
 * overrides any column (status, usage_locked_until, …). Returns the id.
 */
export async function insertTestCustomer(
  db: Db,
  customer: { id: string; merchantId: string; environment: Environment; externalId: string; extra?: Record<string, unknown> },
): Promise<string> {
  const now = new Date().toISOString();
  await db.kysely
    .insertInto('customers')
    .values({
      id: customer.id,
      merchant_id: customer.merchantId,
      environment: customer.environment,
      external_id: customer.externalId,
      name: customer.externalId,
      email: null,
      metadata: '{}',
      status: 'active',
      usage_locked_until: null,
      auto_created: 0,
      created_at: now,
      updated_at: now,
      ...customer.extra,
    } as never)
    .execute();
  return customer.id;
}

/** A merchant row with only what the schema requires (tests that need no sign-up). */
export async function insertTestMerchant(ctx: CoreContext, id: string, serviceFeeBps = 80): Promise<void> {
  const now = ctx.clock.now().toISOString();
  await ctx.db.kysely
    .insertInto('merchants')
    .values({ id, name: id, email: `${id}@example.com`, password_hash: 'x', status: 'active', service_fee_bps: serviceFeeBps, created_at: now, updated_at: now } as never)
    .execute();
}
