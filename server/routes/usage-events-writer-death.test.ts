import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { listStoredUsageEvents, usageIngestFor } from '../../core/usage/index.js';
import { onPostgres } from '../../core/testing/database.js';
import { insertTestCustomer } from '../../core/testing/index.js';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

/**
 * The usage writer thread dies (killed mid-load, at whatever point it is: inside a transaction,
 * between COMMIT and its answer). Before the fix a message posted to the dead worker was
 * dropped and every later usage request waited forever.
 */
// The writer thread exists only with an embedded SQLite file; on PostgreSQL batches commit on pooled connections.
describe.skipIf(onPostgres)('sqlite: POST /api/v1/usage-events when the writer thread dies', () => {
  let server: TestServer;
  let m: Awaited<ReturnType<typeof signupMerchant>>;
  beforeAll(async () => {
    server = await startTestServer();
    m = await signupMerchant(server);
    await insertTestCustomer(server.db, { id: 'cus_writer_death', merchantId: m.id, environment: 'sandbox', externalId: 'user_42' });
  });
  afterAll(async () => server.stop());
  // The server logs each death; the log is checked instead of printed.
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    log = vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(() => {
    log.mockRestore();
  });
  const loggedDeaths = () => log.mock.calls.filter((c) => String(c[0]).includes('usage writer thread died')).length;

  const occurredAt = new Date(Date.now() - 60_000).toISOString();
  function batchBody(n: number, size: number): string {
    const events = Array.from({ length: size }, (_, i) => ({
      customerExternalId: 'user_42',
      idempotencyKey: `death-${n}-${i}`,
      metric: 'tokens_input',
      quantity: '7',
      occurredAt,
    }));
    return JSON.stringify({ events });
  }
  /** Odd batches also carry an Idempotency-Key header. */
  const headerKey = (n: number) => (n % 2 === 1 ? `death-batch-${n}` : undefined);

  async function post(n: number, size: number) {
    const key = headerKey(n);
    const started = performance.now();
    const res = await server.call('POST', '/api/v1/usage-events', {
      headers: { authorization: `Bearer ${m.sandboxKey}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      rawBody: batchBody(n, size),
    });
    return { n, ms: performance.now() - started, ...res };
  }

  it('answers the waiting requests 503 with Retry-After at once, restarts the writer, loses nothing acknowledged, and retries are safe', async () => {
    const service = usageIngestFor(server.ctx);
    const writer = server.usageWriter!;
    expect(writer).toBeDefined();
    await writer.ready();
    expect(service.writerHealth()).toEqual({ alive: true, restarts: 0 });

    const BATCHES = 24;
    const SIZE = 200;
    // Hold the writes until every batch waits, then let them go and kill the thread while they
    // are being handed over and applied.
    const resume = service.pauseWrites();
    const inFlight = Array.from({ length: BATCHES }, (_, n) => post(n, SIZE));
    while (service.pendingBatches < BATCHES) await new Promise((r) => setTimeout(r, 5));
    resume();
    await new Promise((r) => setImmediate(r)); // the queue hands the first groups to the thread
    await writer.killThreadForTesting();
    const first = await Promise.all(inFlight);

    const failed = first.filter((r) => r.status !== 200);
    expect(failed.length).toBeGreaterThan(0); // the kill caught batches in flight
    for (const r of failed) {
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ ok: false, error: 'ingest_unavailable', message: expect.any(String) });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.ms).toBeLessThan(5_000); // answered, not left waiting
    }
    const acknowledged = new Map<string, string>(); // idempotencyKey → eventId, from 200s
    for (const r of first.filter((r) => r.status === 200)) {
      for (const e of r.body.results) acknowledged.set(e.idempotencyKey, e.eventId);
    }

    // The writer comes back by itself; health says it restarted.
    await writer.ready();
    expect(service.writerHealth()).toMatchObject({ alive: true, restarts: 1, lastError: expect.stringMatching(/exited/) });
    expect(loggedDeaths()).toBe(1);

    // Clients retry what got 503, with the same bodies and headers: dedupe makes it safe (a
    // batch that committed before the death comes back as duplicates, or as the stored response
    // for an Idempotency-Key), never a 409 in_use left behind by the dead request.
    const retried = await Promise.all(failed.map((r) => post(r.n, SIZE)));
    for (const r of retried) {
      expect(r.status).toBe(200);
      expect(r.body.accepted + r.body.duplicates).toBe(SIZE);
      for (const e of r.body.results) {
        if (acknowledged.has(e.idempotencyKey)) expect(e.eventId).toBe(acknowledged.get(e.idempotencyKey));
        acknowledged.set(e.idempotencyKey, e.eventId);
      }
      if (headerKey(r.n) !== undefined) {
        const replay = await post(r.n, SIZE);
        expect(replay.status).toBe(200);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.text).toBe(r.text);
      }
    }

    // Nothing acknowledged is lost, and nothing is stored twice.
    expect(acknowledged.size).toBe(BATCHES * SIZE);
    const stored = await listStoredUsageEvents(server.ctx, m.id);
    expect(stored).toHaveLength(BATCHES * SIZE);
    const byKey = new Map(stored.map((e) => [e.idempotencyKey, e.eventId]));
    for (const [key, eventId] of acknowledged) expect(byKey.get(key)).toBe(eventId);

    // And the next requests simply work.
    const later = await post(1_000, 3);
    expect(later.status).toBe(200);
    expect(later.body.accepted).toBe(3);
  });

  it('survives deaths under continuous load: clients that retry on 503 end with every event stored exactly once', async () => {
    const service = usageIngestFor(server.ctx);
    const writer = server.usageWriter!;
    await writer.ready();
    const restartsBefore = service.writerHealth().restarts;
    const CLIENTS = 4;
    const PER_CLIENT = 12;
    const SIZE = 100;
    let okBatches = 0;
    let unavailable = 0;
    const acknowledged = new Map<string, string>();
    async function client(c: number) {
      for (let b = 0; b < PER_CLIENT; b++) {
        const n = 2_000 + c * 100 + b;
        for (;;) {
          const r = await post(n, SIZE);
          if (r.status === 503) {
            unavailable++;
            expect(r.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
            await new Promise((resolve) => setTimeout(resolve, 50)); // a real client waits Retry-After seconds
            continue;
          }
          expect(r.status).toBe(200);
          for (const e of r.body.results) {
            if (acknowledged.has(e.idempotencyKey)) expect(e.eventId).toBe(acknowledged.get(e.idempotencyKey));
            acknowledged.set(e.idempotencyKey, e.eventId);
          }
          okBatches++;
          break;
        }
      }
    }
    async function killer() {
      for (const after of [8, 24]) {
        while (okBatches < after) await new Promise((r) => setTimeout(r, 2));
        await writer.killThreadForTesting();
        await writer.ready();
      }
    }
    await Promise.all([...Array.from({ length: CLIENTS }, (_, c) => client(c)), killer()]);

    expect(service.writerHealth().restarts).toBe(restartsBefore + 2);
    expect(loggedDeaths()).toBe(2);
    expect(unavailable).toBeGreaterThan(0);
    expect(acknowledged.size).toBe(CLIENTS * PER_CLIENT * SIZE);
    const stored = (await listStoredUsageEvents(server.ctx, m.id)).filter((e) => /^death-2\d{3}-/.test(e.idempotencyKey));
    expect(stored).toHaveLength(CLIENTS * PER_CLIENT * SIZE);
    const byKey = new Map(stored.map((e) => [e.idempotencyKey, e.eventId]));
    for (const [key, eventId] of acknowledged) expect(byKey.get(key)).toBe(eventId);
  });
});
