import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { type Db, parseDatabaseUrl } from '../db/index.js';

/**
 * The one switch between the two databases the suite runs on (tests only): BUFFMONEY_TEST_DB.
 * Unset (`npm test`): every test database is a SQLite file in a fresh temp folder. A postgres://
 * URL (`npm run test:pg` sets it to a template database that has every migration applied): every
 * test database is a fresh PostgreSQL database copied from that template, dropped on cleanup.
 */
export const testDatabaseUrl = process.env.BUFFMONEY_TEST_DB;

/** Whether this run is on PostgreSQL (dialect-specific tests skip themselves by name with it). */
export const onPostgres = testDatabaseUrl !== undefined && parseDatabaseUrl(testDatabaseUrl).engine === 'postgres';

export interface TestDatabase {
  /** What openDatabase takes: a SQLite file path or a postgres:// URL. */
  url: string;
  /** A fresh temp folder for anything else the test writes (secrets.json, exports). */
  dir: string;
  /** True when the database is already migrated (a copy of the migrated template). */
  migrated: boolean;
  /** Removes the folder and drops the database; call after closing every connection. */
  cleanup(): Promise<void>;
}

let counter = 0;

/**
 * A fresh database for one test context. `empty: true` gives an unmigrated one (tests of the
 * migrations themselves); otherwise, on PostgreSQL, a copy of the migrated template.
 */
export async function createTestDatabase(prefix = 'buffmoney-test-', fileName = 'buffmoney.db', options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  if (!onPostgres) return { url: path.join(dir, fileName), dir, migrated: false, cleanup: async () => removeDir() };
  const template = new URL(testDatabaseUrl!);
  const templateName = options.empty ? 'template0' : template.pathname.slice(1);
  const name = `test_${process.pid}_${++counter}`;
  await admin(template, async (client) => {
    // FILE_COPY: a plain copy of the template's few files (fsync is off in the test cluster).
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${templateName}" STRATEGY FILE_COPY`);
  });
  const url = new URL(template);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dir,
    migrated: !options.empty,
    async cleanup() {
      removeDir();
      await admin(template, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function admin<T>(template: URL, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(template);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs `dml` as someone with direct access to the database would, past the append-only
 * triggers (tests of tamper evidence: the hash chains must notice). SQLite: the triggers are
 * dropped and recreated around it in one transaction. PostgreSQL: triggers are skipped for the
 * session (`session_replication_role = replica`, a superuser's power — the test cluster's user).
 * The triggers are in place again afterwards on both.
 */
export async function tamperBehindTriggers(url: string, dml: string): Promise<void> {
  if (parseDatabaseUrl(url).engine === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`BEGIN; SET LOCAL session_replication_role = replica; ${dml}; COMMIT`);
    } finally {
      await client.end();
    }
    return;
  }
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const raw = new BetterSqlite3(url);
  try {
    raw.transaction(() => {
      const triggers = raw.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string; sql: string }>;
      for (const t of triggers) raw.exec(`DROP TRIGGER "${t.name}"`);
      raw.exec(dml);
      for (const t of triggers) raw.exec(t.sql);
    })();
  } finally {
    raw.close();
  }
}

/**
 * Makes the database refuse inserts into `table` (all, or those where `when` holds — a condition
 * over NEW written in SQL both engines read) with the error message `message`, until the
 * returned function is called: tests of what happens when a write fails half way.
 */
export async function refuseInserts(db: Db, table: string, message: string, when?: string): Promise<() => Promise<void>> {
  const name = `test_refuse_${table}`;
  if (db.exclusive) {
    await db.exclusive((raw) => raw.exec(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} ${when ? `WHEN ${when}` : ''} BEGIN SELECT RAISE(ABORT, '${message}'); END`));
    return () => db.exclusive!((raw) => void raw.exec(`DROP TRIGGER ${name}`));
  }
  await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`).execute(db.kysely);
  await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW ${when ? `WHEN (${when})` : ''} EXECUTE FUNCTION ${name}()`).execute(db.kysely);
  return async () => {
    await sql.raw(`DROP TRIGGER ${name} ON ${table}`).execute(db.kysely);
    await sql.raw(`DROP FUNCTION ${name}()`).execute(db.kysely);
  };
}

/**
 * Runs one SQL statement written with `?` placeholders on either engine (tests that look at or
 * poke rows directly, as someone at a SQL prompt would); returns its rows.
 */
export async function queryRows<R = Record<string, unknown>>(db: Db, text: string, ...params: unknown[]): Promise<R[]> {
  const parts = text.split('?');
  if (parts.length !== params.length + 1) throw new Error(`queryRows: ${parts.length - 1} placeholders, ${params.length} values`);
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return (await sql<R>(strings, ...params).execute(db.kysely)).rows;
}
