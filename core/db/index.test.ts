import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPostgres } from '../../migrations/_dialect.js';
import { describeDatabase, openDatabase, parseDatabaseUrl, poolSizeFromEnv } from './index.js';

describe('database URLs and capabilities', () => {
  it('reads a URL in one place: PostgreSQL servers, SQLite files, memory', () => {
    expect(parseDatabaseUrl('postgres://u@127.0.0.1:5432/bm')).toEqual({ engine: 'postgres', url: 'postgres://u@127.0.0.1:5432/bm' });
    expect(parseDatabaseUrl('postgresql://u@localhost/bm').engine).toBe('postgres');
    expect(parseDatabaseUrl('./data/x.db')).toEqual({ engine: 'sqlite', file: path.resolve('./data/x.db') });
    expect(parseDatabaseUrl('file:/tmp/y.db')).toEqual({ engine: 'sqlite', file: '/tmp/y.db' });
    expect(parseDatabaseUrl(':memory:')).toEqual({ engine: 'sqlite', file: ':memory:' });
    // A file whose name merely mentions postgres is still a file.
    expect(parseDatabaseUrl('./postgres.db').engine).toBe('sqlite');
  });

  it('refuses any other URL scheme instead of taking it for a file name', () => {
    expect(() => parseDatabaseUrl('mysql://u@host/db')).toThrow(/Unsupported database URL scheme "mysql:"/);
    expect(() => parseDatabaseUrl('postgre://u@host/db')).toThrow(/Unsupported/);
    expect(parseDatabaseUrl('file:///tmp/z.db')).toEqual({ engine: 'sqlite', file: '/tmp/z.db' });
  });

  it('names a PostgreSQL database in logs without its password', () => {
    expect(describeDatabase('postgres://bm:s3cret@db:5432/bm')).toBe('postgres://bm:***@db:5432/bm');
    expect(describeDatabase('postgres://bm@db/bm')).toBe('postgres://bm@db/bm');
  });

  it('reads BUFFMONEY_DB_POOL as a whole number of connections, or refuses it', () => {
    expect(poolSizeFromEnv(undefined)).toBeUndefined();
    expect(poolSizeFromEnv('')).toBeUndefined();
    expect(poolSizeFromEnv('25')).toBe(25);
    for (const bad of ['0', '-1', '2.5', 'ten', '1001']) expect(() => poolSizeFromEnv(bad), bad).toThrow(/BUFFMONEY_DB_POOL/);
  });

  it('says whether other threads can open the same database (embeddedFile)', async () => {
    const mem = openDatabase(':memory:', { durable: false });
    expect(mem.capabilities.embeddedFile).toBeNull();
    // Migrations see the project's SQLite connection as SQLite.
    expect(isPostgres(mem.kysely)).toBe(false);
    await mem.close();
  });
});
