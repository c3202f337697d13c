import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Database } from './schema.js';
import pg from 'pg';
import { BuffMoneyPostgresDialect, createPostgresPool, postgresTypes } from './postgres.js';
import { ConnectionLock, SharedLockSqliteDialect } from './sqlite-driver.js';
import { attachUsageIndex } from './usage-index-file.js';

export type { Database } from './schema.js';

/**
 * What the domain may know about the database engine. Dialect differences are decided here,
 * once, as capabilities — never as `if (sqlite)` in domain code.
 */
export interface DialectCapabilities {
  /** For messages and logs only: decide by the flags below, never by the name. */
  name: 'sqlite' | 'postgres';
  supportsReturning: boolean;
  /** `SELECT … FOR UPDATE SKIP LOCKED` for outbox workers on several machines. */
  supportsSkipLocked: boolean;
  /** `pg_advisory_xact_lock` and friends: locks named by a number, shared by every process on the database. */
  supportsAdvisoryLocks: boolean;
  /**
   * Several processes on several machines may use the database at once (a server, not a file):
   * anything two of them could disagree on must live in the database, not in one process.
   */
  sharedByMachines: boolean;
  /**
   * The database is one local file that other threads of this process may open themselves (the
   * usage writer thread, the WAL checkpointer): its absolute path. null for a server database
   * and for SQLite's `:memory:` (which no second connection can see).
   */
  embeddedFile: string | null;
}

/** What a database URL names: a SQLite file (the embedded default) or a PostgreSQL server. */
export type DatabaseLocation = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

/**
 * The one place a database URL is read: `postgres://…` / `postgresql://…` is a server, anything
 * else a SQLite file path (`file:` prefix allowed; `:memory:` kept as is).
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return { engine: 'postgres', url };
  // Any other URL scheme is refused, never taken for a file name (mysql://… must not become a
  // folder named "mysql:"). `file://` is a file URL.
  if (/^file:\/\//i.test(url)) return { engine: 'sqlite', file: path.resolve(decodeURIComponent(new URL(url).pathname)) };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) throw new Error(`Unsupported database URL scheme "${scheme[1]}:": use a SQLite file path or postgres://user:password@host:port/database`);
  const file = url.startsWith('file:') ? url.slice(5) : url;
  return { engine: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
}

/** The database for logs and messages: a PostgreSQL URL without its password. */
export function describeDatabase(url: string): string {
  const location = parseDatabaseUrl(url);
  if (location.engine === 'sqlite') return location.file;
  const u = new URL(location.url);
  if (u.password) u.password = '***';
  return u.toString();
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
  /**
   * The same database, whose transactions do NOT take the global write lock on PostgreSQL (see
   * core/db/README.md, "Transactions"): only for work that is safe under concurrency by its own
   * row locks — work-queue claims (`FOR UPDATE SKIP LOCKED`, core/db/claim.ts). Never for domain
   * writes that rely on one writer at a time. On SQLite it is `kysely` itself (a write
   * transaction is `BEGIN IMMEDIATE` there: one writer per file is all SQLite offers). Use it
   * through `inLockFreeTransaction` (transaction.ts).
   */
  lockFreeKysely?: Kysely<Database>;
  /**
   * A connection of its own, outside the pool, for session-level advisory locks (leader
   * election, core/db/leader.ts): such a lock lives exactly as long as its connection, so it must
   * never go back to a pool. `applicationName` shows in pg_stat_activity (who holds what).
   * Present where `supportsAdvisoryLocks`; the caller ends it.
   */
  openSessionConnection?(applicationName: string): Promise<pg.Client>;
  /**
   * PostgreSQL only: the pool Kysely runs on, for the one hot path that needs the driver itself
   * (the usage writer's `COPY … FROM STDIN`, core/usage/postgres-writer.ts). A transaction opened
   * on it directly must take the write lock itself (`WRITE_LOCK_KEY`, postgres.ts).
   */
  postgresPool?: pg.Pool;
  /**
   * SQLite read-only connections (`readonly: true`): the connection itself, for use ONLY inside
   * a transaction of this Db (which holds it — no other query can interleave): the usage reader
   * thread loads the unindexed tail through a prepared statement returning arrays, ~2× cheaper
   * per row than Kysely's row objects (core/usage/tail-cache.ts).
   */
  inTransactionConnection?: BetterSqlite3.Database;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL: connections in the pool (BUFFMONEY_DB_POOL; default 10). Ignored for SQLite. */
  poolSize?: number;
  /** fsync every commit (durable against power loss). Default true: a 200 means stored. */
  durable?: boolean;
  /**
   * false when a checkpointer thread (checkpointer.ts) does the WAL checkpoints: commits on this
   * connection then checkpoint only past a 1 GB WAL, a safety net. Default true.
   */
  autoCheckpoint?: boolean;
  /**
   * SQLite: open the file read-only (it must exist; migrations are the opener's business). For
   * threads that only read, e.g. the usage reader (core/usage/reader.ts). Ignored for PostgreSQL.
   */
  readonly?: boolean;
  /**
   * SQLite: attach the per-customer usage index file (usage-index-file.ts). Default true. The
   * usage writer thread opens without it: its `BEGIN IMMEDIATE` would otherwise take the index
   * file's write lock too, and ingesting would wait for indexing again.
   */
  attachUsageIndex?: boolean;
}

/**
 * Opens a database from a URL: a file path (SQLite, the embedded default) or postgres://…
 * Opening is lazy on PostgreSQL (the pool connects on first use): callers that must fail fast
 * (the server, the CLI) run migrateToLatest right after, which reaches the server.
 */
export function openDatabase(url: string, options: OpenDatabaseOptions = {}): Db {
  const location = parseDatabaseUrl(url);
  if (location.engine === 'postgres') return openPostgres(location.url, options);
  const { file } = location;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  if (options.readonly) return openReadonlySqlite(file, options.attachUsageIndex !== false);
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // A 64 MB page cache keeps the hot index pages in memory under sustained ingest; checkpoints
  // every ~40 MB of WAL instead of ~4 MB spare the writer most checkpoint pauses.
  raw.pragma('cache_size = -65536');
  raw.pragma(`wal_autocheckpoint = ${options.autoCheckpoint === false ? 262_144 : 10_000}`);
  // When a writer starts the WAL over (after a checkpoint thread's RESTART), it trims the file to
  // 64 MB: the log of a long ingest does not keep its high-water mark on disk.
  raw.pragma('journal_size_limit = 67108864');
  // WAL + FULL syncs the WAL on every commit; NORMAL may lose the last commits on power loss.
  raw.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
  if (options.attachUsageIndex !== false) attachUsageIndex(raw, file === ':memory:' ? null : file, { readonly: false });
  const lock = new ConnectionLock();
  const kysely = new Kysely<Database>({ dialect: new SharedLockSqliteDialect(raw, lock) });
  return {
    kysely,
    lockFreeKysely: kysely,
    capabilities: {
      name: 'sqlite',
      supportsReturning: true,
      supportsSkipLocked: false,
      supportsAdvisoryLocks: false,
      sharedByMachines: false,
      embeddedFile: file === ':memory:' ? null : file,
    },
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

/**
 * A read-only connection to a SQLite file already in WAL mode (set persistently by its writer):
 * reads run beside the writer's transactions on snapshots of their own.
 */
function openReadonlySqlite(file: string, withUsageIndex: boolean): Db {
  const raw = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -65536');
  // The index file exists once a read-write connection has opened the database (the server's).
  if (withUsageIndex) attachUsageIndex(raw, file, { readonly: true });
  const lock = new ConnectionLock();
  const kysely = new Kysely<Database>({ dialect: new SharedLockSqliteDialect(raw, lock) });
  return {
    kysely,
    inTransactionConnection: raw,
    capabilities: { name: 'sqlite', supportsReturning: true, supportsSkipLocked: false, supportsAdvisoryLocks: false, sharedByMachines: false, embeddedFile: file },
    async close() {
      await kysely.destroy();
      raw.close();
    },
  };
}

function openPostgres(url: string, options: OpenDatabaseOptions): Db {
  let poolSize = options.poolSize;
  if (poolSize !== undefined && !(Number.isInteger(poolSize) && poolSize >= 1 && poolSize <= 1000)) {
    throw new Error(`The PostgreSQL pool size must be a whole number from 1 to 1000, got ${poolSize}`);
  }
  poolSize ??= 10;
  const pool = createPostgresPool(url, { poolSize });
  const kysely = new Kysely<Database>({ dialect: new BuffMoneyPostgresDialect(pool) });
  // The same pool without the write lock. Never destroyed itself: `kysely.destroy()` ends the pool.
  const lockFreeKysely = new Kysely<Database>({ dialect: new BuffMoneyPostgresDialect(pool, { writeLock: false }) });
  return {
    kysely,
    lockFreeKysely,
    capabilities: { name: 'postgres', supportsReturning: true, supportsSkipLocked: true, supportsAdvisoryLocks: true, sharedByMachines: true, embeddedFile: null },
    // No `exclusive`: there is no synchronous connection; hot paths have PostgreSQL ports of their own.
    async openSessionConnection(applicationName) {
      const client = new pg.Client({
        connectionString: url,
        application_name: applicationName,
        types: postgresTypes,
        options: '-c TimeZone=UTC',
        // A dead peer is noticed by TCP keepalive even when no query is running.
        keepAlive: true,
        keepAliveInitialDelayMillis: 5_000,
        connectionTimeoutMillis: 10_000,
      });
      // A client that errors before anyone listens must not crash the process.
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    postgresPool: pool,
    async close() {
      // Kysely's destroy ends the pool it was given.
      await kysely.destroy();
    },
  };
}

/**
 * BUFFMONEY_DB_POOL read once, for every entry point (server, CLI, workers): a whole number, or
 * a refusal at start — never a guess.
 */
export function poolSizeFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw new Error(`BUFFMONEY_DB_POOL must be a whole number of connections (1–1000), got ${JSON.stringify(value)}`);
  return Number(value);
}
