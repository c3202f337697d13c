import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, ManualClock, createContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { inTransaction } from '../db/transaction.js';
import { listEvents, recordEvent } from './index.js';

let dir: string;
let ctx: CoreContext;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-events-'));
  const db = openDatabase(path.join(dir, 'e.db'), { durable: false });
  await migrateToLatest(db);
  ctx = createContext({ db, clock: new ManualClock('2026-06-01T00:00:00.000Z'), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
  const now = '2026-06-01T00:00:00.000Z';
  await db.kysely
    .insertInto('merchants')
    .values({ id: 'mer_e', name: 'E', email: 'e@example.com', password_hash: 'x', status: 'active', created_at: now, updated_at: now } as never)
    .execute();
});

afterEach(async () => {
  await ctx.db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the domain event outbox', () => {
  it('records an event with the change that commits, and none for a change that rolls back', async () => {
    const recorded = await inTransaction(ctx, (tx) =>
      recordEvent(tx, { type: 'invoice.finalized', merchantId: 'mer_e', environment: 'live', data: { _id: 'inv_1', subtotalMinor: '2750' } }),
    );
    expect(recorded).toMatchObject({ type: 'invoice.finalized', merchant: 'mer_e', environment: 'live', createdAt: '2026-06-01T00:00:00.000Z' });
    expect(recorded.id).toMatch(/^event_/);
    await expect(
      inTransaction(ctx, async (tx) => {
        await recordEvent(tx, { type: 'invoice.paid', merchantId: 'mer_e', environment: 'live', data: { _id: 'inv_2' } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const events = await listEvents(ctx, { merchantId: 'mer_e', limit: 10 });
    expect(events.map((e) => [e.type, e.data])).toEqual([['invoice.finalized', { _id: 'inv_1', subtotalMinor: '2750' }]]);
  });

  it('refuses to record outside a transaction, and unknown types', async () => {
    await expect(recordEvent(ctx, { type: 'invoice.paid', merchantId: 'mer_e', environment: 'live', data: {} })).rejects.toThrow(/inside the transaction/);
    await expect(inTransaction(ctx, (tx) => recordEvent(tx, { type: 'invoice.exploded' as never, merchantId: 'mer_e', environment: 'live', data: {} }))).rejects.toThrow(
      /Unknown domain event type/,
    );
  });

  it('lists events in order, after a cursor, per environment', async () => {
    for (const environment of ['sandbox', 'live', 'live'] as const) {
      await inTransaction(ctx, (tx) => recordEvent(tx, { type: 'invoice.finalized', merchantId: 'mer_e', environment, data: { environment } }));
    }
    const live = await listEvents(ctx, { merchantId: 'mer_e', environment: 'live', limit: 10 });
    expect(live).toHaveLength(2);
    expect(await listEvents(ctx, { environment: 'live', afterId: live[0].id, limit: 10 })).toEqual([live[1]]);
  });
});
