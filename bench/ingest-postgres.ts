/**
 * The PostgreSQL run of `npm run bench:ingest` (also standalone: `npx tsx bench/ingest-postgres.ts`).
 *
 * Starts a private PostgreSQL cluster (test/pg/cluster.ts) with durability ON — fsync and
 * synchronous_commit as in production, so a 200 means the events are on disk — creates a
 * database, runs the real server (server/main.ts) on it in a child process, sets a merchant up
 * as bench/ingest.ts does (customers through the API, past months invoiced) and drives the same
 * pre-built 500-event batches (~10% duplicates) over keep-alive loopback HTTP. Then, in the same
 * run, the raw rate: the same rows (duplicates removed, references resolved to the integers the
 * writer would store) `COPY`ed into `usage_events` of a freshly migrated database on the same
 * cluster, `BENCH_COPY_ROWS` (500: one HTTP batch) rows per COPY, each COPY its own transaction.
 *
 * Prints accepted and processed events/s, p50/p99 batch latency, the CPU of the server and of
 * PostgreSQL (every process of the cluster), the COPY rate and the ratio, with verdicts against
 * the targets of issue 12: ≥ 50,000 accepted events/s for time-ordered keys, ≥ 40% of raw COPY.
 *
 * Environment: as bench/ingest.ts (BENCH_SECONDS, BENCH_CLIENTS, BENCH_CUSTOMERS,
 * BENCH_IDEMPOTENCY_HEADER, BENCH_TRACE, BENCH_SERVER_STDERR, BENCH_INVOICES), plus
 * BENCH_PG_KINDS (ulid; `ulid,uuid` adds random keys), BENCH_COPY_ROWS (500), BENCH_PG_POOL
 * (the server's BUFFMONEY_DB_POOL; unset: the server's default), BENCH_PG_STATEMENTS (1: print
 * PostgreSQL's top statements by execution time during the run, from pg_stat_statements).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { startCluster } from '../test/pg/cluster.js';
import {
  BATCH,
  type BenchEvent,
  CLIENTS,
  CUSTOMERS,
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
  percentile,
  setUpMerchant,
  startServerChild,
  threadCpuSeconds,
} from './ingest-lib.js';

const TARGET_EVENTS_PER_S = 50_000;
const TARGET_COPY_SHARE = 0.4;
const COPY_ROWS = Number(process.env.BENCH_COPY_ROWS ?? BATCH);

/**
 * The cluster's settings for the bench. Durability exactly as production (fsync, synchronous
 * commit, full-page writes); only memory and checkpoint spacing are sized for a write burst, as
 * an operator would for an ingest-heavy database, so a 5–10 s run does not measure a checkpoint
 * storm of a 16 MB-WAL default.
 */
const STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';

export const BENCH_PG_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '256MB',
  wal_buffers: '16MB',
  max_wal_size: '4GB',
  min_wal_size: '1GB',
  checkpoint_timeout: '15min',
  wal_compression: 'off',
  max_connections: '100',
  // BENCH_PG_STATEMENTS=1: PostgreSQL's own account of where its time went (pg_stat_statements).
  ...(STATEMENTS ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {}),
};

/** BENCH_PG_STATEMENTS=1: zeroes pg_stat_statements just before the measured run. */
async function resetStatementStats(dbUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  await client.query('create extension if not exists pg_stat_statements');
  await client.query('select pg_stat_statements_reset()');
  return client;
}

/** The statements that took PostgreSQL's time during the run (execution time, calls, rows). */
async function printStatementStats(client: pg.Client, tag: string): Promise<void> {
  try {
    const { rows } = await client.query<{ ms: string; calls: string; rows: string; q: string }>(
      `select round(total_exec_time::numeric) as ms, calls, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as q
       from pg_stat_statements order by total_exec_time desc limit 10`,
    );
    console.log(`[${tag}] PostgreSQL's statements by execution time during the run:`);
    for (const r of rows) console.log(`  ${r.ms} ms, ${r.calls} calls, ${r.rows} rows: ${r.q}`);
  } finally {
    await client.end();
  }
}

/** Every process of the cluster: the postmaster and its children, by pid. */
function clusterPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(fields[1]) === postmaster) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** CPU seconds of each process of the cluster, by pid (a process that exits meanwhile is lost, as its CPU). */
function clusterCpu(postmaster: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of clusterPids(postmaster)) {
    try {
      out.set(pid, cpuSeconds(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
  return s;
}

/** The cluster's busiest processes over an interval, by role (backends by their connection's last query state). */
function busiestProcesses(before: Map<number, number>, after: Map<number, number>, seconds: number): string {
  const byRole = new Map<string, number>();
  for (const [pid, t] of after) {
    let role = 'gone';
    try {
      role = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {}
    // "postgres: postgres bench_ulid_0 127.0.0.1(51234) idle" → "backend"; "postgres: walwriter" stays.
    role = /^postgres: \S+ \S+ [\d.]+\(\d+\)/.test(role) ? `backend ${pid}` : role.replace(/^postgres: /, '').replace(/^\/\S+\/postgres.*/, 'postmaster');
    byRole.set(role, (byRole.get(role) ?? 0) + t - (before.get(pid) ?? 0));
  }
  return [...byRole]
    .filter(([, t]) => t / seconds >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([role, t]) => `${role} ${((t / seconds) * 100).toFixed(0)}%`)
    .join(', ');
}

async function postmasterPid(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ setting: string }>("select setting from pg_settings where name = 'data_directory'");
    return Number(fs.readFileSync(path.join(rows[0].setting, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } finally {
    await client.end();
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return adminUrl.replace(/\/[^/]*$/, `/${name}`);
}

async function showSettings(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = Object.keys(BENCH_PG_SETTINGS);
    const { rows } = await client.query<{ name: string; setting: string; unit: string | null }>(
      'select name, current_setting(name) as setting, null as unit from pg_settings where name = any($1) order by name',
      [names],
    );
    const { rows: version } = await client.query<{ v: string }>("select current_setting('server_version') as v");
    return `PostgreSQL ${version[0].v}: ${rows.map((r) => `${r.name}=${r.setting}${r.unit ?? ''}`).join(' ')}`;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The raw rate: the same rows COPYed into the same table of a freshly migrated database

/**
 * The pool's rows as COPY text, COPY_ROWS per chunk: first occurrence of each key only (COPY has
 * no ON CONFLICT; the duplicates are what the writer answers without storing), references
 * resolved to integers as the writer stores them (scope 1, customer refs, dimension-set ids).
 */
function copyChunks(bodies: Buffer[]): Buffer[] {
  const seen = new Set<string>();
  const dimensionSets = new Map<string, number>();
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  const receivedMs = Date.now();
  for (const body of bodies) {
    for (const e of JSON.parse(body.toString('utf8')).events as BenchEvent[]) {
      if (seen.has(e.idempotencyKey)) continue;
      seen.add(e.idempotencyKey);
      const d = e.dimensions;
      const dims = JSON.stringify({ api_key_id: d.api_key_id, feature: d.feature, model: d.model, region: d.region });
      let dimsId = dimensionSets.get(dims);
      if (dimsId === undefined) dimensionSets.set(dims, (dimsId = dimensionSets.size + 1));
      lines.push(
        `1\t${e.idempotencyKey}\t${1 + Number(e.customerExternalId.slice(5))}\t${1 + METRICS_ORDER.indexOf(e.metric)}\t${e.quantity}\t${Date.parse(e.occurredAt)}\t${dimsId}\t${receivedMs}\n`,
      );
      if (lines.length === COPY_ROWS) {
        chunks.push(Buffer.from(lines.join('')));
        lines = [];
      }
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('')));
  return chunks;
}

async function rawCopyRate(adminUrl: string, postmaster: number, bodies: Buffer[], seconds: number, n: number) {
  const url = await createDatabase(adminUrl, `bench_copy_${n}`);
  const db = openDatabase(url);
  await migrateToLatest(db); // the real schema: the same table, its one unique index
  await db.close();
  const chunks = copyChunks(bodies);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let rows = 0;
  const cpu0 = clusterCpu(postmaster);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  for (let i = 0; i < chunks.length && performance.now() < deadline; i++) {
    const stream = client.query(copyFrom('copy usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at) from stdin'));
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(chunks[i]);
    });
    rows += stream.rowCount ?? 0;
  }
  const elapsed = (performance.now() - start) / 1000;
  const pgCpu = cpuSince(cpu0, clusterCpu(postmaster));
  await client.end();
  return { rows, seconds: elapsed, pgCpu, ranOut: rows > 0 && elapsed < seconds * 0.95 };
}

// ---------------------------------------------------------------------------------------------

export interface PostgresIngestResult {
  kind: KeyKind;
  httpRate: number;
  p50: number;
  p99: number;
  copyRate: number;
  ratio: number;
}

async function runKind(kind: KeyKind, adminUrl: string, postmaster: number, n: number): Promise<PostgresIngestResult> {
  const tag = `pg ${kind}`;
  process.stdout.write(`\n[${tag}] building ${fmt(POOL_BATCHES)} batches of ${BATCH} events… `);
  const warm = buildPool(kind, 120, Date.now() - 3_600_000);
  const pool = buildPool(kind, POOL_BATCHES, Date.now());
  console.log(`${(pool.bodies.reduce((a, b) => a + b.length, 0) / pool.bodies.length / 1024).toFixed(0)} KB per body`);
  const dbUrl = await createDatabase(adminUrl, `bench_${kind}_${n}`);
  const extraEnv: Record<string, string> = {};
  if (process.env.BENCH_PG_POOL) extraEnv.BUFFMONEY_DB_POOL = process.env.BENCH_PG_POOL;
  const server = await startServerChild(dbUrl, extraEnv);
  let http: Awaited<ReturnType<typeof drive>>;
  let serverCpu: number;
  let pgCpu: number;
  let threads: string;
  let pgBusiest: string;
  let loadGen: string;
  const load0 = os.loadavg();
  try {
    const apiKey = await setUpMerchant(server.url, dbUrl);
    await drive(server.url, apiKey, warm.bodies, 3, 'warm-up'); // JIT warm-up, own keys
    const cpu0 = cpuSeconds(server.pid);
    const threads0 = threadCpuSeconds(server.pid);
    const pg0 = clusterCpu(postmaster);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const statements = STATEMENTS ? await resetStatementStats(dbUrl) : undefined;
    http = await drive(server.url, apiKey, pool.bodies, SECONDS, tag);
    if (statements) await printStatementStats(statements, tag);
    serverCpu = cpuSeconds(server.pid) - cpu0;
    const pg1 = clusterCpu(postmaster);
    pgCpu = cpuSince(pg0, pg1);
    pgBusiest = busiestProcesses(pg0, pg1, (performance.now() - t0) / 1000);
    const self = process.cpuUsage(self0);
    threads = [...threadCpuSeconds(server.pid)]
      .map(([tid, s]) => s - (threads0.get(tid) ?? 0))
      .filter((s) => s > 0.05)
      .sort((a, b) => b - a)
      .map((s) => `${((s / http.seconds) * 100).toFixed(0)}%`)
      .join(' + ');
    loadGen = `${(((self.user + self.system) / 1e6 / http.seconds) * 100).toFixed(0)}%`;
  } finally {
    await server.stop();
  }
  const load1 = os.loadavg();
  const raw = await rawCopyRate(adminUrl, postmaster, pool.bodies, SECONDS, n);
  const sorted = http.latencies.slice().sort((a, b) => a - b);
  const httpRate = http.accepted / http.seconds;
  const copyRate = raw.rows / raw.seconds;
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const ratio = httpRate / copyRate;
  const pct = (s: number, over: number) => `${((s / over) * 100).toFixed(0)}%`;
  console.log(
    `[${tag}] HTTP: ${fmt(httpRate)} accepted events/s (${fmt((http.accepted + http.duplicates + http.rejected) / http.seconds)} processed/s; ` +
      `${fmt(http.accepted)} accepted, ${fmt(http.duplicates)} duplicates, ${fmt(http.rejected)} rejected, ${http.errors} errors) ` +
      `in ${http.requests} batches over ${http.seconds.toFixed(1)} s with ${CLIENTS} clients`,
  );
  if (http.requests >= POOL_BATCHES) console.log(`[${tag}] (every pre-built batch was sent before the time was up: the rate above is a lower bound)`);
  console.log(
    `[${tag}] batch latency p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; CPU of one core: server ${pct(serverCpu, http.seconds)} (threads ${threads}), ` +
      `PostgreSQL ${pct(pgCpu, http.seconds)} (all its processes), load generator ${loadGen}; load average ${load0.map((l) => l.toFixed(2)).join(' ')} before, ${load1
        .map((l) => l.toFixed(2))
        .join(' ')} after`,
  );
  console.log(`[${tag}] PostgreSQL's processes (of one core): ${pgBusiest}`);
  console.log(
    `[${tag}] raw COPY: ${fmt(copyRate)} rows/s (${fmt(raw.rows)} rows, ${COPY_ROWS} rows per COPY, each its own transaction, same table freshly migrated; ` +
      `PostgreSQL CPU ${pct(raw.pgCpu, raw.seconds)})${raw.ranOut ? ' (ran out of rows early)' : ''} → HTTP is ${(ratio * 100).toFixed(0)}% of raw COPY`,
  );
  return { kind, httpRate, p50, p99, copyRate, ratio };
}

export async function runPostgresIngestBench(): Promise<PostgresIngestResult[]> {
  const kinds = (process.env.BENCH_PG_KINDS ?? 'ulid').split(',') as KeyKind[];
  for (const k of kinds) if (k !== 'ulid' && k !== 'uuid') throw new Error(`BENCH_PG_KINDS: unknown key kind "${k}" (ulid, uuid)`);
  const cluster = await startCluster(BENCH_PG_SETTINGS);
  const results: PostgresIngestResult[] = [];
  try {
    const postmaster = await postmasterPid(cluster.adminUrl);
    console.log(
      `bench:ingest (PostgreSQL) — ${os.cpus().length} cores shared by server, PostgreSQL and load generator, calibration loop ${calibrationMs().toFixed(0)} ms (1e8 adds), ` +
        `load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}, node ${process.version}, ${SECONDS} s per run, ${CLIENTS} clients, ${CUSTOMERS} customers` +
        `${SEND_IDEMPOTENCY_HEADER ? ', Idempotency-Key header on every batch' : ''}`,
    );
    console.log(`  ${await showSettings(cluster.adminUrl)}`);
    for (let i = 0; i < kinds.length; i++) results.push(await runKind(kinds[i], cluster.adminUrl, postmaster, i));
  } finally {
    cluster.stop();
  }
  console.log('\nPostgreSQL against the targets:');
  for (const r of results) {
    const checks = [
      ...(r.kind === 'ulid'
        ? [`${fmt(r.httpRate)} ev/s ${r.httpRate >= TARGET_EVENTS_PER_S ? '≥' : '<'} ${fmt(TARGET_EVENTS_PER_S)} ${r.httpRate >= TARGET_EVENTS_PER_S ? 'OK' : 'MISSED'}`]
        : []),
      `${(r.ratio * 100).toFixed(0)}% of raw COPY ${r.ratio >= TARGET_COPY_SHARE ? '≥' : '<'} 40% ${r.ratio >= TARGET_COPY_SHARE ? 'OK' : 'MISSED'}`,
    ];
    console.log(`  ${r.kind.padEnd(4)}: ${checks.join('; ')}`);
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runPostgresIngestBench();
  agent.destroy();
}
