import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { http as viemHttp, createWalletClient, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../core/auth/totp.js';
import { createProduct } from '../../core/catalog/products.js';
import { createRateCard, publishRateCard } from '../../core/catalog/rate-cards.js';
import { type CoreContext, createContext } from '../../core/context/index.js';
import { createContract } from '../../core/contracts/contracts.js';
import { createCustomer } from '../../core/customers/customers.js';
import { type Db, openDatabase } from '../../core/db/index.js';
import { leaderLockKey } from '../../core/db/leader.js';
import { createStaff } from '../../core/staff/index.js';
import { type TestDatabase, createTestDatabase, onPostgres } from '../../core/testing/database.js';
import { insertTestMerchant } from '../../core/testing/index.js';
import { insertUsageRowForTest } from '../../core/usage/testing.js';
import { type LocalEvm, deploySubscriptionManager, localChain, startLocalEvm, testAccount } from '../../server/chain/local-evm.js';
import { tempDir } from '../helpers.js';

/**
 * Stateless replicas (issue 12): two real server processes (`server/backoffice-web/main.ts`: the
 * companion server, plus the back office's web transport on loopback for the staff checks) on
 * ONE PostgreSQL database, each with its own data folder and the secrets shared through the
 * environment (JWT_SECRET, BUFFMONEY_DATA_KEY), as docs/deploy-postgres.md deploys them. Every
 * claim is proved over HTTP against both, and by counting rows in the shared database.
 *
 * PostgreSQL only: a SQLite file is served by one process on one machine (no replicas).
 */
const root = path.resolve(import.meta.dirname, '../..');
if (!onPostgres) console.log('test/replicas: skipped on SQLite — replicas share a PostgreSQL database (run npm run test:pg)');

interface Replica {
  name: string;
  child: ChildProcessWithoutNullStreams;
  url: string;
  web: string;
  exited: Promise<number | null>;
  output(): string;
  dataDir: string;
}

const JWT_SECRET = randomBytes(32).toString('base64');
const DATA_KEY = randomBytes(32).toString('base64');

/** The local chain both replicas listen to (CHAIN_RPC_URL_31337 …), set in beforeAll. */
let chainEnv: Record<string, string> = {};

async function startReplica(name: string, dbUrl: string, dataDir: string): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/backoffice-web/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...chainEnv,
      NODE_ENV: 'test',
      BUFFMONEY_DB: dbUrl,
      BUFFMONEY_DB_POOL: '4',
      BUFFMONEY_DATA_DIR: dataDir,
      JWT_SECRET,
      BUFFMONEY_DATA_KEY: DATA_KEY,
      HOST: '127.0.0.1',
      PORT: '0',
      BUFFMONEY_BACKOFFICE_PORT: '0',
      // The test stands where a load balancer on this host would: X-Forwarded-For names the client.
      BUFFMONEY_TRUST_PROXY: 'loopback',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const urls = await new Promise<{ url: string; web: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not start: ${output}`)), 25_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const api = /listening on (http:\/\/\S+)/.exec(output);
      const web = /Back office: (http:\/\/\S+)/.exec(output);
      if (api && web) {
        clearTimeout(timer);
        resolve({ url: api[1], web: web[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`replica ${name} exited ${code}: ${output}`)));
  });
  return { name, child, ...urls, exited, output: () => output, dataDir };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

/** One HTTP request (node:http, so Origin and Cookie are sent exactly as given). */
function request(url: string, method: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A call to the back office's web transport of one replica, as its own page would make it. */
function backOffice(r: Replica, route: string, body: unknown, cookie?: string): Promise<Reply> {
  return request(`${r.web}/backoffice/${route}`, 'POST', { body, headers: { origin: r.web, ...(cookie ? { cookie } : {}) } });
}

let database: TestDatabase;
let dirs: Array<() => void> = [];
let a: Replica;
let b: Replica;
let db: Db;
let ctx: CoreContext;
let evm: LocalEvm | undefined;
let ip = 0;
/** A client address of its own per test (rate limits count per client IP). */
const clientIp = () => `203.0.113.${++ip}`;

async function count(table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db.kysely);
  return Number(rows[0].n);
}

async function signupOn(r: Replica, xff: string) {
  const email = `replica-${randomBytes(4).toString('hex')}@example.com`;
  const signup = await request(`${r.url}/api/v1/merchants`, 'POST', {
    body: { name: 'Replica Co', email, password: 'correct horse battery' },
    headers: { 'x-forwarded-for': xff },
  });
  expect(signup.status).toBe(201);
  const token: string = signup.body.token;
  const key = await request(`${r.url}/api/v1/merchants/me/generate-key`, 'POST', { body: {}, headers: { authorization: `Bearer ${token}` } });
  expect(key.status).toBe(200);
  return { id: signup.body.id as string, email, token, apiKey: key.body.apiKey as string };
}

/** Staff sign-in with a code one step old (accepted within ±1 step), leaving the current step for a step-up. */
async function staffSignIn(r: Replica, who: { email: string; password: string; secret: string }): Promise<string> {
  const res = await backOffice(r, 'sign-in', { email: who.email, password: who.password, otp: totpCode(who.secret, new Date(Date.now() - 30_000)) });
  expect(res.status, res.text).toBe(200);
  return String(res.headers['set-cookie']?.[0]).split(';')[0];
}

/** Who holds the named leader lock: the application_name of its connection (pg_locks ⋈ pg_stat_activity). */
async function leaderOf(name: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ application_name: string }>(
      `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.database = (select oid from pg_database where datname = current_database())
          and ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
      [leaderLockKey(name)],
    );
    return rows[0]?.application_name ?? null;
  } finally {
    await c.end();
  }
}

/** Waits, if the current TOTP step ends within `marginMs`, for the next one (codes must stay valid for the test's requests). */
async function awayFromStepEnd(marginMs = 5_000) {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 200));
}

describe.skipIf(!onPostgres)('two server replicas on one PostgreSQL database', () => {
  beforeAll(async () => {
    database = await createTestDatabase('buffmoney-replicas-');
    db = openDatabase(database.url, { poolSize: 4 });
    ctx = createContext({ db, secrets: { jwtSecret: new TextEncoder().encode(JWT_SECRET), dataKey: new Uint8Array(Buffer.from(DATA_KEY, 'base64')) } });
    const dirA = tempDir('buffmoney-replica-a-');
    const dirB = tempDir('buffmoney-replica-b-');
    dirs = [dirA.cleanup, dirB.cleanup];
    // One local EVM with the SubscriptionManager, listened to by both replicas (one leader per chain).
    evm = await startLocalEvm();
    const manager = await deploySubscriptionManager(evm.rpcUrl);
    chainEnv = {
      CHAIN_RPC_URL_31337: evm.rpcUrl,
      SUBSCRIPTION_MANAGER_31337: manager,
      CHAIN_CONFIRMATIONS_31337: '0',
      BUFFMONEY_CHAIN_POLL_MS: '200',
    };
    [a, b] = await Promise.all([startReplica('A', database.url, dirA.dir), startReplica('B', database.url, dirB.dir)]);
  }, 90_000);

  afterAll(async () => {
    for (const r of [a, b]) {
      if (r && r.child.exitCode === null && r.child.signalCode === null) {
        r.child.kill('SIGTERM');
        await Promise.race([r.exited, new Promise((res) => setTimeout(res, 10_000))]);
      }
    }
    await db?.close();
    await evm?.stop();
    for (const cleanup of dirs) cleanup();
    await database?.cleanup();
  }, 30_000);

  it('postgres: the same Idempotency-Key fired at both at once executes exactly once (the other replays it or is told it is in use)', async () => {
    const m = await signupOn(a, clientIp());
    const patch = await request(`${b.url}/api/v1/merchants/me`, 'PATCH', { body: { autoCreateCustomers: true }, headers: { authorization: `Bearer ${m.token}` } });
    expect(patch.status).toBe(200);
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const rounds = 6;
    const before = await count('usage_events');
    for (let round = 0; round < rounds; round++) {
      const body = {
        events: Array.from({ length: 20 }, (_, i) => ({
          customerExternalId: `cust_${i % 3}`,
          idempotencyKey: `idem-${round}-${i}`,
          metric: 'tokens_input',
          quantity: '100',
          occurredAt,
        })),
      };
      const headers = { authorization: `Bearer ${m.apiKey}`, 'idempotency-key': `batch-${round}` };
      const replies = await Promise.all([request(`${a.url}/api/v1/usage-events`, 'POST', { body, headers }), request(`${b.url}/api/v1/usage-events`, 'POST', { body, headers })]);
      const executed = replies.filter((r) => r.status === 200 && r.headers['idempotent-replayed'] === undefined);
      const replayed = replies.filter((r) => r.status === 200 && r.headers['idempotent-replayed'] === 'true');
      const inUse = replies.filter((r) => r.status === 409 && r.body?.error === 'idempotency_key_in_use');
      expect(executed, replies.map((r) => `${r.status} ${r.text.slice(0, 200)}`).join('\n')).toHaveLength(1);
      expect(replayed.length + inUse.length).toBe(1);
      expect(executed[0].body).toMatchObject({ accepted: 20, duplicates: 0, rejected: 0 });
      // A replay answers the same bytes as the execution.
      for (const r of replayed) expect(r.text).toBe(executed[0].text);
    }
    // Stored once: one event per event key, one record per Idempotency-Key.
    expect((await count('usage_events')) - before).toBe(rounds * 20);
    const records = await db.kysely.selectFrom('idempotency_records').select('idempotency_key').where('merchant_id', '=', m.id).execute();
    expect(records.map((r) => r.idempotency_key).sort()).toEqual(Array.from({ length: rounds }, (_, i) => `batch-${i}`));
  });

  it('postgres: the same per-event idempotencyKey sent to both at once is stored once', async () => {
    const m = await signupOn(b, clientIp());
    await request(`${a.url}/api/v1/merchants/me`, 'PATCH', { body: { autoCreateCustomers: true }, headers: { authorization: `Bearer ${m.token}` } });
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const before = await count('usage_events');
    const body = {
      events: Array.from({ length: 50 }, (_, i) => ({ customerExternalId: 'shared', idempotencyKey: `evt-both-${i}`, metric: 'agent_run', quantity: '1', occurredAt })),
    };
    const headers = { authorization: `Bearer ${m.apiKey}` };
    const replies = await Promise.all([request(`${a.url}/api/v1/usage-events`, 'POST', { body, headers }), request(`${b.url}/api/v1/usage-events`, 'POST', { body, headers })]);
    for (const r of replies) {
      expect(r.status, r.text).toBe(200);
      expect(r.body.accepted + r.body.duplicates).toBe(50);
    }
    expect(replies[0].body.accepted + replies[1].body.accepted).toBe(50);
    // Each key's eventId is the same on both answers: one stored event.
    expect(replies[0].body.results.map((x: { eventId: string }) => x.eventId)).toEqual(replies[1].body.results.map((x: { eventId: string }) => x.eventId));
    expect((await count('usage_events')) - before).toBe(50);
  });

  it('postgres: a merchant session made on one replica works on the other; so does a staff session', async () => {
    const m = await signupOn(a, clientIp());
    const me = await request(`${b.url}/api/v1/auth/me`, 'GET', { headers: { authorization: `Bearer ${m.token}` } });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ id: m.id });
    const login = await request(`${b.url}/api/v1/auth/login`, 'POST', { body: { email: m.email, password: 'correct horse battery' }, headers: { 'x-forwarded-for': clientIp() } });
    expect(login.status, login.text).toBe(200);
    expect((await request(`${a.url}/api/v1/auth/me`, 'GET', { headers: { authorization: `Bearer ${login.body.token}` } })).status).toBe(200);

    // Staff sessions live in the database: signed in on A, recognised (and ended) on B.
    const staff = await createStaff(ctx, { email: `officer-${randomBytes(3).toString('hex')}@buffmoney.test`, role: 'support', password: 'officer password 1' }, null);
    await awayFromStepEnd();
    const cookie = await staffSignIn(a, { email: staff.staff.email, password: 'officer password 1', secret: staff.totpSecret });
    const onB = await backOffice(b, 'session', {}, cookie);
    expect(onB.status, onB.text).toBe(200);
    expect(onB.body).toMatchObject({ ok: true, data: { staff: { email: staff.staff.email, role: 'support' } } });
    const out = await backOffice(b, 'sign-out', {}, cookie);
    expect(out.body).toEqual({ ok: true, data: { ended: true } });
    const afterOut = await backOffice(a, 'session', {}, cookie);
    expect(afterOut.status).toBe(401);
  });

  it('postgres: login attempts spread over both replicas count against one shared limit (10 a minute per client IP)', async () => {
    const ipAddr = clientIp();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = i % 2 === 0 ? a : b;
      // Two real guesses (bcrypt-bound), then malformed attempts, which count as well and keep
      // the test fast on a loaded machine.
      const body = i < 2 ? { email: 'nobody@example.com', password: 'wrong guess' } : { email: 'nobody@example.com' };
      statuses.push((await request(`${r.url}/api/v1/auth/login`, 'POST', { body, headers: { 'x-forwarded-for': ipAddr } })).status);
    }
    expect(statuses).toEqual([401, 401, ...Array(8).fill(400)]);
    // Five attempts on each: per process neither would refuse; shared, the 11th is refused on either.
    for (const r of [a, b]) {
      const limited = await request(`${r.url}/api/v1/auth/login`, 'POST', {
        body: { email: 'nobody@example.com', password: 'wrong guess' },
        headers: { 'x-forwarded-for': ipAddr },
      });
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ ok: false, error: 'rate_limited' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // Another client is not affected.
    const other = await request(`${b.url}/api/v1/auth/login`, 'POST', {
      body: { email: 'nobody@example.com', password: 'wrong guess' },
      headers: { 'x-forwarded-for': clientIp() },
    });
    expect(other.status).toBe(401);
    const rows = await db.kysely.selectFrom('rate_limit_windows').select(['count']).where('limiter', '=', 'login').where('client_key', '=', ipAddr).execute();
    expect(rows.map((r) => r.count)).toEqual([12]);
  });

  it('postgres: the ledger stays one valid hash chain under invoice runs and voids from both replicas at once', async () => {
    // Two merchants × 4 contracts, each with usage in the last three whole months (UTC).
    const now = new Date();
    const monthStart = (back: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
    const merchants = ['mer_rep_a', 'mer_rep_b'];
    let event = 0;
    for (const merchantId of merchants) {
      await insertTestMerchant(ctx, merchantId);
      const scope = { merchantId, environment: 'live' as const };
      for (let c = 0; c < 4; c++) {
        const product = await createProduct(ctx, scope, { key: `p${c}`, name: `P${c}` } as never);
        const card = await createRateCard(ctx, scope, product.id, { currency: 'CNY', prices: [{ metric: 'agent_run', model: 'per_unit', unitPriceMinor: '25' }] } as never);
        await publishRateCard(ctx, scope, card.id);
        const customer = await createCustomer(ctx, scope, { externalId: `u${c}`, name: `U${c}` } as never);
        await createContract(ctx, scope, {
          customerExternalId: `u${c}`,
          rateCardId: card.id,
          billingCycle: 'monthly_calendar',
          startsAt: monthStart(3).toISOString(),
          settlementCurrency: 'CNY',
        } as never);
        for (let back = 3; back >= 1; back--) {
          await insertUsageRowForTest(db, {
            ...scope,
            customerId: customer.id,
            idempotencyKey: `rep-${++event}`,
            metric: 'agent_run',
            quantity: String(c + back),
            occurredAt: new Date(monthStart(back).getTime() + 86_400_000).toISOString(),
          });
        }
      }
    }
    const admins = await Promise.all(
      ['1', '2'].map((n) => createStaff(ctx, { email: `admin${n}-${randomBytes(3).toString('hex')}@buffmoney.test`, role: 'admin', password: `admin password ${n}` }, null)),
    );
    await awayFromStepEnd(10_000);
    const [cookieA, cookieB] = await Promise.all([
      staffSignIn(a, { email: admins[0].staff.email, password: 'admin password 1', secret: admins[0].totpSecret }),
      staffSignIn(b, { email: admins[1].staff.email, password: 'admin password 2', secret: admins[1].totpSecret }),
    ]);
    const ledgerBefore = await count('ledger_transactions');

    // Both replicas invoice everything at once: every period invoiced once, each with its posting.
    const runs = await Promise.all([
      backOffice(a, 'rpc/invoices:generate', { input: { graceMinutes: 0 } }, cookieA),
      backOffice(b, 'rpc/invoices:generate', { input: { graceMinutes: 0 } }, cookieB),
    ]);
    for (const r of runs) {
      expect(r.status, r.text).toBe(200);
      expect(r.body.data.failed).toEqual([]);
    }
    const invoices = await db.kysely.selectFrom('invoices').select(['id', 'invoice_number', 'merchant_id']).where('merchant_id', 'in', merchants).execute();
    expect(invoices).toHaveLength(2 * 4 * 3);
    // Numbers come from one counter per merchant: none given twice.
    expect(new Set(invoices.map((i) => `${i.merchant_id} ${i.invoice_number}`)).size).toBe(invoices.length);
    expect(runs[0].body.data.created.length + runs[1].body.data.created.length).toBeLessThanOrEqual(invoices.length);

    // Voids (step-up: the current TOTP step) on both at once, interleaved with their reversals.
    const otp = (i: number) => totpCode(admins[i].totpSecret, new Date());
    const voids = await Promise.all([
      backOffice(a, 'rpc/invoices:void', { input: { invoice: invoices[0].id, reason: 'Replica test: voided on A' }, otp: otp(0) }, cookieA),
      backOffice(b, 'rpc/invoices:void', { input: { invoice: invoices[1].id, reason: 'Replica test: voided on B' }, otp: otp(1) }, cookieB),
    ]);
    for (const v of voids) expect(v.status, v.text).toBe(200);

    const postings = (await count('ledger_transactions')) - ledgerBefore;
    expect(postings).toBe(invoices.length + 2);
    for (const r of [a, b]) {
      const verify = await backOffice(r, 'rpc/ledger:verify', { input: {} }, r === a ? cookieA : cookieB);
      expect(verify.status, verify.text).toBe(200);
      expect(verify.body.data).toMatchObject({ intact: true });
      expect(verify.body.data.transactions).toBeGreaterThanOrEqual(postings);
    }
  });

  // Last: it kills a replica.
  it('postgres: one chain listener per chain across replicas; killing its leader (kill -9) lets the other take over, and every registration is applied once', async () => {
    const names = new Map([
      [`buffmoney:server:${a.child.pid}`, a],
      [`buffmoney:server:${b.child.pid}`, b],
    ]);
    await expect.poll(() => leaderOf('chain-listener:31337'), { timeout: 10_000 }).toSatisfy((n: string | null) => n !== null && names.has(n));
    const rpcUrl = chainEnv.CHAIN_RPC_URL_31337;
    const wallet = createWalletClient({ account: testAccount(1), chain: { ...localChain, rpcUrls: { default: { http: [rpcUrl] } } }, transport: viemHttp(rpcUrl) });
    /** Signs up on `via`, asks it for the register-intent and sends the transaction from the wallet. */
    const register = async (via: Replica, receiver: number) => {
      const m = await signupOn(via, clientIp());
      const intent = await request(`${via.url}/api/v1/merchants/register-intent`, 'POST', {
        body: { receiverAddress: testAccount(receiver).address, metadata: { name: `Replica ${m.id}` }, chainId: 31337 },
        headers: { authorization: `Bearer ${m.token}` },
      });
      expect(intent.status, intent.text).toBe(200);
      await wallet.sendTransaction({ to: intent.body.to, data: intent.body.encodedTx as Hex });
      return m.id;
    };
    const registered = (id: string) => async () =>
      (await db.kysely.selectFrom('merchants').select('on_chain_merchant_id').where('id', '=', id).executeTakeFirstOrThrow()).on_chain_merchant_id;

    const first = await register(a, 3);
    await expect.poll(registered(first), { timeout: 15_000, interval: 200 }).not.toBeNull();

    const holder = names.get((await leaderOf('chain-listener:31337'))!)!;
    const standby = holder === a ? b : a;
    holder.child.kill('SIGKILL');
    await holder.exited;
    await expect.poll(() => leaderOf('chain-listener:31337'), { timeout: 15_000, interval: 200 }).toBe(`buffmoney:server:${standby.child.pid}`);
    const second = await register(standby, 4);
    await expect.poll(registered(second), { timeout: 15_000, interval: 200 }).not.toBeNull();

    // Applied once each, whoever read them: one chain_logs row per log, both matched.
    const logs = await db.kysely.selectFrom('chain_logs').select(['merchant_id', 'outcome', 'tx_hash', 'log_index']).orderBy('block_number').execute();
    expect(logs.map((l) => [l.merchant_id, l.outcome])).toEqual([
      [first, 'applied'],
      [second, 'applied'],
    ]);
    // The killed replica comes back (the tests after this one use two).
    const restarted = await startReplica(holder.name, database.url, holder.dataDir);
    if (holder === a) a = restarted;
    else b = restarted;
  }, 90_000);

  it('postgres: killing the replica that leads the invoice scheduler (kill -9) lets the other take over within seconds', async () => {
    const names = new Map([
      [`buffmoney:server:${a.child.pid}`, a],
      [`buffmoney:server:${b.child.pid}`, b],
    ]);
    await expect.poll(() => leaderOf('invoice-scheduler'), { timeout: 10_000 }).toSatisfy((n: string | null) => n !== null && names.has(n));
    const holder = names.get((await leaderOf('invoice-scheduler'))!)!;
    const standby = holder === a ? b : a;
    expect(holder.output()).toContain('invoice-scheduler: this process');
    const started = Date.now();
    holder.child.kill('SIGKILL');
    await holder.exited;
    await expect.poll(() => leaderOf('invoice-scheduler'), { timeout: 15_000, interval: 200 }).toBe(`buffmoney:server:${standby.child.pid}`);
    const tookMs = Date.now() - started;
    console.log(`test/replicas: the standby took the invoice-scheduler lock ${tookMs} ms after its holder was killed`);
    expect(tookMs).toBeLessThan(10_000);
    await expect.poll(() => standby.output()).toContain(`invoice-scheduler: this process (pid ${standby.child.pid}) is now the leader`);
    // The survivor still serves.
    expect((await request(`${standby.url}/readyz`, 'GET')).status).toBe(200);
  });
});
