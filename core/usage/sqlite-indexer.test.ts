import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, createContext, type CoreContext } from '../context/index.js';
import { type Db, openDatabase } from '../db/index.js';
import { migrateToLatest } from '../db/migrate.js';
import { usageIndexFileOf } from '../db/usage-index-file.js';
import { type TestDatabase, createTestDatabase, onPostgres } from '../testing/database.js';
import { aggregateUsage } from './aggregate.js';
import { createSqliteUsageIndexer } from './sqlite-indexer.js';
import { insertUsageRowForTest } from './testing.js';

/**
 * SQLite keeps the per-customer index in a file of its own (core/db/usage-index-file.ts), so
 * that indexing and ingesting hold different write locks. These tests are SQLite-only by nature
 * (PostgreSQL keeps the index in the database) and say so.
 */
const sqliteOnly = onPostgres ? it.skip : it;
if (onPostgres) console.log('sqlite-indexer.test: skipped on PostgreSQL (the index file is SQLite-only; PostgreSQL keeps usage_by_customer in the database)');

describe('sqlite: the usage index in its own file', () => {
  const scope = { merchantId: 'mer_ix', environment: 'live' as const };
  const may = new Date('2026-05-01T00:00:00.000Z');
  const june = new Date('2026-06-01T00:00:00.000Z');
  const open: Db[] = [];
  let database: TestDatabase | undefined;

  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    await database?.cleanup();
    database = undefined;
  });

  async function setUp(): Promise<{ file: string; db: Db; ctx: CoreContext }> {
    database = await createTestDatabase('buffmoney-ixfile-', 'ix.db');
    const db = openDatabase(database.url, { durable: false });
    open.push(db);
    await migrateToLatest(db);
    const ctx = createContext({ db, clock: new ManualClock(), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
    return { file: database.url, db, ctx };
  }

  let n = 0;
  const event = (db: Db, quantity: string, day = 2) =>
    insertUsageRowForTest(db, {
      ...scope,
      customerId: 'cus_ix',
      idempotencyKey: `ix${++n}`,
      metric: 'tokens_input',
      quantity,
      occurredAt: `2026-05-${String(day).padStart(2, '0')}T00:00:00.000Z`,
      dimensions: '{}',
    });
  const total = async (ctx: CoreContext) => (await aggregateUsage(ctx, scope, 'cus_ix', may, june))[0]?.quantity;

  sqliteOnly('lives beside the database, not in it', async () => {
    const { file, db } = await setUp();
    expect(fs.existsSync(usageIndexFileOf(file))).toBe(true);
    const mainTables = await db.exclusive!((raw) => raw.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table'").pluck().all() as string[]);
    expect(mainTables).toContain('usage_events');
    expect(mainTables).not.toContain('usage_by_customer');
    expect(mainTables).not.toContain('usage_index_state');
  });

  sqliteOnly('an index slice does not hold the write lock ingestion needs, and ingestion does not hold the index', async () => {
    const { file, db } = await setUp();
    for (let i = 0; i < 5; i++) await event(db, '10');
    // The writer thread's kind of connection: no index attached, so its BEGIN IMMEDIATE locks only the database.
    const writer = openDatabase(file, { durable: false, attachUsageIndex: false });
    open.push(writer);
    const indexer = openDatabase(file, { durable: false });
    open.push(indexer);
    await indexer.exclusive!((raw) => {
      // An index slice in progress: the index file's write lock is held, usage_events read on a snapshot.
      raw.exec('BEGIN');
      raw.exec("UPDATE usage_index.usage_index_state SET last_seq = last_seq WHERE name = 'usage_by_customer'");
      raw.prepare('SELECT COUNT(*) FROM main.usage_events').get();
    });
    const started = performance.now();
    await writer.exclusive!((raw) => {
      raw.pragma('busy_timeout = 0'); // would fail at once, not wait, if the lock were shared
      raw.exec('BEGIN IMMEDIATE');
      raw.exec('INSERT INTO usage_dimension_sets (canonical) VALUES (\'{"k":"held"}\')');
      raw.exec('COMMIT');
    });
    expect(performance.now() - started).toBeLessThan(1_000);
    await indexer.exclusive!((raw) => raw.exec('COMMIT'));

    // And the other way round: the writer holds the database's write lock; a slice still commits.
    await writer.exclusive!((raw) => raw.exec('BEGIN IMMEDIATE'));
    expect(await createSqliteUsageIndexer(indexer).indexCustomerUsage(100)).toBe(5);
    await writer.exclusive!((raw) => raw.exec('ROLLBACK'));
  });

  sqliteOnly('readers are exact before, during and after indexing; a reopened index keeps its cursor', async () => {
    const { file, db, ctx } = await setUp();
    for (let i = 0; i < 7; i++) await event(db, '3');
    const indexer = createSqliteUsageIndexer(db);
    expect(await indexer.unindexedCount()).toBe(7);
    expect(await total(ctx)).toBe('21');
    expect(await indexer.indexCustomerUsage(4)).toBe(4);
    expect(await total(ctx)).toBe('21');
    expect(await indexer.indexCustomerUsage(100)).toBe(3);
    expect(await indexer.unindexedCount()).toBe(0);
    expect(await total(ctx)).toBe('21');

    const again = openDatabase(file, { durable: false });
    open.push(again);
    expect(await createSqliteUsageIndexer(again).unindexedCount()).toBe(0);
  });

  sqliteOnly('an index that does not belong to the database beside it is emptied and rebuilt (restored backup, swapped file)', async () => {
    const { file, db, ctx } = await setUp();
    for (let i = 0; i < 3; i++) await event(db, '5');
    const backup = path.join(path.dirname(file), 'before.db');
    await db.exclusive!((raw) => raw.prepare('VACUUM INTO ?').run(backup));
    for (let i = 0; i < 4; i++) await event(db, '5');
    expect(await createSqliteUsageIndexer(db).indexCustomerUsage(100)).toBe(7);
    expect(await total(ctx)).toBe('35');
    await db.close();
    open.splice(open.indexOf(db), 1);

    // The backup taken at 3 events comes back over the database; the index (cursor 7) stays beside it.
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    fs.copyFileSync(backup, file);
    const restored = openDatabase(file, { durable: false });
    open.push(restored);
    const restoredCtx = createContext({ db: restored, clock: new ManualClock(), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
    const indexer = createSqliteUsageIndexer(restored);
    expect(await indexer.unindexedCount()).toBe(3); // emptied on open: cursor 0 of 3 events
    expect(await total(restoredCtx)).toBe('15');
    expect(await indexer.indexCustomerUsage(100)).toBe(3);
    expect(await total(restoredCtx)).toBe('15');

    // Same number of events, other events: the event at the cursor differs, so it is rebuilt too.
    await restored.exclusive!((raw) => raw.prepare("UPDATE usage_events SET idempotency_key = 'other' WHERE seq = 3").run());
    await restored.close();
    open.splice(open.indexOf(restored), 1);
    const reopened = openDatabase(file, { durable: false });
    open.push(reopened);
    expect(await createSqliteUsageIndexer(reopened).unindexedCount()).toBe(3);

    // Another database's index file put beside this one: a different owner, rebuilt.
    const other = await createTestDatabase('buffmoney-ixfile-other-', 'other.db');
    try {
      const odb = openDatabase(other.url, { durable: false });
      await migrateToLatest(odb);
      for (let i = 0; i < 3; i++) await event(odb, '1');
      expect(await createSqliteUsageIndexer(odb).indexCustomerUsage(100)).toBe(3);
      await odb.close();
      await reopened.close();
      open.splice(open.indexOf(reopened), 1);
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${usageIndexFileOf(file)}${suffix}`, { force: true });
      fs.copyFileSync(usageIndexFileOf(other.url), usageIndexFileOf(file));
      const swapped = openDatabase(file, { durable: false });
      open.push(swapped);
      expect(await createSqliteUsageIndexer(swapped).unindexedCount()).toBe(3);
    } finally {
      await other.cleanup();
    }
  });
});
