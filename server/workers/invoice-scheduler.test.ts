import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { type CoreContext, ManualClock, createContext } from '../../core/context/index.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { openDatabase } from '../../core/db/index.js';
import { migrateToLatest } from '../../core/db/migrate.js';
import type { InvoiceRunReport } from '../../core/invoices/index.js';
import { type TestDatabase, createTestDatabase } from '../../core/testing/database.js';
import { startInvoiceScheduler } from './invoice-scheduler.js';

let database: TestDatabase;
let ctx: CoreContext;
let clock: ManualClock;

beforeEach(async () => {
  database = await createTestDatabase('buffmoney-scheduler-', 's.db');
  const db = openDatabase(database.url, { durable: false });
  if (!database.migrated) await migrateToLatest(db);
  clock = new ManualClock('2026-05-31T23:00:00.000Z');
  ctx = createContext({ db, clock, secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  const scope = { merchantId: 'mer_s', environment: 'live' as const };
  await db.kysely
    .insertInto('merchants')
    .values({
      id: scope.merchantId,
      name: 'S',
      email: 's@example.com',
      password_hash: 'x',
      status: 'active',
      created_at: clock.now().toISOString(),
      updated_at: clock.now().toISOString(),
    } as never)
    .execute();
  const product = await createProduct(ctx, scope, { key: 'p', name: 'P' } as never);
  const card = await createRateCard(ctx, scope, product.id, { currency: 'CNY', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '1' }] } as never);
  await publishRateCard(ctx, scope, card.id);
  await createCustomer(ctx, scope, { externalId: 'u', name: 'U' } as never);
  await createContract(ctx, scope, {
    customerExternalId: 'u',
    rateCardId: card.id,
    billingCycle: 'monthly_calendar',
    startsAt: '2026-05-01T00:00:00Z',
    settlementCurrency: 'CNY',
  } as never);
});

afterEach(async () => {
  vi.useRealTimers();
  await ctx.db.close();
  await database.cleanup();
});

describe('the invoice scheduler', () => {
  it('invoices a period once the grace window after its end has passed, on its next look, once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const reports: InvoiceRunReport[] = [];
    const scheduler = startInvoiceScheduler(ctx, { intervalMs: 60_000, graceMs: 3_600_000, onReport: (r) => reports.push(r) });
    const count = async () => (await ctx.db.kysely.selectFrom('invoices').select('id').execute()).length;
    // Advances the fake clock by `ms`, then waits (on real I/O, not fake time) until the look it
    // started has finished: on PostgreSQL a run waits on the network, not only on microtasks.
    const advance = async (ms: number) => {
      const before = scheduler.looks;
      await vi.advanceTimersByTimeAsync(ms);
      while (scheduler.looks === before) await new Promise((r) => setImmediate(r));
    };

    await advance(1_000); // first look: May has not ended
    expect(await count()).toBe(0);
    clock.set('2026-06-01T00:30:00Z'); // ended, but within the grace window
    await advance(60_000);
    expect(await count()).toBe(0);
    clock.set('2026-06-01T01:00:00Z');
    await advance(60_000);
    expect(await count()).toBe(1);
    expect(reports).toHaveLength(1);
    expect(reports[0].created[0]).toMatchObject({ periodStart: '2026-05-01T00:00:00.000Z' });
    await advance(5 * 60_000); // later looks find nothing new
    expect(await count()).toBe(1);
    expect(reports).toHaveLength(1);
    await scheduler.stop();
  });

  it('runs invoices only while it leads (a replica that does not lead stays idle), and looks at once when woken', async () => {
    const leadership = { isLeader: false };
    clock.set('2026-06-01T02:00:00Z');
    const scheduler = startInvoiceScheduler(ctx, { intervalMs: 60_000, graceMs: 3_600_000, leadership });
    const count = async () => (await ctx.db.kysely.selectFrom('invoices').select('id').execute()).length;
    await vi.waitFor(() => expect(scheduler.looks).toBeGreaterThanOrEqual(1), { timeout: 5_000 });
    expect(await count()).toBe(0);
    // Becoming leader: the next look runs at once, not after the interval.
    leadership.isLeader = true;
    const before = scheduler.looks;
    scheduler.wake();
    await vi.waitFor(() => expect(scheduler.looks).toBeGreaterThan(before), { timeout: 5_000 });
    expect(await count()).toBe(1);
    await scheduler.stop();
  });

  it('stops a run between committed groups when the lead is lost, and says why', async () => {
    clock.set('2026-06-01T02:00:00Z');
    let checks = 0;
    // Leads when the look starts, loses the lead right after.
    const leadership = {
      get isLeader() {
        return checks++ === 0;
      },
    };
    const errors: unknown[] = [];
    const reports: InvoiceRunReport[] = [];
    const scheduler = startInvoiceScheduler(ctx, { intervalMs: 60_000, graceMs: 3_600_000, leadership, onError: (e) => errors.push(e), onReport: (r) => reports.push(r) });
    await vi.waitFor(() => expect(scheduler.looks).toBeGreaterThanOrEqual(1), { timeout: 5_000 });
    await scheduler.stop();
    expect(String(errors[0])).toContain('no longer leads invoice-scheduler');
    expect(reports).toEqual([]);
  });
});
