import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPostgres } from '../../migrations/_dialect.js';
import { type TestContext, onPostgres, openTestContext } from '../testing/index.js';
import { claimDueRows } from './claim.js';
import { type Db, openDatabase } from './index.js';
import { WRITE_LOCK_KEY } from './postgres.js';
import { inLockFreeTransaction, inTransaction } from './transaction.js';

/** A work table made for the test, with the columns claimDueRows expects. */
let t: TestContext;
let second: Db;
const T0 = new Date('2026-05-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

beforeEach(async () => {
  t = await openTestContext();
  // Times as the house stores them: timestamptz on PostgreSQL, ISO-8601 text on SQLite.
  const time = sql.raw(isPostgres(t.ctx.db.kysely) ? 'timestamptz' : 'text');
  await sql`create table test_work_items (id text primary key, due_at ${time} not null, leased_until ${time}, leased_by text, payload text)`.execute(t.ctx.db.kysely);
  for (let i = 0; i < 60; i++) {
    const id = `w${String(i).padStart(3, '0')}`;
    await sql`insert into test_work_items (id, due_at, payload) values (${id}, ${at(i * 10).toISOString()}, ${`p${i}`})`.execute(t.ctx.db.kysely);
  }
  // PostgreSQL: a second process's view of the same database, its own pool. SQLite: the same
  // connection (a second connection in this one thread would block the thread in its busy wait
  // while the first waits on it; one process serves a SQLite file).
  second = t.ctx.db.capabilities.sharedByMachines ? openDatabase(t.dbFile, { poolSize: 4 }) : t.ctx.db;
});
afterEach(async () => {
  if (second !== t.ctx.db) await second.close();
  await t.close();
});

describe('claiming due work rows', () => {
  it('claims the oldest due rows, leases them to the worker, and gives them again only once the lease has expired', async () => {
    const first = await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'a', limit: 5, now: at(1_000), leaseMs: 30_000 });
    expect(first.map((r) => r.id)).toEqual(['w000', 'w001', 'w002', 'w003', 'w004']);
    expect(first[0]).toMatchObject({ leased_by: 'a', leased_until: at(31_000).toISOString(), payload: 'p0' });
    // Only rows due by then: w000…w010 at now = 100 ms; those leased are skipped.
    const next = await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'b', limit: 50, now: at(100), leaseMs: 30_000 });
    expect(next.map((r) => r.id)).toEqual(['w005', 'w006', 'w007', 'w008', 'w009', 'w010']);
    // Worker a died: its lease expires, and its rows are claimable again (by anyone).
    expect(await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'c', limit: 3, now: at(30_999), leaseMs: 30_000 })).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ id: 'w000' })]),
    );
    const retaken = await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'c', limit: 5, now: at(31_000), leaseMs: 30_000 });
    expect(retaken.map((r) => r.id)).toEqual(['w000', 'w001', 'w002', 'w003', 'w004']);
    expect(retaken.every((r) => r.leased_by === 'c')).toBe(true);
  });

  it('never gives the same row to two concurrent claimers (two pools / connections, claiming until nothing is left)', async () => {
    const now = at(10_000);
    const drain = async (db: Db, worker: string) => {
      const got: string[] = [];
      for (;;) {
        const rows = await claimDueRows(db, { table: 'test_work_items', worker, limit: 4, now, leaseMs: 60_000 });
        if (rows.length === 0) return got;
        got.push(...rows.map((r) => r.id));
      }
    };
    const results = await Promise.all([drain(t.ctx.db, 'a'), drain(second, 'b'), drain(t.ctx.db, 'c'), drain(second, 'd')]);
    const all = results.flat();
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    // Each row's lease names the one worker that got it.
    const owners = await sql<{ id: string; leased_by: string }>`select id, leased_by from test_work_items`.execute(t.ctx.db.kysely);
    const byWorker = new Map(results.flatMap((ids, i) => ids.map((id) => [id, 'abcd'[i]] as const)));
    for (const row of owners.rows) expect(row.leased_by).toBe(byWorker.get(row.id));
  });

  it('refuses to start inside a domain transaction (it would wait for itself)', async () => {
    await expect(inTransaction(t.ctx, (tx) => inLockFreeTransaction(tx.db, async () => 1))).rejects.toThrow(/inside a domain transaction/);
  });

  it.skipIf(!onPostgres)('postgres: skips rows another claimer holds, and does not wait for the global write lock', async () => {
    const other = new pg.Client({ connectionString: t.dbFile });
    await other.connect();
    try {
      // Another transaction holds the write lock (an invoice run, say) and locks w000–w002 (a claimer mid-claim).
      await other.query('begin');
      await other.query(`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      await other.query(`select id from test_work_items where id in ('w000', 'w001', 'w002') for update`);
      const claim = claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'a', limit: 3, now: at(10_000), leaseMs: 30_000 });
      const result = await Promise.race([claim, new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 3_000))]);
      expect(result === 'blocked' ? result : result.map((r) => r.id)).toEqual(['w003', 'w004', 'w005']);
    } finally {
      await other.query('rollback');
      await other.end();
    }
  });
});
if (!onPostgres) console.log('claim.test: the postgres-only SKIP LOCKED test is skipped on SQLite (no row locks: BEGIN IMMEDIATE serialises claimers)');

describe('sqlite: a poll that finds nothing due', () => {
  (onPostgres ? it.skip : it)('takes no write lock (the usage writer thread holds it for every commit)', async () => {
    // Another connection — as the usage writer thread's — holds the file's write lock.
    const writer = new BetterSqlite3(t.dbFile);
    writer.pragma('busy_timeout = 0');
    writer.exec('BEGIN IMMEDIATE');
    try {
      const started = performance.now();
      // Nothing is due before the first row: answered by a read, no BEGIN IMMEDIATE (which would
      // wait out busy_timeout, 5 s, on this thread and then fail).
      expect(await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'a', limit: 5, now: at(-1), leaseMs: 30_000 })).toEqual([]);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    // With the lock free, due rows are claimed as ever.
    expect((await claimDueRows(t.ctx.db, { table: 'test_work_items', worker: 'a', limit: 1, now: at(0), leaseMs: 30_000 })).map((r) => r.id)).toEqual(['w000']);
  });
});
if (onPostgres) console.log('claim.test: the sqlite-only "no write lock when nothing is due" test is skipped on PostgreSQL (its claims take no global lock)');
