import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres } from '../testing/database.js';
import { createThreadedUsageReader } from '../usage/reader.js';
import { startCheckpointer } from './checkpointer.js';
import { openDatabase } from './index.js';
import { migrateToLatest } from './migrate.js';
import { lowerThreadPriority } from './thread-priority.js';

/**
 * Background threads of an embedded database run niced (thread-priority.ts). Thread nice values
 * are a Linux feature, and the threads serve a SQLite file: the test says so where it cannot run.
 */
const linuxSqlite = process.platform === 'linux' && !onPostgres ? it : it.skip;
if (process.platform !== 'linux') console.log('thread-priority.test: skipped (per-thread nice values are Linux-only)');
else if (onPostgres) console.log('thread-priority.test: skipped on PostgreSQL (the niced threads serve an embedded SQLite file)');

/** The nice value of every thread of this process, by thread id (/proc/self/task/<tid>/stat, field 19). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, in parentheses): state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe('background thread priorities', () => {
  it('never lowers the main thread, and ignores 0', () => {
    expect(lowerThreadPriority(0)).toBe(false);
    // (Asked on the main thread only: on a worker thread it would lower that thread.)
    if (isMainThread) expect(lowerThreadPriority(10)).toBe(false);
    if (process.platform === 'linux') expect(threadNices().get(process.pid)).toBe(0);
  });

  linuxSqlite('the usage reader and the WAL checkpointer run niced; the main thread does not', async () => {
    const database = await createTestDatabase('buffmoney-nice-', 'nice.db');
    const db = openDatabase(database.url, { durable: false });
    try {
      if (!database.migrated) await migrateToLatest(db);
      const before = new Set(threadNices().keys());
      const reader = createThreadedUsageReader({ file: database.url, nice: 7 });
      const checkpointer = startCheckpointer({ file: database.url, durable: false, intervalMs: 5, nice: 9 });
      try {
        // A read starts the reader thread; a checkpoint run shows the checkpointer's is up.
        expect(await reader.aggregate({ merchantId: 'mer_n', environment: 'live' }, 'cus_none', new Date(0), new Date())).toEqual([]);
        for (let i = 0; i < 200 && checkpointer.runs === 0; i++) await new Promise((r) => setTimeout(r, 10));
        const added = [...threadNices()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
        expect(added).toContain(7);
        expect(added).toContain(9);
        expect(threadNices().get(process.pid)).toBe(0);
      } finally {
        await checkpointer.stop();
        await reader.close();
      }
    } finally {
      await db.close();
      await database.cleanup();
    }
  });
});
