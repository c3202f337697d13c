import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  type TransactionSettings,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

/**
 * A Kysely driver for better-sqlite3 whose connection lock is shared with synchronous callers.
 *
 * Why not Kysely's own SqliteDriver: its mutex is private. The ingest hot path runs prepared
 * statements synchronously on the same connection; if it ran while a Kysely transaction was
 * open (between two awaits) its writes would silently join that transaction. Here both sides
 * take the same lock, so a synchronous batch waits for any open transaction to finish.
 */
export class ConnectionLock {
  private locked = false;
  private waiters: Array<() => void> = [];

  async acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }
}

/** Prepared statements kept per connection: preparing costs more than running most queries. */
const STATEMENT_CACHE_SIZE = 500;

class SqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  constructor(private readonly raw: BetterSqlite3.Database) {}

  private prepared(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.raw.prepare(sql);
      // Queries are few and fixed (Kysely compiles to the same text each time); a flood of
      // distinct texts (e.g. IN lists of varying length) just starts the cache over.
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepared(compiled.sql);
    const params = compiled.parameters as unknown[];
    if (stmt.reader) {
      return { rows: stmt.all(...params) as R[] };
    }
    const { changes, lastInsertRowid } = stmt.run(...params);
    return {
      rows: [],
      numAffectedRows: BigInt(changes),
      insertId: lastInsertRowid === undefined ? undefined : BigInt(lastInsertRowid),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const stmt = this.raw.prepare(compiled.sql);
    for (const row of stmt.iterate(...(compiled.parameters as unknown[]))) {
      yield { rows: [row as R] };
    }
  }
}

class SharedLockSqliteDriver implements Driver {
  private readonly connection: SqliteConnection;
  constructor(
    raw: BetterSqlite3.Database,
    private readonly lock: ConnectionLock,
  ) {
    this.connection = new SqliteConnection(raw);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return this.connection;
  }
  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    // IMMEDIATE takes the write lock up front: two processes (server + CLI) on one file then
    // wait on busy_timeout instead of failing with SQLITE_BUSY on lock upgrade. A READ ONLY
    // transaction (readSnapshot) is a plain deferred one: in WAL mode it reads one snapshot
    // without ever taking the write lock, so it does not hold up the usage writer.
    await conn.executeQuery(CompiledQuery.raw(settings.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }
  async savepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`savepoint "${name}"`));
  }
  async rollbackToSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`rollback to savepoint "${name}"`));
  }
  async releaseSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`release savepoint "${name}"`));
  }
  async releaseConnection(): Promise<void> {
    this.lock.release();
  }
  async destroy(): Promise<void> {}
}

export class SharedLockSqliteDialect implements Dialect {
  constructor(
    private readonly raw: BetterSqlite3.Database,
    private readonly lock: ConnectionLock,
  ) {}
  createDriver(): Driver {
    return new SharedLockSqliteDriver(this.raw, this.lock);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface declares the introspector over Kysely<any>
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db);
  }
}
