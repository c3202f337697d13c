import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPostgres } from '../../migrations/_dialect.js';
import { openDatabase, parseDatabaseUrl } from './index.js';

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

  it('says whether other threads can open the same database (embeddedFile)', async () => {
    const mem = openDatabase(':memory:', { durable: false });
    expect(mem.capabilities.embeddedFile).toBeNull();
    // Migrations see the project's SQLite connection as SQLite.
    expect(isPostgres(mem.kysely)).toBe(false);
    await mem.close();
  });
});
