import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { listEvents, recordEvent } from './index.js';

let t: TestContext;
let ctx: CoreContext;

beforeEach(async () => {
  t = await openTestContext('2026-06-01T00:00:00.000Z');
  ctx = t.ctx;
  await insertTestMerchant(ctx, 'mer_e');
});

afterEach(async () => t.close());

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
