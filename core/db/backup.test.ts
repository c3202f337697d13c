import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Migrator } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { backupBeforeMigrations, listBackups, migrateWithBackup } from './backup.js';
import { type Db, openDatabase } from './index.js';
import { migrateToLatest } from './migrate.js';

/** Real SQLite files in a temp folder: a database one migration behind, then brought up to date. */

const names = Object.keys(migrations);
const previous = names[names.length - 2];
let dir: string;
let file: string;
let db: Db;

async function migrateTo(name: string) {
  const { error } = await new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } }).migrateTo(name);
  if (error) throw error;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-backup-'));
  file = path.join(dir, 'buffmoney.db');
  db = openDatabase(file, { durable: false });
});
afterEach(async () => {
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup before migrations', () => {
  it('copies a database with pending migrations, consistently and readable, named for the time and the schema', async () => {
    await migrateTo(previous);
    // Left in the WAL (not checkpointed): the copy must still hold it.
    await db.kysely
      .insertInto('staff')
      .values({
        id: 'stf_1',
        email: 'kept@buffmoney.test',
        role: 'admin',
        status: 'active',
        password_hash: 'x',
        totp_secret_enc: 'x',
        totp_enabled_at: null,
        totp_last_step: null,
        failed_attempts: 0,
        locked_until: null,
        created_by: null,
        created_at: '2026-05-01T09:00:00.000Z',
        updated_at: '2026-05-01T09:00:00.000Z',
        disabled_at: null,
      })
      .execute();

    const { backup, applied } = await migrateWithBackup(db, { now: new Date('2026-05-01T09:00:00.123Z') });
    expect(applied).toEqual([names[names.length - 1]]);
    expect(backup).toMatchObject({ schemaVersion: previous, pending: [names[names.length - 1]], removed: [] });
    expect(path.basename(backup!.file)).toBe(`buffmoney.backup-2026-05-01T09-00-00-123Z.schema-${previous}.db`);
    expect(path.dirname(backup!.file)).toBe(dir);

    const copy = new BetterSqlite3(backup!.file, { readonly: true });
    try {
      expect(copy.prepare('select email from staff').all()).toEqual([{ email: 'kept@buffmoney.test' }]);
      const ran = copy.prepare('select name from kysely_migration order by name').all() as Array<{ name: string }>;
      expect(ran.at(-1)?.name).toBe(previous);
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      copy.close();
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('makes none when nothing is pending, and none for a new, empty database', async () => {
    expect(await backupBeforeMigrations(db, { now: new Date() })).toBeNull();
    await migrateToLatest(db);
    expect(await backupBeforeMigrations(db, { now: new Date() })).toBeNull();
    expect(listBackups(file)).toEqual([]);
  });

  it('makes none for a database that is not a file', async () => {
    const memory = openDatabase(':memory:');
    try {
      expect(await backupBeforeMigrations(memory, { now: new Date() })).toBeNull();
    } finally {
      await memory.close();
    }
  });

  it('keeps the newest N backups of this database and leaves other files alone', async () => {
    await migrateTo(previous);
    fs.writeFileSync(path.join(dir, 'other.backup-2020-01-01T00-00-00-000Z.schema-x.db'), 'not ours');
    const made: string[] = [];
    for (let i = 0; i < 4; i++) made.push((await backupBeforeMigrations(db, { now: new Date(Date.UTC(2026, 4, 1, 9, i)), keep: 2 }))!.file);
    expect(listBackups(file)).toEqual(made.slice(2));
    expect(fs.existsSync(path.join(dir, 'other.backup-2020-01-01T00-00-00-000Z.schema-x.db'))).toBe(true);
  });
});
