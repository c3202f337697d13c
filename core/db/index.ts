import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { ConnectionLock, SharedLockSqliteDialect } from './sqlite-driver.js';

export type { Database } from './schema.js';

/**
 * What the domain may know about the database engine. Dialect differences are decided here,
 * once, as capabilities — never as `if (sqlite)` in domain code.
 */
export interface DialectCapabilities {
  name: 'sqlite' | 'postgres';
  supportsReturning: boolean;
  /** `SELECT … FOR UPDATE SKIP LOCKED` for outbox workers on several machines. */
  supportsSkipLocked: boolean;
}

export interface Db {
  kysely: Kysely<Database>;
  capabilities: DialectCapabilities;
  /**
   * Runs `fn` synchronously with the connection to itself (no Kysely transaction can be open
   * meanwhile). Only hot paths that need prepared statements use it, through a port that has
   * a PostgreSQL implementation of its own. SQLite only.
   */
  exclusive?<T>(fn: (raw: BetterSqlite3.Database) => T): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** fsync every commit (durable against power loss). Default true: a 200 means stored. */
  durable?: boolean;
  /**
   * false when a checkpointer thread (checkpointer.ts) does the WAL checkpoints: commits on this
   * connection then checkpoint only past a 1 GB WAL, a safety net. Default true.
   */
  autoCheckpoint?: boolean;
}

/** Opens a database from a URL: a file path (SQLite, the embedded default) or postgres://… */
export function openDatabase(url: string, options: OpenDatabaseOptions = {}): Db {
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new Error('PostgreSQL support arrives with the multi-machine issue; use a SQLite file path for now.');
  }
  const file = url.startsWith('file:') ? url.slice(5) : url;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // A 64 MB page cache keeps the hot index pages in memory under sustained ingest; checkpoints
  // every ~40 MB of WAL instead of ~4 MB spare the writer most checkpoint pauses.
  raw.pragma('cache_size = -65536');
  raw.pragma(`wal_autocheckpoint = ${options.autoCheckpoint === false ? 262_144 : 10_000}`);
  // WAL + FULL syncs the WAL on every commit; NORMAL may lose the last commits on power loss.
  raw.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
  const lock = new ConnectionLock();
  const kysely = new Kysely<Database>({ dialect: new SharedLockSqliteDialect(raw, lock) });
  return {
    kysely,
    capabilities: { name: 'sqlite', supportsReturning: true, supportsSkipLocked: false },
    async exclusive<T>(fn: (db: BetterSqlite3.Database) => T): Promise<T> {
      await lock.acquire();
      try {
        return fn(raw);
      } finally {
        lock.release();
      }
    },
    async close() {
      await kysely.destroy();
      raw.close();
    },
  };
}
