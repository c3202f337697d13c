import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isUniqueViolation } from './errors.js';

function sqliteError(sqlText: string): unknown {
  const raw = new BetterSqlite3(':memory:');
  raw.pragma('foreign_keys = ON');
  raw.exec(`CREATE TABLE parent (id TEXT PRIMARY KEY, email TEXT UNIQUE, name TEXT NOT NULL);
    CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent(id));
    INSERT INTO parent VALUES ('p1', 'a@b.c', 'A');`);
  try {
    raw.exec(sqlText);
    return null;
  } catch (e) {
    return e;
  } finally {
    raw.close();
  }
}

describe('isUniqueViolation', () => {
  it('is true for a unique index and a primary key violation on SQLite', () => {
    expect(isUniqueViolation(sqliteError(`INSERT INTO parent VALUES ('p2', 'a@b.c', 'B')`))).toBe(true);
    expect(isUniqueViolation(sqliteError(`INSERT INTO parent VALUES ('p1', 'x@b.c', 'B')`))).toBe(true);
  });

  it('is false for other constraint failures', () => {
    expect(isUniqueViolation(sqliteError(`INSERT INTO parent VALUES ('p3', 'c@b.c', NULL)`))).toBe(false);
    expect(isUniqueViolation(sqliteError(`INSERT INTO child VALUES ('c1', 'nope')`))).toBe(false);
  });

  it("reads PostgreSQL's SQLSTATE 23505, and never the message text", () => {
    expect(isUniqueViolation(Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505' }))).toBe(true);
    expect(isUniqueViolation(Object.assign(new Error('insert or update violates foreign key'), { code: '23503' }))).toBe(false);
    // A message that merely looks like one (e.g. a user-supplied name echoed in an error) is not.
    expect(isUniqueViolation(new Error('UNIQUE constraint failed: merchants.email'))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
    expect(isUniqueViolation('UNIQUE')).toBe(false);
  });
});
