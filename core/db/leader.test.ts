import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestContext, onPostgres, openTestContext } from '../testing/index.js';
import { openDatabase } from './index.js';
import { type Leadership, leaderLockKey, startLeaderElection } from './leader.js';

let t: TestContext;
const started: Leadership[] = [];
beforeEach(async () => {
  t = await openTestContext();
});
afterEach(async () => {
  for (const l of started.splice(0)) await l.stop();
  await t.close();
});

/** Who holds the named lock, by application_name (what an operator would look at). */
async function holder(url: string, name: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ application_name: string }>(
      `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.database = (select oid from pg_database where datname = current_database())
          and ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
      [leaderLockKey(name)],
    );
    return rows[0]?.application_name ?? null;
  } finally {
    await c.end();
  }
}

describe('leader election', () => {
  it('derives a distinct 64-bit key per name', () => {
    expect(leaderLockKey('invoice-scheduler')).toMatch(/^-?\d+$/);
    expect(leaderLockKey('invoice-scheduler')).not.toBe(leaderLockKey('chain-listener:1'));
    expect(leaderLockKey('invoice-scheduler')).toBe(leaderLockKey('invoice-scheduler'));
  });

  it.skipIf(onPostgres)('sqlite: one machine — the process is always the leader', async () => {
    const changes: boolean[] = [];
    const l = startLeaderElection(t.ctx.db, { name: 'invoice-scheduler', applicationName: 'test', onChange: (v) => changes.push(v) });
    started.push(l);
    expect(l.isLeader).toBe(true);
    expect(changes).toEqual([]);
  });

  it.skipIf(!onPostgres)('postgres: one leader per name; a standby takes over when the leader stops, or when its connection is killed', async () => {
    const other = openDatabase(t.dbFile, { poolSize: 1 });
    try {
      const a = startLeaderElection(t.ctx.db, { name: 'invoice-scheduler', applicationName: 'buffmoney:test:a', retryMs: 200 });
      started.push(a);
      await expect.poll(() => a.isLeader).toBe(true);
      const b = startLeaderElection(other, { name: 'invoice-scheduler', applicationName: 'buffmoney:test:b', retryMs: 200 });
      started.push(b);
      // Another name is led independently.
      const c = startLeaderElection(other, { name: 'chain-listener:1', applicationName: 'buffmoney:test:c', retryMs: 200 });
      started.push(c);
      await expect.poll(() => c.isLeader).toBe(true);
      await new Promise((r) => setTimeout(r, 600));
      expect([a.isLeader, b.isLeader]).toEqual([true, false]);
      expect(await holder(t.dbFile, 'invoice-scheduler')).toBe('buffmoney:test:a');

      await a.stop();
      expect(a.isLeader).toBe(false);
      await expect.poll(() => b.isLeader, { timeout: 3_000 }).toBe(true);
      expect(await holder(t.dbFile, 'invoice-scheduler')).toBe('buffmoney:test:b');

      // The leader's connection dies under it (an operator's pg_terminate_backend, a network cut):
      // it stops leading at once, and a standby takes over.
      const changes: boolean[] = [];
      const d = startLeaderElection(t.ctx.db, { name: 'invoice-scheduler', applicationName: 'buffmoney:test:d', retryMs: 200, onChange: (v) => changes.push(v) });
      started.push(d);
      const admin = new pg.Client({ connectionString: t.dbFile });
      await admin.connect();
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'buffmoney:test:b'`);
      await admin.end();
      await expect.poll(() => b.isLeader, { timeout: 2_000 }).toBe(false);
      await expect.poll(() => d.isLeader || b.isLeader, { timeout: 3_000 }).toBe(true);
      expect([d.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      if (d.isLeader) expect(changes).toEqual([true]);
    } finally {
      for (const l of started.splice(0)) await l.stop();
      await other.close();
    }
  });
});
if (!onPostgres) console.log('leader.test: the postgres-only election test is skipped on SQLite (no advisory locks: one machine, always the leader)');
