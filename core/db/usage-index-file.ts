import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * SQLite keeps the per-customer usage index (usage_by_customer and its cursor, usage_index_state)
 * in a file of its own beside the database, `<database>-usage-index`, ATTACHed to every connection
 * that reads it as the schema `usage_index`. Queries name the tables without a schema: SQLite
 * looks in `main` first, then in attached databases, and migration 0017 removed them from `main`.
 *
 * Why a second file: SQLite allows one writer per file. In one file, every slice the indexer
 * copied held the same write lock as ingestion, so ingesting and indexing took turns on one
 * thread (the writer thread was busy ~93% of the time at ~50,000 events/s, and the sustained
 * rate fell as the tables grew). With the index in its own file, the index thread writes it
 * under that file's lock while the usage writer commits events under the database's: the two
 * run on both cores at once. The writer thread never attaches the index (a `BEGIN IMMEDIATE`
 * takes the write lock of every attached file); domain connections attach it, and may wait
 * for an index slice in progress (tens of milliseconds) — never the usage writer.
 *
 * The index is derived data: rebuilt from usage_events from cursor 0 whenever it is missing or
 * does not belong to the database beside it (a restored backup, a copied file): see
 * `checkUsageIndexBelongs`. Readers are exact meanwhile (they add the unindexed tail). So the
 * file is written with synchronous=NORMAL — a power cut may lose its last slices, consistently
 * with their cursor, and they are copied again.
 *
 * `:memory:` databases attach an in-memory index the same way (one connection sees both).
 */
export const USAGE_INDEX_SCHEMA = 'usage_index';

export function usageIndexFileOf(databaseFile: string): string {
  return `${databaseFile}-usage-index`;
}

/** Attaches the index (creating its file and tables when missing) and checks it belongs here. */
export function attachUsageIndex(raw: BetterSqlite3.Database, databaseFile: string | null, options: { readonly: boolean }): void {
  const target = databaseFile === null ? ':memory:' : usageIndexFileOf(databaseFile);
  raw.prepare(`ATTACH DATABASE ? AS ${USAGE_INDEX_SCHEMA}`).run(target);
  if (options.readonly) return;
  raw.pragma(`${USAGE_INDEX_SCHEMA}.journal_mode = WAL`);
  raw.pragma(`${USAGE_INDEX_SCHEMA}.synchronous = NORMAL`);
  createUsageIndexTables(raw);
  checkUsageIndexBelongs(raw);
}

function createUsageIndexTables(raw: BetterSqlite3.Database): void {
  const s = USAGE_INDEX_SCHEMA;
  raw.exec(`
    CREATE TABLE IF NOT EXISTS ${s}.usage_by_customer (
      customer integer NOT NULL,
      occurred_at integer NOT NULL,
      seq integer NOT NULL,
      metric integer NOT NULL,
      quantity text NOT NULL,
      dimensions integer NOT NULL,
      CONSTRAINT usage_by_customer_pk PRIMARY KEY (customer, occurred_at, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${s}.usage_index_state (name text PRIMARY KEY, last_seq integer NOT NULL, last_key text);
    INSERT INTO ${s}.usage_index_state (name, last_seq, last_key) VALUES ('usage_by_customer', 0, NULL) ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS ${s}.usage_index_meta (name text PRIMARY KEY, value text NOT NULL);
  `);
}

/**
 * The index must describe the usage_events beside it. It records which database it was built
 * for (a digest of that database's random event-id key, made by migration 0006) and the
 * idempotency key of the event at its cursor; a restored backup or a swapped file shows as a
 * different key, a cursor past the last event, or another event at the cursor. Any of those
 * empties the index (cursor 0): the indexer rebuilds it, readers scan the tail meanwhile.
 * Before migrations have made usage_events (a new database), there is nothing to check.
 */
export function checkUsageIndexBelongs(raw: BetterSqlite3.Database): void {
  const s = USAGE_INDEX_SCHEMA;
  const hasEvents = raw.prepare("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name IN ('usage_events', 'usage_state')").all().length === 2;
  if (!hasEvents) return;
  const key = raw.prepare('SELECT event_id_key FROM main.usage_state WHERE id = 1').pluck().get() as Buffer | undefined;
  if (key === undefined) return;
  // A digest, not the key: the key decodes event ids back to positions, and stays in the database.
  const owner = createHash('sha256').update('buffmoney usage index owner\0').update(key).digest('hex');
  const recorded = raw.prepare(`SELECT value FROM ${s}.usage_index_meta WHERE name = 'owner'`).pluck().get() as string | undefined;
  const state = raw.prepare(`SELECT last_seq, last_key FROM ${s}.usage_index_state WHERE name = 'usage_by_customer'`).get() as { last_seq: number; last_key: string | null };
  let belongs = recorded === owner;
  if (belongs && state.last_seq > 0) {
    const atCursor = raw.prepare('SELECT idempotency_key FROM main.usage_events WHERE seq = ?').pluck().get(state.last_seq) as string | undefined;
    belongs = atCursor !== undefined && atCursor === state.last_key;
  }
  if (belongs) return;
  raw.exec('BEGIN IMMEDIATE');
  try {
    raw.exec(`DELETE FROM ${s}.usage_by_customer`);
    raw.exec(`UPDATE ${s}.usage_index_state SET last_seq = 0, last_key = NULL`);
    raw.prepare(`INSERT INTO ${s}.usage_index_meta (name, value) VALUES ('owner', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`).run(owner);
    raw.exec('COMMIT');
  } catch (e) {
    if (raw.inTransaction) raw.exec('ROLLBACK');
    throw e;
  }
}
