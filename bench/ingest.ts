/**
 * `npm run bench:ingest` — the usage-event ingest benchmark.
 *
 * For each kind of per-event idempotency key (time-ordered ULID-like, then random UUIDv4) it
 * starts the real server (server/main.ts) in a child process on a fresh temporary database,
 * signs a merchant up, creates customers through the API (auto-create), and drives concurrent
 * keep-alive clients over loopback HTTP posting pre-built 500-event batches (~10% duplicate
 * keys, realistic dimensions) for a fixed time. Then, in the same run, it measures the local
 * limit: the same events inserted straight into the same table (real migration, same PRAGMAs)
 * with better-sqlite3 in one process, 500 rows per transaction.
 *
 * Environment: BENCH_SECONDS (10), BENCH_CLIENTS (6), BENCH_CUSTOMERS (1000),
 * BENCH_DURABLE (1: synchronous=FULL as in production; 0: NORMAL), BENCH_KINDS (ulid,uuid),
 * BENCH_IDEMPOTENCY_HEADER (0; 1 sends an Idempotency-Key header with every batch), BENCH_TRACE
 * (0; 1 prints the worst batch latency per 250 ms), BENCH_SERVER_NODE_ARGS, BENCH_SERVER_STDERR.
 *
 * Runs (BENCH_RUNS, comma-separated, in this order; default `burst,mixed,sustained`):
 * - `burst`: the above, on SQLite, per BENCH_KINDS (the targets: ≥ 100,000 events/s, p99 ≤ 50 ms,
 *   ≥ 40% of raw); then on PostgreSQL (bench/ingest-postgres.ts: a durable private cluster, the
 *   same load, and in the same run the raw `COPY` rate of the same rows into the same table;
 *   targets ≥ 50,000 events/s and ≥ 40% of COPY);
 * - `mixed`: the time-ordered burst for BENCH_SECONDS while BENCH_READS_PER_SECOND (20) usage
 *   summaries a second are read over HTTP — ingest p99 and read p99 (bench/ingest-reads.ts), after
 *   a control run of the same load without reads on a fresh database (BENCH_MIXED_CONTROL=0 skips it);
 * - `sustained`: full-speed ingestion for BENCH_SUSTAINED_SECONDS (300), printing the rate at
 *   which events are stored and the rate at which they become readable through the per-customer
 *   index (bench/ingest-reads.ts).
 * Each run runs on each database of BENCH_DBS (default `sqlite,postgres`;
 * PostgreSQL on a private cluster from test/pg/cluster.ts, skipped when none can start).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { attachUsageIndex } from '../core/db/usage-index-file.js';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { runPostgresIngestBench } from './ingest-postgres.js';
import {
  BATCH,
  type BenchEvent,
  CLIENTS,
  CUSTOMERS,
  DURABLE,
  type HttpResult,
  type KeyKind,
  METRICS_ORDER,
  POOL_BATCHES,
  SECONDS,
  SEND_IDEMPOTENCY_HEADER,
  agent,
  buildPool,
  calibrationMs,
  cpuSeconds,
  drive,
  fmt,
  peakRssMb,
  percentile,
  setUpMerchant,
  startServerChild,
  threadCpuSeconds,
} from './ingest-lib.js';
import { runMixed, runSustained, verdicts } from './ingest-reads.js';

const KINDS = (process.env.BENCH_KINDS ?? 'ulid,uuid').split(',') as KeyKind[];
const RUNS = (process.env.BENCH_RUNS ?? 'burst,mixed,sustained').split(',');
for (const r of RUNS) if (!['burst', 'mixed', 'sustained'].includes(r)) throw new Error(`BENCH_RUNS: unknown run "${r}" (burst, mixed, sustained)`);
const DBS = (process.env.BENCH_DBS ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
for (const d of DBS) if (d !== 'sqlite' && d !== 'postgres') throw new Error(`BENCH_DBS: unknown database "${d}" (sqlite, postgres)`);
for (const k of KINDS) if (k !== 'ulid' && k !== 'uuid') throw new Error(`BENCH_KINDS: unknown key kind "${k}" (ulid, uuid)`);
const TARGET_EVENTS_PER_S = 100_000;
const TARGET_P99_MS = 50;
const TARGET_RAW_SHARE = 0.4;

/**
 * After the load stops, the server's usage indexer copies the backlog into usage_by_customer
 * (deferred work the HTTP figure does not include): measured by watching its cursor.
 */
async function indexCatchUp(dbFile: string): Promise<{ backlog: number; seconds: number }> {
  const db = new BetterSqlite3(dbFile, { readonly: true, fileMustExist: true });
  attachUsageIndex(db, dbFile, { readonly: true });
  try {
    const behind = () =>
      (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM usage_events').pluck().get() as number) -
      (db.prepare("SELECT last_seq FROM usage_index_state WHERE name = 'usage_by_customer'").pluck().get() as number);
    const backlog = behind();
    const start = performance.now();
    while (behind() > 0 && performance.now() - start < 120_000) await new Promise((r) => setTimeout(r, 50));
    return { backlog, seconds: (performance.now() - start) / 1000 };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The local limit: same rows, same table, better-sqlite3 in one process

async function rawLimit(dir: string, bodies: Buffer[], seconds: number): Promise<{ rows: number; seconds: number }> {
  const file = path.join(dir, 'raw.db');
  const db = openDatabase(file, { durable: DURABLE });
  await migrateToLatest(db); // the real schema
  await db.close();
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${DURABLE ? 'FULL' : 'NORMAL'}`);
  // The compact row (migration 0006): integer scope, customer, metric, times and dimension set.
  const insert = raw.prepare(
    `INSERT INTO usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, idempotency_key) DO NOTHING`,
  );
  // Rows prepared up front, references resolved: the limit measures SQLite, not string building
  // or lookups (the writer caches scope, customer and dimension-set refs the same way).
  const dimensionSets = new Map<string, number>();
  const rows = bodies.map((body) =>
    (JSON.parse(body.toString('utf8')).events as BenchEvent[]).map((e) => {
      const d = e.dimensions;
      const dims = JSON.stringify({ api_key_id: d.api_key_id, feature: d.feature, model: d.model, region: d.region });
      let dimsId = dimensionSets.get(dims);
      if (dimsId === undefined) dimensionSets.set(dims, (dimsId = dimensionSets.size + 1));
      return [e.idempotencyKey, 1 + Number(e.customerExternalId.slice(5)), 1 + METRICS_ORDER.indexOf(e.metric), e.quantity, Date.parse(e.occurredAt), dimsId] as const;
    }),
  );
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  let inserted = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  for (let b = 0; b < rows.length && performance.now() < deadline; b++) {
    const receivedMs = Date.now();
    begin.run();
    for (const r of rows[b]) inserted += insert.run(1, r[0], r[1], r[2], r[3], r[4], r[5], receivedMs).changes;
    commit.run();
  }
  const elapsed = (performance.now() - start) / 1000;
  raw.close();
  return { rows: inserted, seconds: elapsed };
}

// ---------------------------------------------------------------------------------------------

async function runKind(kind: KeyKind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `buffmoney-bench-${kind}-`));
  try {
    process.stdout.write(`\n[${kind}] building ${fmt(POOL_BATCHES)} batches of ${BATCH} events… `);
    const warm = buildPool(kind, 120, Date.now() - 3_600_000);
    const pool = buildPool(kind, POOL_BATCHES, Date.now());
    console.log(`${(pool.bodies.reduce((a, b) => a + b.length, 0) / pool.bodies.length / 1024).toFixed(0)} KB per body`);
    const server = await startServerChild(path.join(dir, 'buffmoney.db'));
    let http: HttpResult;
    let rssMb: number;
    let cpu: number;
    let loadShare = '';
    let catchUp: { backlog: number; seconds: number };
    try {
      const apiKey = await setUpMerchant(server.url, path.join(dir, 'buffmoney.db'));
      await drive(server.url, apiKey, warm.bodies, 3, 'warm-up'); // JIT warm-up, own keys
      const cpu0 = cpuSeconds(server.pid);
      const threads0 = threadCpuSeconds(server.pid);
      const self0 = process.cpuUsage();
      http = await drive(server.url, apiKey, pool.bodies, SECONDS, 'timed');
      cpu = cpuSeconds(server.pid) - cpu0;
      const self = process.cpuUsage(self0);
      const threads = [...threadCpuSeconds(server.pid)]
        .map(([tid, s]) => s - (threads0.get(tid) ?? 0))
        .filter((s) => s > 0.05)
        .sort((a, b) => b - a);
      loadShare =
        `server threads ${threads.map((s) => `${((s / http.seconds) * 100).toFixed(0)}%`).join(' + ')} of a core; ` +
        `load generator ${(((self.user + self.system) / 1e6 / http.seconds) * 100).toFixed(0)}% (user ${((self.user / 1e6 / http.seconds) * 100).toFixed(0)}%)`;
      rssMb = peakRssMb(server.pid);
      catchUp = await indexCatchUp(path.join(dir, 'buffmoney.db'));
    } finally {
      await server.stop();
    }
    const raw = await rawLimit(dir, pool.bodies, SECONDS);
    const sorted = http.latencies.slice().sort((a, b) => a - b);
    const httpRate = http.accepted / http.seconds;
    const rawRate = raw.rows / raw.seconds;
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const ratio = httpRate / rawRate;
    console.log(
      `[${kind}] HTTP: ${fmt(httpRate)} accepted events/s (${fmt((http.accepted + http.duplicates + http.rejected) / http.seconds)} processed/s; ` +
        `${fmt(http.accepted)} accepted, ${fmt(http.duplicates)} duplicates, ${fmt(http.rejected)} rejected, ${http.errors} errors) ` +
        `in ${http.requests} batches over ${http.seconds.toFixed(1)} s with ${CLIENTS} clients`,
    );
    if (http.requests >= POOL_BATCHES) {
      console.log(`[${kind}] (every pre-built batch was sent before the time was up: the rate above is a lower bound)`);
    }
    console.log(
      `[${kind}] batch latency p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; server peak RSS ${rssMb.toFixed(0)} MB; server CPU ${((cpu / http.seconds) * 100).toFixed(0)}% of one core (${loadShare})`,
    );
    console.log(
      `[${kind}] deferred per-customer usage index: ${fmt(catchUp.backlog)} events behind when the load stopped, caught up in ${catchUp.seconds.toFixed(1)} s ` +
        `(${catchUp.seconds > 0 ? fmt(catchUp.backlog / catchUp.seconds) : '—'} events/s, while idle; readers add the unindexed tail meanwhile) ` +
        `→ ingested and indexed: ${fmt(http.accepted / (http.seconds + catchUp.seconds))} events/s over load + catch-up`,
    );
    console.log(
      `[${kind}] raw better-sqlite3 limit: ${fmt(rawRate)} rows/s (${fmt(raw.rows)} rows, 500-row transactions, same table) → HTTP is ${(ratio * 100).toFixed(0)}% of raw`,
    );
    return { kind, httpRate, p99, ratio };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `bench:ingest — ${os.cpus().length} cores, calibration loop ${calibrationMs().toFixed(0)} ms (1e8 adds), load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, node ${process.version}, ` +
    `${DURABLE ? 'durable (synchronous=FULL)' : 'NOT durable (synchronous=NORMAL)'}, ${SECONDS} s per run, ${CLIENTS} clients, ${CUSTOMERS} customers` +
    `${SEND_IDEMPOTENCY_HEADER ? ', Idempotency-Key header on every batch' : ''}`,
);
const results = [];
if (RUNS.includes('burst') && DBS.includes('sqlite')) for (const kind of KINDS) results.push(await runKind(kind));
// PostgreSQL's burst run prints its own figures and verdicts (accepted events/s, p50/p99, the raw
// COPY rate of the same rows and the ratio; bench/ingest-postgres.ts, BENCH_PG_KINDS).
if (RUNS.includes('burst') && DBS.includes('postgres')) await runPostgresIngestBench();
const mixed = [];
if (RUNS.includes('mixed')) for (const db of DBS) mixed.push(await runMixed(db));
const sustained = [];
if (RUNS.includes('sustained')) for (const db of DBS) sustained.push(await runSustained(db));
console.log('\nagainst the targets:');
for (const r of results) {
  const checks = [
    ...(r.kind === 'ulid'
      ? [
          `${fmt(r.httpRate)} ev/s ${r.httpRate >= TARGET_EVENTS_PER_S ? '≥' : '<'} ${fmt(TARGET_EVENTS_PER_S)} ${r.httpRate >= TARGET_EVENTS_PER_S ? 'OK' : 'MISSED'}`,
          `p99 ${r.p99.toFixed(1)} ms ${r.p99 <= TARGET_P99_MS ? '≤' : '>'} ${TARGET_P99_MS} ms ${r.p99 <= TARGET_P99_MS ? 'OK' : 'MISSED'}`,
        ]
      : []),
    `${(r.ratio * 100).toFixed(0)}% of raw ${r.ratio >= TARGET_RAW_SHARE ? '≥' : '<'} 40% ${r.ratio >= TARGET_RAW_SHARE ? 'OK' : 'MISSED'}`,
  ];
  console.log(`  ${r.kind.padEnd(4)}: ${checks.join('; ')}`);
}
for (const line of verdicts(mixed, sustained)) console.log(line);
agent.destroy();
