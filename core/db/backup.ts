import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './index.js';
import { migrateToLatest, migrationStatus } from './migrate.js';

/**
 * A copy of the database before migrations change it: a migration that goes wrong (or a newer
 * app version the officer wants to step back from) must not cost the ledger. Only SQLite files
 * that already hold data and have migrations pending are copied; a new, empty database has
 * nothing to lose, and an up-to-date one nothing about to change.
 *
 * The copy is `VACUUM INTO`: a consistent snapshot even with WAL frames not yet checkpointed,
 * compacted, readable as an ordinary SQLite file. It is written under a temporary name and
 * renamed, so a backup that has its final name is complete. Named
 * `<stem>.backup-<UTC time>.schema-<last applied migration>.db` beside the database; the newest
 * `keep` are kept.
 */

export const DEFAULT_BACKUPS_KEPT = 5;

export interface MigrationBackup {
  file: string;
  /** The last migration the copy has run: the schema it can be opened with. */
  schemaVersion: string;
  /** The migrations about to run. */
  pending: string[];
  /** Older backups removed to keep `keep`. */
  removed: string[];
}

export interface BackupOptions {
  /** The time in the file name (a transport's clock: core does not read the wall clock). */
  now: Date;
  /** How many backups of this database to keep (default 5). */
  keep?: number;
}

export async function backupBeforeMigrations(db: Db, options: BackupOptions): Promise<MigrationBackup | null> {
  const file = db.capabilities.embeddedFile;
  if (file === null || !db.exclusive) return null;
  const { applied, pending } = await migrationStatus(db);
  if (pending.length === 0 || applied.length === 0) return null;
  const schemaVersion = applied[applied.length - 1];
  const { dir, stem } = backupNaming(file);
  const stamp = options.now.toISOString().replace(/[:.]/g, '-');
  const dest = path.join(dir, `${stem}.backup-${stamp}.schema-${schemaVersion}.db`);
  const partial = `${dest}.partial`;
  fs.rmSync(partial, { force: true });
  await db.exclusive((raw) => raw.prepare('VACUUM INTO ?').run(partial));
  fs.renameSync(partial, dest);
  const removed = rotateBackups(file, options.keep ?? DEFAULT_BACKUPS_KEPT);
  return { file: dest, schemaVersion, pending, removed };
}

/** Backs up (when migrations are pending on a file with data), then migrates. */
export async function migrateWithBackup(db: Db, options: BackupOptions): Promise<{ applied: string[]; backup: MigrationBackup | null }> {
  const backup = await backupBeforeMigrations(db, options);
  return { applied: await migrateToLatest(db), backup };
}

/** This database's backups, oldest first (the UTC time in the name sorts as text). */
export function listBackups(dbFile: string): string[] {
  const { dir, stem } = backupNaming(dbFile);
  if (!fs.existsSync(dir)) return [];
  const prefix = `${stem}.backup-`;
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.db'))
    .sort()
    .map((name) => path.join(dir, name));
}

function rotateBackups(dbFile: string, keep: number): string[] {
  const all = listBackups(dbFile);
  const old = all.slice(0, Math.max(0, all.length - Math.max(1, keep)));
  for (const f of old) fs.rmSync(f, { force: true });
  return old;
}

function backupNaming(dbFile: string): { dir: string; stem: string } {
  const base = path.basename(dbFile);
  const ext = path.extname(base);
  return { dir: path.dirname(dbFile), stem: ext ? base.slice(0, -ext.length) : base };
}
