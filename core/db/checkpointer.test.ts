import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { onPostgres } from '../testing/database.js';
import { startCheckpointer } from './checkpointer.js';
import { openDatabase } from './index.js';

/**
 * The WAL checkpointer thread serves an embedded SQLite file: SQLite-only by nature (PostgreSQL
 * manages its own WAL), and says so on PostgreSQL.
 */
const require = createRequire(import.meta.url);
const sqliteOnly = onPostgres ? it.skip : it;
if (onPostgres) console.log('checkpointer.test: skipped on PostgreSQL (WAL checkpoints of an embedded SQLite file)');

describe('sqlite: the WAL checkpointer under continuous writes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /**
   * ~40 MB written in small commits while a reader always sits in a snapshot (as the usage
   * indexer and reader threads do under load): the conditions under which the writer never
   * finds the moment to start the log over by itself. Returns the WAL file at the end and the restarts.
   */
  async function churn(restartBytes: number): Promise<{ finalWal: number; restarts: number; rows: number }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-ckpt-'));
    dirs.push(dir);
    const file = path.join(dir, 'c.db');
    const db = openDatabase(file, { durable: false, autoCheckpoint: false, attachUsageIndex: false });
    await db.exclusive!((raw) => raw.exec('CREATE TABLE t (id integer PRIMARY KEY, b blob NOT NULL)'));
    const checkpointer = startCheckpointer({ file, durable: false, intervalMs: 5, restartBytes, restartWaitMs: 50, restartBackoffMs: 20 });
    // A reader on a thread of its own that always sits in a snapshot, taking a new one every
    // few milliseconds (as the usage indexer and reader threads do under load).
    const reader = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const db = new (require(workerData.module))(workerData.file, { readonly: true });
       const max = db.prepare('SELECT max(id) FROM t');
       let on = true;
       parentPort.on('message', () => { on = false; });
       const cycle = () => {
         if (db.inTransaction) db.exec('COMMIT');
         if (!on) { db.close(); parentPort.postMessage('closed'); return; }
         db.exec('BEGIN'); max.get();
         setTimeout(cycle, 3);
       };
       cycle();`,
      { eval: true, workerData: { file, module: require.resolve('better-sqlite3') } },
    );
    const walSize = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    try {
      for (let round = 0; round < 200; round++) {
        await db.exclusive!((raw) => {
          const insert = raw.prepare('INSERT INTO t (b) VALUES (?)');
          for (let commit = 0; commit < 5; commit++) {
            raw.exec('BEGIN IMMEDIATE');
            for (let i = 0; i < 40; i++) insert.run(randomBytes(1000));
            raw.exec('COMMIT');
          }
        });
        await new Promise((r) => setTimeout(r, 1));
      }
      const rows = (await db.exclusive!((raw) => raw.prepare('SELECT count(*) FROM t').pluck().get())) as number;
      return { finalWal: walSize(), restarts: checkpointer.restarts, rows };
    } finally {
      await new Promise((resolve) => {
        reader.once('message', resolve);
        reader.postMessage('stop');
      });
      await reader.terminate();
      await checkpointer.stop();
      await db.close();
    }
  }

  sqliteOnly(
    'starts the log over once it passes its bound (RESTART), with every committed row kept',
    async () => {
      const bounded = await churn(2 * 1024 * 1024);
      expect(bounded.rows).toBe(40_000);
      // ~40 MB written against a 2 MB bound: the log was started over, again and again. (Without
      // the bound it may grow with the load for as long as it lasts — how far depends on when the
      // reader happens to leave the log, so that run is measured by bench:ingest, not asserted.)
      expect(bounded.restarts).toBeGreaterThan(1);
      expect(bounded.finalWal).toBeLessThan(40 * 1024 * 1024);
    },
    60_000,
  );
});
