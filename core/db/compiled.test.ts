import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { compiledQuery } from './compiled.js';
import { type Db, openDatabase } from './index.js';
import { migrateToLatest } from './migrate.js';

describe('compiledQuery', () => {
  const dbs: Db[] = [];
  const databases: TestDatabase[] = [];
  const now = '2026-11-01T00:00:00.000Z';

  async function freshDb(name: string, merchants: Array<[string, string, string]>) {
    const database = await createTestDatabase('buffmoney-compiled-', name);
    databases.push(database);
    const db = openDatabase(database.url, { durable: false });
    if (!database.migrated) await migrateToLatest(db);
    dbs.push(db);
    for (const [id, email, status] of merchants) {
      await db.kysely
        .insertInto('merchants')
        .values({ id, name: id, email, password_hash: 'x', status, kyb_status: 'not_started', created_at: now, updated_at: now } as never)
        .execute();
    }
    return db;
  }

  beforeAll(async () => {
    await freshDb('a.db', [
      ['mer_1', 'one@example.com', 'active'],
      ['mer_2', 'two@example.com', 'suspended'],
      ['mer_3', 'three@example.com', 'active'],
    ]);
    await freshDb('b.db', [['mer_9', 'nine@example.com', 'active']]);
  });
  afterAll(async () => {
    for (const db of dbs) await db.close();
    for (const database of databases) await database.cleanup();
  });

  // Placeholders bound in the SQL in another order than declared, and a constant of the query.
  const byIdAndEmail = compiledQuery(
    (kysely, email: string, id: string) => kysely.selectFrom('merchants').select(['id', 'status']).where('id', '=', id).where('status', '=', 'active').where('email', '=', email),
    ['$email', '$id'] as [string, string],
  );

  it('binds each call’s parameters where its placeholders were, keeping the query’s own constants', async () => {
    const [a] = dbs;
    expect(await byIdAndEmail(a.kysely, 'one@example.com', 'mer_1')).toEqual([{ id: 'mer_1', status: 'active' }]);
    expect(await byIdAndEmail(a.kysely, 'three@example.com', 'mer_3')).toEqual([{ id: 'mer_3', status: 'active' }]);
    // The constant 'active' still applies: a suspended merchant is not found.
    expect(await byIdAndEmail(a.kysely, 'two@example.com', 'mer_2')).toEqual([]);
    // Mismatched pairs find nothing (the parameters were not swapped).
    expect(await byIdAndEmail(a.kysely, 'mer_1', 'one@example.com')).toEqual([]);
  });

  it('compiles per Kysely instance and reads each instance’s own data', async () => {
    const [a, b] = dbs;
    expect(await byIdAndEmail(b.kysely, 'nine@example.com', 'mer_9')).toEqual([{ id: 'mer_9', status: 'active' }]);
    expect(await byIdAndEmail(a.kysely, 'nine@example.com', 'mer_9')).toEqual([]);
  });

  it('refuses placeholders the query does not bind, and repeated placeholders', async () => {
    const unbound = compiledQuery((kysely, _id: string) => kysely.selectFrom('merchants').select('id'), ['$id'] as [string]);
    await expect(unbound(dbs[0].kysely, 'mer_1')).rejects.toThrow(/not bound/);
    expect(() =>
      compiledQuery((kysely, id: string, id2: string) => kysely.selectFrom('merchants').select('id').where('id', 'in', [id, id2]), ['$x', '$x'] as [string, string]),
    ).toThrow(/distinct/);
  });
});
