/**
 * `npx tsx bench/usage-index-cost.ts` — what keeping usage readable per customer costs the
 * writer, per row, for the designs weighed in core/usage/README.md ("Sustained ingestion").
 *
 * Fills usage_events with rows shaped like bench:ingest's (1,000 customers, 4 high-cardinality
 * dimensions, time-ordered keys) in 5,000-row transactions, alternating with indexing slices
 * through the real writer (`indexCustomerUsage`), as a sustained load would, and prints µs per
 * row of each. Also counts how far hourly rollups per (customer, metric, dimension set) would
 * compress the same rows. Env: INDEX_COST_ROWS (2,000,000), INDEX_COST_SLICES (2000,5000,20000,50000),
 * INDEX_COST_CACHE_MB (the writer connection's page cache; default openDatabase's 64).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { createSqliteUsageEventWriter } from '../core/usage/sqlite-writer.js';
import type { CoreContext } from '../core/context/index.js';
import { CUSTOMERS, FEATURES, METRICS, METRICS_ORDER, MODELS, REGIONS, fmt, pick, ulidLike } from './ingest-lib.js';

const ROWS = Number(process.env.INDEX_COST_ROWS ?? 2_000_000);
const SLICES = (process.env.INDEX_COST_SLICES ?? '2000,5000,20000,50000').split(',').map(Number);
const MODE = process.env.INDEX_COST_MODE ?? 'writer'; // writer (the real indexCustomerUsage), sql (one INSERT … SELECT), chunks (one packed row per customer per slice)
const CHUNKS = MODE === 'chunks';
const CACHE_MB = process.env.INDEX_COST_CACHE_MB ? Number(process.env.INDEX_COST_CACHE_MB) : undefined;

const dimsList: string[] = [];
for (const m of MODELS)
  for (const r of REGIONS) for (const f of FEATURES) for (let k = 0; k < 50; k++) dimsList.push(JSON.stringify({ api_key_id: `ak_${k}`, feature: f, model: m, region: r }));

console.log(
  `usage-index-cost — load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${fmt(ROWS)} rows per slice size, ${CUSTOMERS} customers, ${dimsList.length} dimension sets, cache ${CACHE_MB ?? 64} MB`,
);

// Rollup compression (INDEX_COST_ROLLUPS=0 skips it): distinct (customer, metric, dimension set, hour) over an hour at 60,000 events/s.
if (process.env.INDEX_COST_ROLLUPS !== '0') {
  const hourEvents = 60_000 * 3600;
  const keys = new Set<number>();
  const sample = 5_000_000;
  for (let i = 0; i < sample; i++) {
    const c = Math.floor(Math.random() * CUSTOMERS);
    const m = METRICS_ORDER.indexOf(pick(METRICS));
    const d = Math.floor(Math.random() * dimsList.length);
    keys.add((c * 8 + m) * 4096 + d);
  }
  // The key space is small enough to estimate the hour's distinct keys analytically from it.
  const space = CUSTOMERS * 4 * dimsList.length;
  const expectedDistinct = space * (1 - Math.exp(-hourEvents / space));
  console.log(
    `rollups per (customer, metric, dimension set, hour): ${fmt(sample)} events → ${fmt(keys.size)} rollup rows (${(sample / keys.size).toFixed(2)} events per row); ` +
      `an hour at 60,000 events/s → ~${fmt(expectedDistinct)} rows (${(hourEvents / expectedDistinct).toFixed(1)} events per row), every upsert a random-page B-tree write`,
  );
}

for (const slice of SLICES) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-index-cost-'));
  try {
    const file = path.join(dir, 'u.db');
    const db = openDatabase(file, { durable: true, autoCheckpoint: true });
    await migrateToLatest(db);
    const raw = await db.exclusive!((r) => r);
    raw.pragma('foreign_keys = OFF'); // refs without merchants and customers rows: only the usage tables matter here
    if (CACHE_MB) raw.pragma(`cache_size = -${CACHE_MB * 1024}`);
    raw.prepare("INSERT INTO usage_scopes (merchant_id, environment) VALUES ('m', 'live')").run();
    for (let c = 0; c < CUSTOMERS; c++) raw.prepare('INSERT INTO usage_customers (customer_id) VALUES (?)').run(`cus_${c}`);
    for (const d of dimsList) raw.prepare('INSERT INTO usage_dimension_sets (canonical) VALUES (?)').run(d);
    const insert = raw.prepare(
      'INSERT INTO usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const begin = raw.prepare('BEGIN IMMEDIATE');
    const commit = raw.prepare('COMMIT');
    const writer = createSqliteUsageEventWriter({ db, clock: { now: () => new Date() } } as unknown as CoreContext);
    // The packed alternative: one row per customer per slice holding that customer's events.
    raw.exec(
      'CREATE TABLE IF NOT EXISTS chunk_proto (customer INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, min_at INTEGER NOT NULL, max_at INTEGER NOT NULL, events TEXT NOT NULL, PRIMARY KEY (customer, first_seq)) WITHOUT ROWID',
    );
    const cursor = raw.prepare("SELECT last_seq FROM usage_index_state WHERE name = 'usage_by_customer'").pluck();
    const unindexed = raw.prepare('SELECT seq, customer, occurred_at, metric, quantity, dimensions FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?').raw();
    const insertChunk = raw.prepare('INSERT INTO chunk_proto VALUES (?, ?, ?, ?, ?, ?)');
    const advance = raw.prepare("UPDATE usage_index_state SET last_seq = ? WHERE name = 'usage_by_customer'");
    const copy = raw.prepare(
      'INSERT INTO usage_by_customer (customer, occurred_at, seq, metric, quantity, dimensions) SELECT customer, occurred_at, seq, metric, quantity, dimensions FROM usage_events WHERE seq > ? AND seq <= ? ORDER BY customer, occurred_at, seq',
    );
    const sqlSlice = (n: number): number => {
      begin.run();
      const from = cursor.get() as number;
      const copied = copy.run(from, from + n).changes;
      advance.run(from + n);
      commit.run();
      return copied;
    };
    const chunkSlice = (n: number): number => {
      begin.run();
      const rows = unindexed.all(cursor.get(), n) as Array<[number, number, number, number, string, number]>;
      const by = new Map<number, Array<[number, number, number, number, string, number]>>();
      for (const r of rows) {
        let l = by.get(r[1]);
        if (!l) by.set(r[1], (l = []));
        l.push(r);
      }
      for (const [c, l] of by) {
        let min = Infinity;
        let max = -Infinity;
        const flat: Array<number | string> = [];
        for (const r of l) {
          if (r[2] < min) min = r[2];
          if (r[2] > max) max = r[2];
          flat.push(r[2], r[3], r[5], r[4]);
        }
        insertChunk.run(c, l[0][0], l[l.length - 1][0], min, max, JSON.stringify(flat));
      }
      advance.run(rows[rows.length - 1][0]);
      commit.run();
      return rows.length;
    };
    let ms = Date.now();
    let inserted = 0;
    let insertMs = 0;
    let insertCpu = 0;
    let indexCpu = 0;
    let indexed = 0;
    let indexMs = 0;
    // Per million rows: how each cost moves as the tables grow (a sustained run's tables do).
    let mark = { inserted: 0, insertMs: 0, indexed: 0, indexMs: 0 };
    while (inserted < ROWS) {
      if (inserted - mark.inserted >= 1_000_000) {
        console.log(
          `  ${fmt(inserted)} rows: last ${fmt(inserted - mark.inserted)} insert ${(((insertMs - mark.insertMs) * 1000) / (inserted - mark.inserted)).toFixed(2)} µs/row, ` +
            `index ${(((indexMs - mark.indexMs) * 1000) / Math.max(1, indexed - mark.indexed)).toFixed(2)} µs/row`,
        );
        mark = { inserted, insertMs, indexed, indexMs };
      }
      // One slice's worth of events, in 5,000-row groups as the writer commits them, then the slice.
      for (let g = 0; g < Math.max(1, slice / 5_000); g++) {
        const t = performance.now();
        const c0 = process.cpuUsage();
        begin.run();
        for (let i = 0; i < 5_000; i++) {
          if (i % 25 === 0) ms++;
          insert.run(
            ulidLike(ms),
            1 + Math.floor(Math.random() * CUSTOMERS),
            1 + METRICS_ORDER.indexOf(pick(METRICS)),
            String(1 + Math.floor(Math.random() * 200_000)),
            ms,
            1 + Math.floor(Math.random() * dimsList.length),
            ms,
          );
        }
        commit.run();
        insertMs += performance.now() - t;
        const c = process.cpuUsage(c0);
        insertCpu += (c.user + c.system) / 1000;
        inserted += 5_000;
      }
      while ((await writer.unindexedCount()) >= slice) {
        const t = performance.now();
        const c0 = process.cpuUsage();
        indexed += CHUNKS ? chunkSlice(slice) : MODE === 'sql' ? sqlSlice(slice) : await writer.indexCustomerUsage(slice);
        const c = process.cpuUsage(c0);
        indexCpu += (c.user + c.system) / 1000;
        indexMs += performance.now() - t;
      }
    }
    console.log(
      `${MODE.padEnd(6)} slice ${fmt(slice).padStart(6)}: insert ${((insertMs * 1000) / inserted).toFixed(2)} µs/row (CPU ${((insertCpu * 1000) / inserted).toFixed(2)}, incl. building the row), ` +
        `index ${((indexMs * 1000) / indexed).toFixed(2)} µs/row (CPU ${((indexCpu * 1000) / indexed).toFixed(2)}) ` +
        `(${(indexMs / (indexed / slice)).toFixed(1)} ms per slice) → writer-serial ceiling ${fmt(1e6 / ((insertMs * 1000) / inserted + (indexMs * 1000) / indexed))} events/s`,
    );
    await db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
