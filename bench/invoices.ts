/**
 * `npm run bench:invoices` — invoice generation at month-end scale.
 *
 * Builds a SQLite file with BENCH_CONTRACTS (10,000) customers on monthly contracts and
 * BENCH_EVENTS (10,000,000) usage events in May 2026 (random metrics, quantities and dimension
 * sets, written the way ingestion and the indexer store them), then, in a fresh child process
 * per measurement:
 * - the bare aggregation: one SQL GROUP BY (customer, metric, dimensions) over the same events;
 * - the invoice run: generateInvoices for 1 June 01:00Z (every contract, one invoice each).
 * Prints both durations, their ratio (target: the run within 2× the bare aggregation) and each
 * child's peak RSS. With BENCH_SIZES="1000000,10000000" (the default) it builds and measures two
 * sizes with the same contracts: peak RSS that stays flat while the events grow tenfold is what
 * "memory flat in the number of events" means.
 *
 * Not part of `npm test`: figures to compare, never assertions.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { ManualClock, createContext } from '../core/context/index.js';
import { openDatabase } from '../core/db/index.js';
import { migrateToLatest } from '../core/db/migrate.js';
import { generateInvoices } from '../core/invoices/index.js';
import { metricCode } from '../core/usage/batch.js';
import { seededRandom } from './random.js';

const here = fileURLToPath(import.meta.url);
const MAY = Date.parse('2026-05-01T00:00:00Z');
const JUNE = Date.parse('2026-06-01T00:00:00Z');
const METRICS = ['tokens_input', 'tokens_input', 'tokens_output', 'tokens_output', 'agent_run', 'image_generation'] as const;
const MODELS = ['gpt-5', 'gpt-5-mini', 'claude-opus-4', 'qwen3-235b'];
const REGIONS = ['us-east-1', 'eu-west-1', 'cn-shanghai'];

const { int } = seededRandom(7);

async function build(file: string, contracts: number, events: number): Promise<void> {
  const db = openDatabase(file, { durable: false });
  await migrateToLatest(db);
  await db.close();
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = OFF');
  const now = '2026-04-30T00:00:00.000Z';
  const prices = JSON.stringify([
    { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002', dimensions: { model: 'gpt-5' } },
    { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.00005' },
    {
      metric: 'tokens_output',
      model: 'volume',
      tiers: [
        { upTo: '1000000', unitPriceMinor: '0.0004' },
        { upTo: null, unitPriceMinor: '0.0003' },
      ],
    },
    {
      metric: 'agent_run',
      model: 'graduated',
      tiers: [
        { upTo: '1000', unitPriceMinor: '2' },
        { upTo: null, unitPriceMinor: '1' },
      ],
    },
    { metric: 'image_generation', model: 'package', packageSize: '100', packagePriceMinor: '150' },
  ]);
  raw.transaction(() => {
    raw
      .prepare(
        `INSERT INTO merchants (id, name, email, password_hash, status, service_fee_bps, created_at, updated_at) VALUES ('mer_bench', 'Bench', 'bench@example.com', 'x', 'active', 80, ?, ?)`,
      )
      .run(now, now);
    raw.prepare(`INSERT INTO usage_scopes (merchant_id, environment) VALUES ('mer_bench', 'live')`).run();
    raw
      .prepare(
        `INSERT INTO products (id, merchant_id, environment, key, name, description, status, created_at, updated_at) VALUES ('prd_bench', 'mer_bench', 'live', 'chat', 'Chat', NULL, 'active', ?, ?)`,
      )
      .run(now, now);
    raw
      .prepare(
        `INSERT INTO rate_cards (id, merchant_id, environment, product_id, version, currency, prices, status, content_hash, created_at, updated_at, published_at)
         VALUES ('rc_bench', 'mer_bench', 'live', 'prd_bench', 1, 'USD', ?, 'published', 'x', ?, ?, ?)`,
      )
      .run(prices, now, now, now);
    raw
      .prepare(
        `INSERT INTO fx_rates (id, base, quote, rate, effective_at, source, entered_by, import_batch, created_at) VALUES ('fxr_bench', 'USD', 'CNY', '7.1234', ?, 'bench', NULL, NULL, ?)`,
      )
      .run(now, now);
    const customer = raw.prepare(
      `INSERT INTO customers (id, merchant_id, environment, external_id, name, email, metadata, status, usage_locked_until, auto_created, created_at, updated_at)
       VALUES (?, 'mer_bench', 'live', ?, ?, NULL, '{}', 'active', NULL, 0, ?, ?)`,
    );
    const ref = raw.prepare('INSERT INTO usage_customers (customer_id) VALUES (?)');
    const contract = raw.prepare(
      `INSERT INTO contracts (id, merchant_id, environment, customer_id, product_id, rate_card_id, billing_cycle, starts_at, ends_at, settlement_currency, status, created_at, updated_at, archived_at)
       VALUES (?, 'mer_bench', 'live', ?, 'prd_bench', 'rc_bench', 'monthly_calendar', '2026-05-01T00:00:00.000Z', NULL, 'USD', 'active', ?, ?, NULL)`,
    );
    for (let c = 0; c < contracts; c++) {
      const id = `cus_${String(c).padStart(26, '0')}`;
      customer.run(id, `user_${c}`, `User ${c}`, now, now);
      ref.run(id);
      contract.run(`ctr_${String(c).padStart(26, '0')}`, id, now, now);
    }
    const dims = raw.prepare('INSERT INTO usage_dimension_sets (canonical) VALUES (?)');
    for (const model of MODELS) for (const region of REGIONS) dims.run(JSON.stringify({ model, region }));
  })();
  const scope = raw.prepare(`SELECT id FROM usage_scopes WHERE merchant_id = 'mer_bench'`).pluck().get() as number;
  const dimCount = MODELS.length * REGIONS.length;
  const insertEvent = raw.prepare(
    'INSERT INTO usage_events (scope, idempotency_key, customer, metric, quantity, occurred_at, dimensions, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertIndexed = raw.prepare('INSERT INTO usage_by_customer (customer, occurred_at, seq, metric, quantity, dimensions) VALUES (?, ?, ?, ?, ?, ?)');
  const span = JUNE - MAY;
  const CHUNK = 200_000;
  let seq = 0;
  for (let start = 0; start < events; start += CHUNK) {
    raw.transaction(() => {
      for (let i = start; i < Math.min(events, start + CHUNK); i++) {
        const customerRef = 1 + int(contracts);
        const metric = metricCode(METRICS[int(METRICS.length)]);
        const quantity = String(1 + int(5000));
        const at = MAY + Math.floor((i / events) * span);
        const dims = 1 + int(dimCount);
        seq = Number(insertEvent.run(scope, `k${i}`, customerRef, metric, quantity, at, dims, at).lastInsertRowid);
        insertIndexed.run(customerRef, at, seq, metric, quantity, dims);
      }
    })();
  }
  // Everything is indexed (as an hour after month end, with the indexer idle): the cursor says so.
  raw.prepare(`UPDATE usage_index_state SET last_seq = ? WHERE name = 'usage_by_customer'`).run(seq);
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.close();
}

/** Child process: one measurement, printed as JSON. */
async function measure(file: string, what: 'bare' | 'invoices'): Promise<void> {
  const started = process.hrtime.bigint();
  let detail: Record<string, unknown> = {};
  if (what === 'bare') {
    const raw = new BetterSqlite3(file, { readonly: true });
    let groups = 0;
    for (const _ of raw
      .prepare(
        'SELECT customer, metric, dimensions, CAST(SUM(CAST(quantity AS BIGINT)) AS TEXT) AS total FROM usage_by_customer WHERE occurred_at >= ? AND occurred_at < ? GROUP BY customer, metric, dimensions',
      )
      .iterate(MAY, JUNE))
      groups++;
    raw.close();
    detail = { groups };
  } else {
    const db = openDatabase(file, { durable: false });
    const ctx = createContext({ db, clock: new ManualClock('2026-06-01T01:00:00Z'), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
    const report = await generateInvoices(ctx);
    await db.close();
    detail = { created: report.created.length, failed: report.failed.length, firstFailure: report.failed[0]?.message };
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ ms, peakRssMb: process.resourceUsage().maxRSS / 1024, ...detail }));
}

function child(file: string, what: 'bare' | 'invoices'): { ms: number; peakRssMb: number } & Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', here, '--measure', what, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') return measure(process.argv[4], process.argv[3] as 'bare' | 'invoices');
  const contracts = Number(process.env.BENCH_CONTRACTS ?? 10_000);
  const sizes = (process.env.BENCH_SIZES ?? process.env.BENCH_EVENTS ?? '1000000,10000000').split(',').map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buffmoney-bench-invoices-'));
  console.log(`bench:invoices — ${contracts.toLocaleString('en')} contracts, May 2026, ${os.cpus().length} cores`);
  try {
    for (const events of sizes) {
      const file = path.join(dir, `bench-${events}.db`);
      const t0 = Date.now();
      await build(file, contracts, events);
      console.log(`\n${events.toLocaleString('en')} events: built in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(fs.statSync(file).size / 1e9).toFixed(2)} GB)`);
      if (process.env.BENCH_BUILD_ONLY) {
        console.log(`  built ${file} (not measured: BENCH_BUILD_ONLY)`);
        continue;
      }
      const bare = child(file, 'bare');
      const run = child(file, 'invoices');
      const ratio = run.ms / bare.ms;
      console.log(`  bare aggregation (one GROUP BY):  ${(bare.ms / 1000).toFixed(2)} s   peak RSS ${bare.peakRssMb.toFixed(0)} MB   (${bare.groups} groups)`);
      console.log(
        `  invoice run (generateInvoices):   ${(run.ms / 1000).toFixed(2)} s   peak RSS ${run.peakRssMb.toFixed(0)} MB   (${run.created} invoices, ${run.failed} failed)`,
      );
      console.log(`  ratio run / bare: ${ratio.toFixed(2)}×   target ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'}`);
      if (run.failed) console.log(`  first failure: ${run.firstFailure}`);
      if (process.env.BENCH_KEEP) console.log(`  kept ${file}`);
      else fs.rmSync(file, { force: true });
      fs.rmSync(`${file}-wal`, { force: true });
      fs.rmSync(`${file}-shm`, { force: true });
    }
  } finally {
    if (!process.env.BENCH_KEEP && !process.env.BENCH_BUILD_ONLY) fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
