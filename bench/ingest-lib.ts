/**
 * The pieces of the ingest benchmarks (bench/ingest.ts and its runs): the pre-built request
 * bodies, the real server in a child process on any database URL, the lean HTTP load generator,
 * the merchant set-up through the public API, percentiles and machine facts. Settings come from
 * the environment (see bench/ingest.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../core/db/index.js';
import { ManualClock, createContext } from '../core/context/index.js';
import { FxRateInput, setFxRate } from '../core/fx/index.js';
import { generateInvoices } from '../core/invoices/index.js';
import { USAGE_METRICS } from '../core/usage/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 6);
export const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 1000);
export const DURABLE = process.env.BENCH_DURABLE !== '0';
/** BENCH_TRACE=1: also print the worst batch latency per 250 ms of the run. */
export const TRACE = process.env.BENCH_TRACE === '1';
/** Every customer on a contract with its past months invoiced (periods closed) before the load (BENCH_INVOICES=0: none). */
export const WITH_INVOICES = process.env.BENCH_INVOICES !== '0';
export const SEND_IDEMPOTENCY_HEADER = process.env.BENCH_IDEMPOTENCY_HEADER === '1';
export const BATCH = 500;
export const DUPLICATE_SHARE = 0.1;
/** Enough batches for ~220,000 events/s over the whole run (a run that uses them all says so: its rate is then a lower bound). */
export const POOL_BATCHES = Math.ceil((SECONDS * 220_000) / BATCH);

export type KeyKind = 'ulid' | 'uuid';

// ---------------------------------------------------------------------------------------------
// Data

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export function ulidLike(ms: number): string {
  let t = '';
  for (let i = 0; i < 10; i++) {
    t = CROCKFORD[ms % 32] + t;
    ms = Math.floor(ms / 32);
  }
  const r = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += CROCKFORD[r[i] & 31];
  return t + s;
}

export const MODELS = ['gpt-5', 'gpt-5-mini', 'claude-opus-4', 'claude-sonnet-4', 'llama-4-70b', 'qwen3-235b'];
export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'cn-shanghai'];
export const FEATURES = ['chat', 'batch', 'agent'];
export const METRICS = ['tokens_input', 'tokens_input', 'tokens_output', 'tokens_output', 'agent_run', 'image_generation'];
export const METRICS_ORDER: readonly string[] = USAGE_METRICS;
export const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)];

export interface BenchEvent {
  customerExternalId: string;
  idempotencyKey: string;
  metric: string;
  quantity: string;
  occurredAt: string;
  dimensions: Record<string, string>;
}

/** Pre-built request bodies: each ~10% duplicates (retries of earlier keys, a few within the batch). */
/**
 * Only the bodies are kept: holding ~1.6 million event objects on the load generator's heap
 * would make its every major GC mark them all (pauses that show up as batch latency).
 */
export function buildPool(kind: KeyKind, batches: number, startMs: number): { bodies: Buffer[] } {
  const bodies: Buffer[] = [];
  const recent: string[] = [];
  let ms = startMs;
  const occurredBase = Date.now() - 60_000;
  for (let b = 0; b < batches; b++) {
    const batch: BenchEvent[] = [];
    for (let i = 0; i < BATCH; i++) {
      let key: string;
      if (Math.random() < DUPLICATE_SHARE && (recent.length > 0 || batch.length > 0)) {
        key = recent.length === 0 || (Math.random() < 0.1 && batch.length > 0) ? pick(batch).idempotencyKey : pick(recent);
      } else {
        if (i % 25 === 0) ms++; // SDKs stamp keys as events happen: ~25 per millisecond here
        key = kind === 'ulid' ? ulidLike(ms) : randomUUID();
      }
      batch.push({
        customerExternalId: `cust_${Math.floor(Math.random() * CUSTOMERS)}`,
        idempotencyKey: key,
        metric: pick(METRICS),
        quantity: String(1 + Math.floor(Math.random() * 200_000)),
        occurredAt: new Date(occurredBase + b * 5 + (i % 5)).toISOString(),
        dimensions: { model: pick(MODELS), region: pick(REGIONS), feature: pick(FEATURES), api_key_id: `ak_${Math.floor(Math.random() * 50)}` },
      });
    }
    for (let i = 0; i < 40; i++) recent.push(batch[Math.floor(Math.random() * BATCH)].idempotencyKey);
    if (recent.length > 20_000) recent.splice(0, recent.length - 20_000);
    bodies.push(Buffer.from(JSON.stringify({ events: batch })));
  }
  return { bodies };
}

// ---------------------------------------------------------------------------------------------
// Server child process

export interface ServerChild {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startServerChild(dbUrl: string, extraEnv: Record<string, string> = {}): Promise<ServerChild> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, BUFFMONEY_DB: dbUrl, PORT: '0', HOST: '127.0.0.1', BUFFMONEY_DURABLE: DURABLE ? '1' : '0', NODE_ENV: 'development', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
    if (process.env.BENCH_SERVER_STDERR === '1') process.stderr.write(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU seconds per thread of a process (utime + stime), by thread id. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
}

// ---------------------------------------------------------------------------------------------
// HTTP client

export const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS * 2 });

export function request(url: string, method: string, body: Buffer | string | undefined, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function api(base: string, method: string, p: string, body: unknown, auth?: string) {
  const res = await request(`${base}${p}`, method, body === undefined ? undefined : JSON.stringify(body), auth ? { authorization: `Bearer ${auth}` } : {});
  if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${res.text}`);
  return JSON.parse(res.text);
}

export async function setUpMerchant(base: string, dbFile: string): Promise<string> {
  const signup = await api(base, 'POST', '/api/v1/merchants', { name: 'Bench AI Inc.', email: `bench-${Date.now()}@example.com`, password: 'correct horse battery' });
  const key = await api(base, 'POST', '/api/v1/merchants/me/generate-key', {}, signup.token);
  // Customers through the real API: auto-create on first usage, then switch it off again.
  await api(base, 'PATCH', '/api/v1/merchants/me', { autoCreateCustomers: true }, signup.token);
  const now = new Date(Date.now() - 120_000).toISOString();
  for (let start = 0; start < CUSTOMERS; start += BATCH) {
    const events = [];
    for (let i = start; i < Math.min(CUSTOMERS, start + BATCH); i++) {
      events.push({ customerExternalId: `cust_${i}`, idempotencyKey: `setup-${i}`, metric: 'agent_run', quantity: '0', occurredAt: now });
    }
    await api(base, 'POST', '/api/v1/usage-events', { events }, key.apiKey);
  }
  await api(base, 'PATCH', '/api/v1/merchants/me', { autoCreateCustomers: false }, signup.token);
  if (WITH_INVOICES) await invoicePastMonths(base, key.apiKey, dbFile);
  return key.apiKey as string;
}

/**
 * Puts every customer on a monthly contract that started two months ago and invoices the months
 * that ended (through the core, on a second connection to the server's file, as the scheduler
 * would): the load then runs with invoices present and every customer's earlier periods closed.
 */
export async function invoicePastMonths(base: string, apiKey: string, dbFile: string): Promise<void> {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 1)).toISOString();
  const product = await api(base, 'POST', '/api/v1/products', { key: 'bench', name: 'Bench' }, apiKey);
  const card = await api(
    base,
    'POST',
    `/api/v1/products/${product.id}/rate-cards`,
    {
      currency: 'USD',
      prices: [
        { metric: 'tokens_input', model: 'per_unit', unitPriceMinor: '0.0002' },
        { metric: 'tokens_output', model: 'per_unit', unitPriceMinor: '0.0004' },
        { metric: 'agent_run', model: 'per_unit', unitPriceMinor: '2' },
        { metric: 'image_generation', model: 'package', packageSize: '100', packagePriceMinor: '150' },
      ],
    },
    apiKey,
  );
  await api(base, 'POST', `/api/v1/rate-cards/${card.id}/publish`, undefined, apiKey);
  for (let i = 0; i < CUSTOMERS; i++) {
    await api(
      base,
      'POST',
      '/api/v1/contracts',
      { customerExternalId: `cust_${i}`, rateCardId: card.id, billingCycle: 'monthly_calendar', startsAt: start, settlementCurrency: 'USD' },
      apiKey,
    );
  }
  const db = openDatabase(dbFile, { durable: false });
  try {
    const ctx = createContext({ db, clock: new ManualClock(now), secrets: { jwtSecret: new Uint8Array(32), dataKey: new Uint8Array(32) } });
    await setFxRate(ctx, FxRateInput.parse({ from: 'USD', to: 'CNY', rate: '7.1234', effectiveAt: start, source: 'bench' }), null);
    const report = await generateInvoices(ctx, { asOf: now, graceMs: 0 });
    if (report.failed.length > 0) throw new Error(`invoice run failed: ${report.failed[0].message}`);
    console.log(`  with invoices present: ${report.created.length} invoices, every customer's earlier periods closed`);
  } finally {
    await db.close();
  }
}

export interface HttpResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  requests: number;
  seconds: number;
  latencies: number[];
  errors: number;
}

/**
 * One keep-alive HTTP/1.1 connection that sends a request and reads its response, with as little
 * work as possible on this side: the load generator shares the 2 cores with the server, so
 * every microsecond it spends is one the server does not get. Requests are written as one
 * buffer (request line, headers, body); the response is framed by its Content-Length.
 */
export class RawHttpClient {
  private socket!: net.Socket;
  private chunks: Buffer[] = [];
  private size = 0;
  private waiter: ((r: { status: number; head: string }) => void) | undefined;
  private failer: ((e: Error) => void) | undefined;

  static async connect(port: number): Promise<RawHttpClient> {
    const c = new RawHttpClient();
    c.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    c.socket.on('data', (d: Buffer) => c.onData(d));
    c.socket.on('error', (e) => c.failer?.(e));
    c.socket.on('close', () => c.failer?.(new Error('connection closed')));
    await new Promise<void>((resolve, reject) => c.socket.once('connect', resolve).once('error', reject));
    return c;
  }

  /** Sends one request; resolves with the status and the first 256 bytes of the body. */
  send(request: Buffer): Promise<{ status: number; head: string }> {
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failer = reject;
      this.socket.write(request);
    });
  }

  /** Total bytes of the response being read (head + body), once its head has arrived. */
  private expected = -1;
  private status = 0;
  private bodyStart = 0;

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.size += d.length;
    if (this.expected < 0) {
      // The head is parsed once per response; later chunks only add to the count.
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      this.chunks = [all];
      const headerEnd = all.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = all.toString('latin1', 0, headerEnd);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (!Number.isFinite(length)) throw new Error(`response without Content-Length: ${head}`);
      this.status = Number(head.slice(9, 12));
      this.bodyStart = headerEnd + 4;
      this.expected = this.bodyStart + length;
    }
    if (this.size < this.expected) return;
    if (this.size > this.expected) throw new Error('unexpected bytes after the response');
    const first = this.chunks[0];
    const headBytes = first.length >= this.bodyStart + 256 ? first : Buffer.concat(this.chunks, this.size);
    const status = this.status;
    const headText = headBytes.toString('utf8', this.bodyStart, Math.min(this.expected, this.bodyStart + 256));
    this.chunks = [];
    this.size = 0;
    this.expected = -1;
    const waiter = this.waiter!;
    this.waiter = this.failer = undefined;
    waiter({ status, head: headText });
  }

  close(): void {
    this.failer = undefined;
    this.socket.destroy();
  }
}

/** The whole request (line, headers, body) as one buffer, built before the clock starts. */
export function rawRequest(host: string, apiKey: string, body: Buffer, idempotencyKey?: string): Buffer {
  const head =
    `POST /api/v1/usage-events HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\n` +
    (idempotencyKey ? `Idempotency-Key: ${idempotencyKey}\r\n` : '') +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export async function drive(base: string, apiKey: string, bodies: Buffer[], seconds: number, label: string): Promise<HttpResult> {
  const url = new URL(base);
  const requests = bodies.map((b, i) => rawRequest(url.host, apiKey, b, SEND_IDEMPOTENCY_HEADER ? `bench-${label}-${i}` : undefined));
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawHttpClient.connect(Number(url.port))));
  let next = 0;
  const latencies: number[] = [];
  const trace: Array<[number, number]> = [];
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  async function run(client: RawHttpClient) {
    while (performance.now() < deadline && next < requests.length) {
      const i = next++;
      const t0 = performance.now();
      const res = await client.send(requests[i]);
      latencies.push(performance.now() - t0);
      if (TRACE) trace.push([t0 - start, performance.now() - t0]);
      const m = /"accepted":(\d+),"duplicates":(\d+),"rejected":(\d+)/.exec(res.head);
      if (res.status !== 200 || !m) {
        errors++;
        if (errors < 5) console.error(`  unexpected ${res.status}: ${res.head}`);
        continue;
      }
      accepted += Number(m[1]);
      duplicates += Number(m[2]);
      rejected += Number(m[3]);
    }
  }
  await Promise.all(clients.map(run));
  const elapsed = (performance.now() - start) / 1000;
  if (TRACE) {
    // Per 250 ms of the run: batches started and their worst latency — where the tail comes from.
    const buckets = new Map<number, number[]>();
    for (const [at, ms] of trace) {
      const b = Math.floor(at / 250);
      if (!buckets.has(b)) buckets.set(b, []);
      buckets.get(b)!.push(ms);
    }
    console.log(`[${label}] trace (start s: batches, max ms): ${[...buckets].map(([b, l]) => `${(b / 4).toFixed(2)}:${l.length},${Math.round(Math.max(...l))}`).join(' ')}`);
  }
  for (const c of clients) c.close();
  return { accepted, duplicates, rejected, requests: latencies.length, seconds: elapsed, latencies, errors };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A machine-speed reference printed beside the figures (shared or throttled machines vary a lot). */
export function calibrationMs(): number {
  const t = performance.now();
  let s = 0;
  for (let i = 0; i < 1e8; i++) s += i;
  return s > 0 ? performance.now() - t : NaN;
}
