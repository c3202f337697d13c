import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { blobType, isPostgres } from './_dialect.js';

describe('the dialect migrations write for', () => {
  it('is PostgreSQL for the PostgreSQL adapter (no connection is opened)', async () => {
    const pg = new Kysely<any>({ dialect: new PostgresDialect({ pool: {} as never }) });
    expect(isPostgres(pg)).toBe(true);
    expect(blobType(pg)).toBe('bytea');
  });

  // The project's own SQLite connection is checked in core/db/index.test.ts (migrations import no app code).
  it("is SQLite for Kysely's SQLite dialect", async () => {
    const raw = new BetterSqlite3(':memory:');
    const lite = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
    expect(isPostgres(lite)).toBe(false);
    expect(blobType(lite)).toBe('blob');
    await lite.destroy();
  });

  it('does not depend on class names (a bundler may rename them)', () => {
    const adapter = { supportsTransactionalDdl: true, constructor: { name: 'a' } };
    const fake = { getExecutor: () => ({ adapter }) } as unknown as Kysely<any>;
    expect(isPostgres(fake)).toBe(true);
  });
});
