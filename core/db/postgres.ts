import { CompiledQuery, type DatabaseConnection, type Driver, PostgresDialect, PostgresDriver, type TransactionSettings } from 'kysely';
import pg from 'pg';

/**
 * How values come back from PostgreSQL (per pool, never pg's process-wide defaults):
 *
 * - int8 (20) and numeric (1700) as the exact decimal text PostgreSQL sends — money and
 *   quantities are integer minor units or exact decimals, never lossy JS numbers. (SQLite stores
 *   them as TEXT: the domain sees the same strings on both.)
 * - timestamptz (1184) and timestamp (1114) as ISO-8601 UTC text (`2026-05-01T09:00:00.000Z`),
 *   the form the domain uses everywhere: BuffMoney's time columns are timestamptz here and read
 *   back as the exact text the domain wrote (core/db/README.md, "Types"); SQLite stores that text.
 * - int4 stays a number (what SQLite's INTEGER gives), bytea a Buffer (what SQLite's BLOB gives).
 */
const identity = (value: string) => value;
const isoUtc = (value: string) => (pgTimestampParser(value) as Date).toISOString();
const pgTimestampParser = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
const OVERRIDES = new Map<number, (value: string) => unknown>([
  [pg.types.builtins.INT8, identity],
  [pg.types.builtins.NUMERIC, identity],
  [pg.types.builtins.TIMESTAMPTZ, isoUtc],
  [pg.types.builtins.TIMESTAMP, (v) => isoUtc(`${v}+00`)],
]);
export const postgresTypes: pg.CustomTypesConfig = {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own overloads of getTypeParser
  getTypeParser: ((oid: number, format?: any) => OVERRIDES.get(oid) ?? pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The key of the one advisory lock every write transaction takes (see WriterLockPostgresDriver).
 * Any 64-bit constant would do; this one reads "BuffMony" in ASCII.
 */
export const WRITE_LOCK_KEY = '4789888065355689337';

/**
 * Kysely's PostgreSQL driver, with every transaction serialised behind one transaction-scoped
 * advisory lock — across all connections of all processes on the database.
 *
 * Why: the domain was written against SQLite, where `BEGIN IMMEDIATE` makes write transactions
 * run one at a time, and several rules rely on it (the next audit-log and ledger seq is "last + 1",
 * invoice numbers come from a counter read then written, "check then insert" guards). Under
 * PostgreSQL's READ COMMITTED two replicas could interleave those steps. Taking the lock first
 * gives every transaction the same one-writer-at-a-time guarantee, and reads inside it see every
 * commit made before it (READ COMMITTED takes a fresh snapshot per statement). Statements outside
 * a transaction (single-row reads and writes) run concurrently as usual. Finer locks (per chain,
 * per merchant) are the next step for throughput; see core/db/README.md.
 */
class WriterLockPostgresDriver extends PostgresDriver {
  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await super.beginTransaction(connection, settings);
    // A READ ONLY transaction (readSnapshot in transaction.ts) cannot write, so it has nothing to
    // serialise: it reads its snapshot beside the writers instead of queueing behind them.
    if (settings.accessMode === 'read only') return;
    await connection.executeQuery(CompiledQuery.raw(`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`));
  }
}

export class BuffMoneyPostgresDialect extends PostgresDialect {
  /**
   * `writeLock: false` gives Kysely's plain driver: transactions that do not take the global
   * write lock (see `Db.lockFreeKysely`), on the same pool.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { writeLock: boolean } = { writeLock: true },
  ) {
    super({ pool });
  }
  override createDriver(): Driver {
    return this.options.writeLock ? new WriterLockPostgresDriver({ pool: this.pool }) : new PostgresDriver({ pool: this.pool });
  }
}

export interface PostgresPoolOptions {
  /** Connections in the pool (BUFFMONEY_DB_POOL; default 10). */
  poolSize?: number;
}

export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types: postgresTypes,
    // Every connection speaks UTC, so anything PostgreSQL formats itself is unambiguous.
    options: '-c TimeZone=UTC',
  });
  // An idle client that loses its server (restart, network) must not crash the process: the
  // next query gets a fresh connection and its own error.
  pool.on('error', () => {});
  return pool;
}
