/**
 * The runs of `npm run bench:ingest` that involve the usage read model (selected with
 * BENCH_RUNS, see bench/ingest.ts):
 *
 * - `mixed`: ingestion at full speed (the burst's clients and batches) while 20
 *   GET /customers/{externalId}/usage a second run over HTTP (random customers, the default
 *   window: the current period), each read sent on schedule whether or not the previous one has
 *   answered. Prints ingest and read p50/p99 and the verdict against ingest p99 ≤ 50 ms (SQLite),
 *   after a control run of the same load without the reads on a fresh database
 *   (BENCH_MIXED_CONTROL=0 skips it), so the reads' own cost is printed beside the machine's.
 * - `sustained`: ingestion at full speed for BENCH_SUSTAINED_SECONDS (300), printing every 30 s
 *   and over the whole run the rate at which events are stored and the rate at which they are
 *   readable through the per-customer index (its cursor), and the backlog between the two.
 *   Target on SQLite: ≥ 60,000 events/s both stored and indexed, sustained (the backlog does not
 *   grow without bound).
 *
 * On each database of BENCH_DBS (sqlite,postgres): SQLite in a temporary folder; PostgreSQL on a
 * private cluster (test/pg/cluster.ts `startCluster()`), skipped with a note when no PostgreSQL
 * binaries are installed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { attachUsageIndex } from '../core/db/usage-index-file.js';
import { startCluster } from '../test/pg/cluster.js';
import { BENCH_PG_SETTINGS } from './ingest-postgres.js';
import {
  BATCH,
  CLIENTS,
  CROCKFORD,
  type HttpResult,
  POOL_BATCHES,
  RawHttpClient,
  SECONDS,
  buildPool,
  drive,
  fmt,
  percentile,
  rawRequest,
  request,
  setUpMerchant,
  startServerChild,
  CUSTOMERS,
  threadCpuSeconds,
} from './ingest-lib.js';

export const SUSTAINED_SECONDS = Number(process.env.BENCH_SUSTAINED_SECONDS ?? 300);
const READS_PER_SECOND = Number(process.env.BENCH_READS_PER_SECOND ?? 20);
const TARGET_MIXED_P99_MS = 50;
const TARGET_SUSTAINED_PER_S = 60_000;

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A database to run against, and how far its per-customer index has read. */
export interface BenchTarget {
  label: 'sqlite' | 'postgres';
  url: string;
  /** Events stored and events indexed, in seq units: on SQLite the highest seq and the indexer's cursor (seqs are dense there). */
  progress(): Promise<{ maxSeq: number; cursor: number }>;
  /** SQLite: the database's write-ahead log right now (how far checkpoints keep up), for the progress lines. */
  walBytes?(): number;
  cleanup(): Promise<void>;
}

export async function openTarget(label: 'sqlite' | 'postgres', run: string): Promise<BenchTarget | undefined> {
  if (label === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `buffmoney-bench-${run}-`));
    const file = path.join(dir, 'buffmoney.db');
    let db: BetterSqlite3.Database | undefined;
    return {
      label,
      url: file,
      async progress() {
        if (!db) {
          db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
          attachUsageIndex(db, file, { readonly: true }); // the index's own file (core/db/usage-index-file.ts)
        }
        const maxSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM usage_events').pluck().get() as number;
        const cursor = db.prepare("SELECT last_seq FROM usage_index_state WHERE name = 'usage_by_customer'").pluck().get() as number;
        return { maxSeq, cursor };
      },
      walBytes() {
        try {
          return fs.statSync(`${file}-wal`).size;
        } catch {
          return 0;
        }
      },
      async cleanup() {
        db?.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  try {
    // The burst's durable settings (fsync, synchronous_commit, full-page writes on): a 200 means stored here too.
    cluster = await startCluster(BENCH_PG_SETTINGS);
  } catch (e) {
    console.log(`[postgres ${run}] skipped: no PostgreSQL cluster could be started (${e instanceof Error ? e.message.split('\n')[0] : e})`);
    return undefined;
  }
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const url = cluster.adminUrl.replace(/\/[^/?]*(\?|$)/, '/bench$1');
  let client: pg.Client | undefined;
  return {
    label,
    url,
    async progress() {
      if (!client) {
        client = new pg.Client({ connectionString: url });
        await client.connect();
      }
      // seqs have gaps on PostgreSQL (the writer draws as many as a batch could need), so events
      // are counted: `maxSeq` is the number stored, `cursor` the number indexed.
      const { rows } = await client.query(
        `SELECT (SELECT count(*) FROM usage_events)::text AS stored,
                (SELECT count(*) FROM usage_events WHERE seq > (SELECT last_seq FROM usage_index_state WHERE name = 'usage_by_customer'))::text AS unindexed`,
      );
      return { maxSeq: Number(rows[0].stored), cursor: Number(rows[0].stored) - Number(rows[0].unindexed) };
    },
    async cleanup() {
      await client?.end().catch(() => {});
      cluster.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Mixed: ingestion at full speed + usage reads

/** GET usage summaries of random customers at `perSecond`, open loop, until `stop()`. */
function startReads(base: string, apiKey: string, perSecond: number) {
  const latencies: number[] = [];
  let errors = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const pending = new Set<Promise<void>>();
  if (perSecond <= 0) return { stop: async () => ({ latencies, errors, maxInFlight }) }; // BENCH_READS_PER_SECOND=0: the same run without reads
  const timer = setInterval(() => {
    const t0 = performance.now();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const p = request(`${base}/api/v1/customers/cust_${Math.floor(Math.random() * CUSTOMERS)}/usage`, 'GET', undefined, { authorization: `Bearer ${apiKey}` })
      .then(
        (res) => {
          if (res.status !== 200) {
            errors++;
            if (errors < 5) console.error(`  read: unexpected ${res.status}: ${res.text.slice(0, 200)}`);
          } else latencies.push(performance.now() - t0);
        },
        (e) => {
          errors++;
          if (errors < 5) console.error(`  read failed: ${e}`);
        },
      )
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  }, 1000 / perSecond);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return { latencies, errors, maxInFlight };
    },
  };
}

/**
 * The same load without the reads, on a fresh database and server set up the same way, run first
 * (BENCH_MIXED_CONTROL, default 1; 0 skips it): what the reads themselves cost ingestion, in the
 * same bench run, apart from what the machine's speed that day costs it.
 */
const MIXED_CONTROL = process.env.BENCH_MIXED_CONTROL !== '0';

/** Where the server's CPU went over a measured window (thread ids; the main thread is the HTTP thread). */
function cpuLine(before: Map<string, number>, after: Map<string, number>, pid: number, http: HttpResult): string {
  const threads = [...after]
    .map(([tid, s]) => ({ tid, s: s - (before.get(tid) ?? 0), main: tid === String(pid) }))
    .filter((t) => t.s > 0.05)
    .sort((a, b) => b.s - a.s);
  const total = threads.reduce((sum, t) => sum + t.s, 0);
  return (
    `server CPU ${((total / http.seconds) * 100).toFixed(0)}% of one core, ${((total * 1e6) / Math.max(1, http.accepted)).toFixed(1)} µs per accepted event; ` +
    `by thread: ${threads.map((t) => `${t.main ? 'HTTP ' : ''}${((t.s / http.seconds) * 100).toFixed(0)}%`).join(', ')}`
  );
}

export async function runMixed(label: 'sqlite' | 'postgres') {
  process.stdout.write(`\n[${label} mixed] building ${fmt(POOL_BATCHES)} batches of ${BATCH} events… `);
  const warm = buildPool('ulid', 120, Date.now() - 3_600_000);
  const pool = buildPool('ulid', POOL_BATCHES, Date.now());
  console.log('done');
  let controlP99: number | undefined;
  if (MIXED_CONTROL) {
    let control: HttpResult;
    let controlCpu = '';
    const target = await openTarget(label, 'mixed-control');
    if (!target) return undefined;
    try {
      const server = await startServerChild(target.url);
      try {
        const apiKey = await setUpMerchant(server.url, target.url);
        await drive(server.url, apiKey, warm.bodies, 3, 'warm-up');
        const cpuBefore = threadCpuSeconds(server.pid);
        control = await drive(server.url, apiKey, pool.bodies, SECONDS, `${label}-control`);
        controlCpu = cpuLine(cpuBefore, threadCpuSeconds(server.pid), server.pid, control);
      } finally {
        await server.stop();
      }
    } finally {
      await target.cleanup();
    }
    const sorted = control.latencies.slice().sort((a, b) => a - b);
    controlP99 = percentile(sorted, 99);
    console.log(
      `[${label} mixed] control, the same load without reads (fresh database): ${fmt(control.accepted / control.seconds)} accepted events/s, ` +
        `batch latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${controlP99.toFixed(1)} ms, ${control.errors} errors`,
    );
    console.log(`[${label} mixed] control: ${controlCpu}`);
  }
  const target = await openTarget(label, 'mixed');
  if (!target) return undefined;
  try {
    const server = await startServerChild(target.url);
    let http: HttpResult;
    let reads: Awaited<ReturnType<ReturnType<typeof startReads>['stop']>>;
    let before: { maxSeq: number; cursor: number };
    let after: { maxSeq: number; cursor: number };
    const loadBefore = load();
    let cpuBefore = new Map<string, number>();
    let cpuAfter = new Map<string, number>();
    try {
      const apiKey = await setUpMerchant(server.url, target.url);
      await drive(server.url, apiKey, warm.bodies, 3, 'warm-up');
      before = await target.progress();
      cpuBefore = threadCpuSeconds(server.pid);
      const readers = startReads(server.url, apiKey, READS_PER_SECOND);
      http = await drive(server.url, apiKey, pool.bodies, SECONDS, `${label}-mixed`);
      reads = await readers.stop();
      cpuAfter = threadCpuSeconds(server.pid);
      after = await target.progress();
    } finally {
      await server.stop();
    }
    const ingest = http.latencies.slice().sort((a, b) => a - b);
    const read = reads.latencies.slice().sort((a, b) => a - b);
    const p99 = percentile(ingest, 99);
    console.log(
      `[${label} mixed] ingest: ${fmt(http.accepted / http.seconds)} accepted events/s over ${http.seconds.toFixed(1)} s, ${http.errors} errors; ` +
        `batch latency p50 ${percentile(ingest, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${ingest[ingest.length - 1]?.toFixed(1)} ms`,
    );
    console.log(
      `[${label} mixed] reads: ${read.length} usage summaries (${(read.length / http.seconds).toFixed(1)}/s, ${reads.errors} errors, at most ${reads.maxInFlight} in flight); ` +
        `latency p50 ${percentile(read, 50).toFixed(1)} ms, p99 ${percentile(read, 99).toFixed(1)} ms, max ${read[read.length - 1]?.toFixed(1)} ms; ` +
        `unindexed tail ${fmt(before.maxSeq - before.cursor)} → ${fmt(after.maxSeq - after.cursor)} events; load ${loadBefore} → ${load()}`,
    );
    console.log(`[${label} mixed] ${cpuLine(cpuBefore, cpuAfter, server.pid, http)}`);
    return { label, p99, controlP99, readP99: percentile(read, 99), reads: read.length, readErrors: reads.errors };
  } finally {
    await target.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Sustained: how fast events become both stored and readable through the index

/**
 * A small pool of request buffers reused round after round for as long as the run lasts (the
 * burst's pre-built pool would need gigabytes for minutes): before a buffer is sent again, the
 * first three characters of each idempotency key are overwritten with the round number, so keys
 * stay unique (duplicates within a round stay duplicates) and time-ordered.
 */
/**
 * The sustained run's request bodies, replayed round after round with fresh idempotency keys
 * (a round tag over the keys' leading characters) and — since the issue's merchant "streams for
 * an hour" — event time that moves on: round r's events occur r × the pool's time span later
 * than round 1's. (Replaying the same two seconds of `occurredAt` 150 times, as this run first
 * did, put every new event in the middle of its customer's history in the per-customer index
 * (keyed by customer, occurredAt, seq): a workload no merchant sends, and one that turns the
 * index's appends into random inserts over the whole table.) Event time stays behind the wall
 * clock: the shift is capped by the time since the run began.
 */
class RoundPool {
  private readonly requests: Buffer[];
  private readonly keyOffsets: number[][];
  /** Per body: each distinct occurredAt (ms) and where it is written. */
  private readonly times: Array<Array<{ ms: number; offsets: number[] }>>;
  private readonly spanMs: number;
  private readonly startedAt = Date.now();
  private next = 0;
  constructor(host: string, apiKey: string, bodies: Buffer[]) {
    this.requests = bodies.map((b) => rawRequest(host, apiKey, b));
    const offsetsOf = (r: Buffer, marker: Buffer) => {
      const out: number[] = [];
      for (let at = r.indexOf(marker); at >= 0; at = r.indexOf(marker, at + 1)) out.push(at + marker.length);
      return out;
    };
    const keyMarker = Buffer.from('"idempotencyKey":"');
    const timeMarker = Buffer.from('"occurredAt":"');
    this.keyOffsets = this.requests.map((r) => offsetsOf(r, keyMarker));
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    this.times = this.requests.map((r) => {
      const byMs = new Map<number, number[]>();
      for (const at of offsetsOf(r, timeMarker)) {
        const ms = Date.parse(r.toString('latin1', at, at + 24));
        min = Math.min(min, ms);
        max = Math.max(max, ms);
        const list = byMs.get(ms) ?? [];
        list.push(at);
        byMs.set(ms, list);
      }
      return [...byMs].map(([ms, offsets]) => ({ ms, offsets }));
    });
    this.spanMs = max - min + 1;
  }
  take(): Buffer {
    const i = this.next % this.requests.length;
    const round = 1 + Math.floor(this.next / this.requests.length);
    this.next++;
    const tag = CROCKFORD[(round >> 10) & 31] + CROCKFORD[(round >> 5) & 31] + CROCKFORD[round & 31];
    const r = this.requests[i];
    for (const at of this.keyOffsets[i]) r.write(tag, at, 'latin1');
    // Capped by the wall clock, so a server faster than the pool's span never sees events from the future.
    const shift = Math.min((round - 1) * this.spanMs, Date.now() - this.startedAt);
    for (const { ms, offsets } of this.times[i]) {
      const iso = new Date(ms + shift).toISOString(); // always 24 characters: the body's length never changes
      for (const at of offsets) r.write(iso, at, 'latin1');
    }
    return r;
  }
}

export async function runSustained(label: 'sqlite' | 'postgres') {
  const target = await openTarget(label, 'sustained');
  if (!target) return undefined;
  try {
    const server = await startServerChild(target.url);
    const samples: Array<{ at: number; accepted: number; maxSeq: number; cursor: number }> = [];
    let accepted = 0;
    let errors = 0;
    let requests = 0;
    const latencies: number[] = [];
    const loadBefore = load();
    let seconds = 0;
    try {
      const apiKey = await setUpMerchant(server.url, target.url);
      const url = new URL(server.url);
      // ~10% duplicates as in the burst; 400 bodies (~20 MB) cycled with fresh keys.
      await drive(server.url, apiKey, buildPool('ulid', 120, Date.now() - 3_600_000).bodies, 3, 'warm-up');
      const pool = new RoundPool(url.host, apiKey, buildPool('ulid', 400, Date.now()).bodies);
      const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawHttpClient.connect(Number(url.port))));
      const start = performance.now();
      const deadline = start + SUSTAINED_SECONDS * 1000;
      const first = await target.progress();
      samples.push({ at: 0, accepted: 0, ...first });
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          await new Promise((r) => setTimeout(r, 5_000));
          if (!sampling) break;
          const at = (performance.now() - start) / 1000;
          const p = await target.progress();
          samples.push({ at, accepted, ...p });
          if (samples.length % 6 === 1) {
            const prev = samples[samples.length - 7];
            const cur = samples[samples.length - 1];
            console.log(
              `[${label} sustained] ${cur.at.toFixed(0).padStart(4)} s: last 30 s stored ${fmt((cur.accepted - prev.accepted) / (cur.at - prev.at))} events/s, ` +
                `indexed ${fmt((cur.cursor - prev.cursor) / (cur.at - prev.at))} events/s; backlog ${fmt(cur.maxSeq - cur.cursor)}; ` +
                `${target.walBytes ? `WAL ${fmt(target.walBytes() / 1048576)} MB; ` : ''}load ${load()}`,
            );
          }
        }
      })();
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < deadline) {
            const t0 = performance.now();
            const res = await client.send(pool.take());
            latencies.push(performance.now() - t0);
            requests++;
            const m = /"accepted":(\d+)/.exec(res.head);
            if (res.status !== 200 || !m) {
              errors++;
              if (errors < 5) console.error(`  unexpected ${res.status}: ${res.head}`);
            } else accepted += Number(m[1]);
          }
        }),
      );
      seconds = (performance.now() - start) / 1000;
      // Sampled at once: once the load stops, the indexer runs as on idle and would catch up.
      const end = { at: seconds, accepted, ...(await target.progress()) };
      sampling = false;
      await sampler;
      samples.push(end);
      for (const c of clients) c.close();
    } finally {
      await server.stop();
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const indexedRate = (last.cursor - first.cursor) / seconds;
    const storedRate = accepted / seconds;
    // The last minute says whether the backlog is steady or still growing.
    const minuteAgo = [...samples].reverse().find((s) => s.at <= last.at - 60) ?? first;
    const backlogTrend = (last.maxSeq - last.cursor - (minuteAgo.maxSeq - minuteAgo.cursor)) / Math.max(1, last.at - minuteAgo.at);
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      `[${label} sustained] ${seconds.toFixed(0)} s, ${CLIENTS} clients, ${fmt(requests)} batches, ${errors} errors: stored ${fmt(storedRate)} accepted events/s; ` +
        `readable through the per-customer index ${fmt(indexedRate)} events/s (its cursor's advance); backlog at the end ${fmt(last.maxSeq - last.cursor)} ` +
        `(${backlogTrend >= 0 ? '+' : ''}${fmt(backlogTrend)} events/s over the last minute); batch latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms; load ${loadBefore} → ${load()}`,
    );
    return { label, storedRate, indexedRate, sustained: Math.min(storedRate, indexedRate) };
  } finally {
    await target.cleanup();
  }
}

export function verdicts(
  mixed: Array<{ label: string; p99: number; controlP99?: number; readP99: number } | undefined>,
  sustained: Array<{ label: string; sustained: number } | undefined>,
): string[] {
  const out: string[] = [];
  for (const m of mixed) {
    if (!m) continue;
    const ok = m.p99 <= TARGET_MIXED_P99_MS;
    out.push(
      `  ${m.label} mixed: ingest p99 ${m.p99.toFixed(1)} ms ${ok ? '≤' : '>'} ${TARGET_MIXED_P99_MS} ms with ${READS_PER_SECOND} reads/s running (read p99 ${m.readP99.toFixed(1)} ms` +
        `${m.controlP99 === undefined ? '' : `; ${m.controlP99.toFixed(1)} ms without the reads`})` +
        (m.label === 'sqlite' ? ` ${ok ? 'OK' : 'MISSED'}` : ' (no target on PostgreSQL)'),
    );
  }
  for (const s of sustained) {
    if (!s) continue;
    const ok = s.sustained >= TARGET_SUSTAINED_PER_S;
    out.push(
      `  ${s.label} sustained: ${fmt(s.sustained)} events/s stored and indexed ${ok ? '≥' : '<'} ${fmt(TARGET_SUSTAINED_PER_S)}` +
        (s.label === 'sqlite' ? ` ${ok ? 'OK' : 'MISSED'}` : ' (no target on PostgreSQL)'),
    );
  }
  return out;
}
