import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onPostgres } from '../testing/database.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { isUniqueViolation } from './errors.js';
import type { Db } from './index.js';
import { inTransaction } from './transaction.js';

/**
 * What the domain relies on from whichever engine the suite runs on (npm test: SQLite; npm run
 * test:pg: PostgreSQL): exact values back as strings, unique violations recognised, and the
 * append-only and frozen-row rules enforced by the database itself — tried with UPDATE and DELETE.
 */
let t: TestContext;
let db: Db;
const now = '2026-05-01T00:00:00.000Z';

beforeEach(async () => {
  t = await openTestContext(now);
  db = t.ctx.db;
  await insertTestMerchant(t.ctx, 'mer_a');
});
afterEach(() => t.close());

const row = (table: string, values: Record<string, unknown>) =>
  db.kysely
    .insertInto(table as never)
    .values(values as never)
    .execute();

async function catalogRows() {
  await row('customers', {
    id: 'cus_1',
    merchant_id: 'mer_a',
    environment: 'live',
    external_id: 'u1',
    name: 'u',
    metadata: '{}',
    status: 'active',
    created_at: now,
    updated_at: now,
  });
  await row('customers', {
    id: 'cus_2',
    merchant_id: 'mer_a',
    environment: 'live',
    external_id: 'u2',
    name: 'u',
    metadata: '{}',
    status: 'active',
    created_at: now,
    updated_at: now,
  });
  await row('products', { id: 'prd_1', merchant_id: 'mer_a', environment: 'live', key: 'p', name: 'P', status: 'active', created_at: now, updated_at: now });
  const card = { merchant_id: 'mer_a', environment: 'live', product_id: 'prd_1', currency: 'USD', prices: '[]', content_hash: 'h', created_at: now, updated_at: now };
  await row('rate_cards', { ...card, id: 'rc_pub', version: 1, status: 'published', published_at: now });
  await row('rate_cards', { ...card, id: 'rc_draft', version: 2, status: 'draft' });
  await row('contracts', {
    id: 'ctr_1',
    merchant_id: 'mer_a',
    environment: 'live',
    customer_id: 'cus_1',
    product_id: 'prd_1',
    rate_card_id: 'rc_pub',
    billing_cycle: 'monthly_calendar',
    starts_at: now,
    settlement_currency: 'USD',
    status: 'active',
    created_at: now,
    updated_at: now,
  });
}

describe('values come back exactly, as the domain reads them', () => {
  it('money and quantities as decimal strings, 64-bit integers never rounded, times as ISO-8601 UTC text', async () => {
    await row('fx_rates', { id: 'fx_1', base: 'USD', quote: 'CNY', rate: '7.12500', effective_at: now, source: 'manual', created_at: now });
    const fx = await db.kysely.selectFrom('fx_rates').select(['rate', 'effective_at']).executeTakeFirstOrThrow();
    // The scale given is kept (numeric on PostgreSQL, text on SQLite): "7.12500", not 7.125.
    expect(fx).toEqual({ rate: '7.12500', effective_at: now });
    const big = '123456789012345678901234567890';
    const { rows } = await sql<{ n: string }>`select cast(${big} as ${sql.raw(onPostgres ? 'numeric' : 'text')}) as n`.execute(db.kysely);
    expect(rows[0].n).toBe(big);
  });

  it.skipIf(!onPostgres)('postgres: every time column is timestamptz, and a canonical time comes back as the same text (hash chains stay valid)', async () => {
    const { rows: text } = await sql<{ t: string; c: string }>`
      select table_name as t, column_name as c from information_schema.columns
      where table_schema = current_schema() and data_type = 'text'
        and (column_name like '%\\_at' or column_name like '%\\_until' or column_name in ('period_start', 'period_end'))`.execute(db.kysely);
    expect(text).toEqual([]);
    const { rows: tz } = await sql<{ n: string }>`
      select count(*) as n from information_schema.columns where table_schema = current_schema() and data_type = 'timestamp with time zone'`.execute(db.kysely);
    expect(Number(tz[0].n)).toBeGreaterThan(40);
    // Spellings other than the canonical one are normalised (which is why the domain writes only toISOString()).
    for (const [given, back] of [
      ['2026-05-01T09:00:00.123Z', '2026-05-01T09:00:00.123Z'],
      ['2026-05-01T17:00:00+08:00', '2026-05-01T09:00:00.000Z'],
      ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.000Z'],
    ]) {
      const r = await sql<{ v: string }>`select cast(${given} as timestamptz) as v`.execute(db.kysely);
      expect(r.rows[0].v).toBe(back);
    }
    // Range comparisons with ISO text parameters compare as times.
    await row('fx_rates', { id: 'fx_2', base: 'USD', quote: 'CNY', rate: '7.1', effective_at: '2026-05-01T09:00:00.000Z', source: 'manual', created_at: now });
    const hit = await db.kysely.selectFrom('fx_rates').select('id').where('effective_at', '>=', '2026-05-01T17:00:00+08:00').execute();
    expect(hit).toEqual([{ id: 'fx_2' }]);
  });

  it('recognises a unique violation by its code, on this engine', async () => {
    const error = await insertTestMerchant(t.ctx, 'mer_a').catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    const other = await row('customers', { id: 'cus_x', merchant_id: 'mer_missing', environment: 'live', external_id: 'x', name: 'x', created_at: now, updated_at: now }).catch(
      (e: unknown) => e,
    );
    expect(other).toBeInstanceOf(Error);
    expect(isUniqueViolation(other)).toBe(false);
  });
});

describe('append-only and frozen rows, enforced by the database', () => {
  it('audit log, FX rates and destination history refuse UPDATE and DELETE', async () => {
    await row('audit_log', { seq: 1, id: 'aud_1', at: now, command: 'x:y', input: '{}', outcome: 'ok', touched: '[]', prev_hash: '0', hash: '1' });
    await row('fx_rates', { id: 'fx_1', base: 'USD', quote: 'CNY', rate: '7.1', effective_at: now, source: 'manual', created_at: now });
    await row('merchant_destination_changes', { id: 'dch_1', merchant_id: 'mer_a', field: 'receiving_addresses', credential: 'jwt', changed_at: now });
    for (const [table, message] of [
      ['audit_log', /append-only/],
      ['fx_rates', /append-only/],
      ['merchant_destination_changes', /append-only/],
    ] as const) {
      await expect(sql`update ${sql.table(table)} set id = id`.execute(db.kysely), table).rejects.toThrow(message);
      await expect(sql`delete from ${sql.table(table)}`.execute(db.kysely), table).rejects.toThrow(message);
      expect(await db.kysely.selectFrom(table).select('id').execute(), table).toHaveLength(1);
    }
  });

  it('a published rate card cannot change or go; a draft can. A contract cannot be repointed', async () => {
    await catalogRows();
    await expect(db.kysely.updateTable('rate_cards').set({ prices: '[{}]' }).where('id', '=', 'rc_pub').execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(db.kysely.updateTable('rate_cards').set({ status: 'draft' }).where('id', '=', 'rc_pub').execute()).rejects.toThrow(/rate_card_frozen/);
    await expect(db.kysely.deleteFrom('rate_cards').where('id', '=', 'rc_pub').execute()).rejects.toThrow(/rate_card_frozen/);
    // What may change on a published card: archiving it.
    await db.kysely.updateTable('rate_cards').set({ status: 'archived', archived_at: now }).where('id', '=', 'rc_pub').execute();
    await db.kysely.updateTable('rate_cards').set({ prices: '[{}]' }).where('id', '=', 'rc_draft').execute();
    await db.kysely.deleteFrom('rate_cards').where('id', '=', 'rc_draft').execute();
    await expect(db.kysely.updateTable('contracts').set({ customer_id: 'cus_2' }).where('id', '=', 'ctr_1').execute()).rejects.toThrow(/contract_terms_frozen/);
    await expect(db.kysely.updateTable('contracts').set({ starts_at: '2026-06-01T00:00:00.000Z' }).where('id', '=', 'ctr_1').execute()).rejects.toThrow(/contract_terms_frozen/);
    await db.kysely.updateTable('contracts').set({ ends_at: '2026-09-01T00:00:00.000Z' }).where('id', '=', 'ctr_1').execute();
  });

  it.skipIf(!onPostgres)('postgres: TRUNCATE is refused too (SQLite has no TRUNCATE)', async () => {
    for (const table of ['audit_log', 'ledger_entries', 'ledger_transactions', 'ledger_accounts', 'merchant_destination_changes']) {
      await expect(sql`truncate ${sql.table(table)} cascade`.execute(db.kysely), table).rejects.toThrow(/append-only/);
    }
  });
});

describe.skipIf(!onPostgres)('postgres: transactions', () => {
  it('postgres: write transactions run one at a time across connections (the write lock), as on SQLite', async () => {
    const order: string[] = [];
    let releaseFirst!: () => void;
    const held = new Promise<void>((r) => (releaseFirst = r));
    const first = inTransaction(t.ctx, async () => {
      order.push('first begins');
      await held;
      order.push('first commits');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = inTransaction(t.ctx, async () => {
      order.push('second begins');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(['first begins']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first begins', 'first commits', 'second begins']);
  });
});
