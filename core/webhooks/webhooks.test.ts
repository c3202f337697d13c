import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CoreContext, DAY, HOUR, type MerchantScope } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { type DomainEventType, recordEvent } from '../events/index.js';
import { type TestContext, insertTestMerchant, openTestContext } from '../testing/index.js';
import { type WebhookReceiver, startWebhookReceiver } from '../testing/webhook-receiver.js';
import {
  FAILING_DISABLE_AFTER_MS,
  MAX_ATTEMPTS,
  RETRY_DELAYS_MS,
  createWebhookEndpoint,
  deliverDueWebhooks,
  fanOutEvents,
  getWebhookEndpoint,
  parseRetryAfter,
  restartDelivery,
  retryDelayMs,
  rotateWebhookSecret,
  sendTestEvent,
  syncProfileEndpoint,
} from './index.js';

let t: TestContext;
let ctx: CoreContext;
let receiver: WebhookReceiver;
const live: MerchantScope = { merchantId: 'mer_w', environment: 'live' };
const sandbox: MerchantScope = { merchantId: 'mer_w', environment: 'sandbox' };

beforeEach(async () => {
  t = await openTestContext('2026-06-01T00:00:00.000Z');
  ctx = t.ctx;
  // The receiver listens on loopback: the developer escape hatch (never in production).
  ctx.policy = { production: false, allowPrivateWebhooks: true };
  await insertTestMerchant(ctx, 'mer_w');
  receiver = await startWebhookReceiver(() => t.clock.now());
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

const announce = (type: DomainEventType, scope: MerchantScope, data: unknown) =>
  inTransaction(ctx, (tx) => recordEvent(tx, { type, merchantId: scope.merchantId, environment: scope.environment, data }));
const round = (worker = 'w1', timeoutMs = 2_000) => deliverDueWebhooks(ctx, { worker, timeoutMs });
const deliveries = () => ctx.db.kysely.selectFrom('webhook_deliveries').selectAll().orderBy('id').execute();
const attempts = () => ctx.db.kysely.selectFrom('webhook_attempts').selectAll().orderBy('attempted_at').orderBy('id').execute();

/** A live `invoice.paid` event stored as recordEvent would, with its id and raw data text chosen by the test. */
const queueStoredEvent = (id: string, data: string) =>
  inTransaction(ctx, async (tx) => {
    const now = tx.clock.now().toISOString();
    await tx.db.kysely.insertInto('domain_events').values({ id, type: 'invoice.paid', merchant_id: 'mer_w', environment: 'live', created_at: now, data }).execute();
    await tx.db.kysely.insertInto('webhook_dispatch').values({ id, due_at: now, leased_until: null, leased_by: null }).execute();
  });

async function endpoint(scope: MerchantScope, eventTypes?: string[]) {
  const created = await createWebhookEndpoint(ctx, scope, { url: receiver.url, eventTypes: eventTypes as never });
  receiver.secrets.push(created.secret);
  return created;
}

describe('webhook delivery (a real receiver on 127.0.0.1, verified with the standardwebhooks package)', () => {
  it('signs every delivery per Standard Webhooks, and an endpoint receives only its environment and the types it subscribed to', async () => {
    const paidOnly = await endpoint(live, ['invoice.paid']);
    const everything = await endpoint(live);
    await endpoint(sandbox);
    expect(paidOnly.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    await announce('invoice.finalized', live, { _id: 'inv_1', status: 'finalized' });
    await announce('invoice.paid', live, { _id: 'inv_1', status: 'paid' });
    expect(await fanOutEvents(ctx, { worker: 'w1' })).toEqual({ events: 2, deliveries: 3 });
    // Fan-out is exactly once: nothing is left to fan out, and running it again adds nothing.
    expect(await fanOutEvents(ctx, { worker: 'w2' })).toEqual({ events: 0, deliveries: 0 });
    // inv_1's deliveries go in order: paid waits for finalized to be delivered to `everything`.
    const first = await round();
    expect(first).toMatchObject({ claimed: 3, succeeded: 2, deferred: 1 });
    expect(await round()).toMatchObject({ claimed: 1, succeeded: 1 });
    expect(receiver.received).toHaveLength(3);
    for (const r of receiver.received) {
      expect(r.verifiedWith).toHaveLength(1);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
      expect(r.headers['webhook-timestamp']).toBe(String(Math.floor(t.clock.now().getTime() / 1000)));
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['webhook-id']).toBe(r.payload.id);
      expect(Object.keys(r.payload)).toEqual(['id', 'type', 'timestamp', 'data']);
    }
    const bySecret = (secret: string) => receiver.received.filter((r) => r.verifiedWith.includes(secret)).map((r) => r.payload.type);
    expect(bySecret(paidOnly.secret)).toEqual(['invoice.paid']);
    expect(bySecret(everything.secret)).toEqual(['invoice.finalized', 'invoice.paid']);
    expect(receiver.received.map((r) => r.payload.data)).toContainEqual({ _id: 'inv_1', status: 'paid' });
    expect((await deliveries()).every((d) => d.status === 'succeeded' && d.attempts === 1)).toBe(true);
    expect((await attempts()).map((a) => [a.outcome, a.status_code])).toEqual([
      ['succeeded', 200],
      ['succeeded', 200],
      ['succeeded', 200],
    ]);
    // A sandbox event reaches only the sandbox endpoint.
    await announce('invoice.paid', sandbox, { _id: 'inv_s' });
    expect(await fanOutEvents(ctx, { worker: 'w1' })).toEqual({ events: 1, deliveries: 1 });
  });

  it('an event committed after a later-numbered one is still fanned out (a queue, not an id cursor)', async () => {
    await endpoint(live);
    // Two transactions: the first takes its id, the second commits first.
    const ids: string[] = [];
    const early = ctx.ids.next('event');
    await announce('invoice.paid', live, { _id: 'inv_b' }).then((e) => ids.push(e.id));
    expect(await fanOutEvents(ctx, { worker: 'w1' })).toEqual({ events: 1, deliveries: 1 });
    // The "slow" transaction commits now, with an id older than the one already fanned out.
    await queueStoredEvent(early, '{"_id":"inv_a"}');
    expect(early < ids[0]).toBe(true);
    expect(await fanOutEvents(ctx, { worker: 'w1' })).toEqual({ events: 1, deliveries: 1 });
  });

  it('fans a claimed chunk out in one transaction; an event that fails holds up no other', async () => {
    await endpoint(live);
    for (const n of [1, 2, 3]) await announce('invoice.paid', live, { _id: `inv_${n}` });
    // An event whose fan-out fails (its stored data is not JSON), between the good ones.
    const bad = ctx.ids.next('event');
    await queueStoredEvent(bad, '{not json');
    await announce('invoice.paid', live, { _id: 'inv_4' });
    // The chunk fails as a whole, then every event goes alone: the four good ones are fanned out,
    // the failure is reported, and only the bad event stays queued (retried when its lease lapses).
    await expect(fanOutEvents(ctx, { worker: 'w1' })).rejects.toThrow(/JSON/);
    expect((await deliveries()).map((d) => JSON.parse(d.payload).data._id).sort()).toEqual(['inv_1', 'inv_2', 'inv_3', 'inv_4']);
    expect((await ctx.db.kysely.selectFrom('webhook_dispatch').select('id').execute()).map((r) => r.id)).toEqual([bad]);
    // Exactly once: running again after the lease adds nothing for the good ones.
    t.clock.advance(DAY);
    await expect(fanOutEvents(ctx, { worker: 'w2' })).rejects.toThrow(/JSON/);
    expect(await deliveries()).toHaveLength(4);
  });

  it('retries by the schedule (fake clock), honours Retry-After, and ends failed after the last attempt', async () => {
    const e = await endpoint(live);
    receiver.answer = (_d, n) => (n === 2 ? { status: 503, headers: { 'retry-after': '7200' } } : { status: 500, body: 'x'.repeat(5000) });
    await announce('invoice.paid', live, { _id: 'inv_r' });
    await fanOutEvents(ctx, { worker: 'w1' });
    const dues: number[] = [];
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      expect(await round()).toMatchObject({ claimed: 1, failed: 1 });
      const [d] = await deliveries();
      expect(d.attempts).toBe(i);
      if (i === MAX_ATTEMPTS) {
        expect(d.status).toBe('failed');
        break;
      }
      const wait = new Date(d.due_at).getTime() - t.clock.now().getTime();
      dues.push(wait);
      // Not due a moment before; due at its time.
      t.clock.advance(wait - 1);
      expect(await round()).toMatchObject({ claimed: 0 });
      t.clock.advance(1);
    }
    // ±20 % jitter around 5 s, 5 min, 30 min, 2 h, …; the second answer's Retry-After (2 h) beat 5 min.
    expect(dues).toHaveLength(RETRY_DELAYS_MS.length);
    dues.forEach((wait, i) => {
      const base = i === 1 ? 2 * HOUR : RETRY_DELAYS_MS[i];
      expect(wait).toBeGreaterThanOrEqual(i === 1 ? base : base * 0.8);
      expect(wait).toBeLessThanOrEqual(base * 1.2);
    });
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2.9 * DAY);
    expect(total).toBeLessThan(3 * DAY);
    const log = await attempts();
    expect(log).toHaveLength(MAX_ATTEMPTS);
    expect(log[0]).toMatchObject({ outcome: 'failed', status_code: 500, error: 'HTTP 500' });
    expect(log[0].response_excerpt!.length).toBeLessThanOrEqual(1025);
    expect(log[0].latency_ms).toBeGreaterThanOrEqual(0);
    // The merchant resends it: the same message, the same webhook-id.
    receiver.answer = () => ({ status: 204 });
    const [failed] = await deliveries();
    await restartDelivery(ctx, failed.id);
    expect(await round()).toMatchObject({ succeeded: 1 });
    // Its failures began 3 days ago, not 5: still enabled; the success ends the streak.
    expect(await getWebhookEndpoint(ctx, live, e.id)).toMatchObject({ enabled: true, failingSince: null });
    const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
  });

  it('reads Retry-After as seconds or an HTTP date, and caps it', () => {
    const now = new Date('2026-06-01T00:00:00.000Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 01 Jun 2026 01:00:00 GMT', now)).toBe(HOUR);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(retryDelayMs(1, 0.5, 10 * DAY)).toBe(DAY);
    expect(retryDelayMs(MAX_ATTEMPTS, 0.5)).toBeNull();
  });

  it('410 Gone disables the endpoint at once; its other pending deliveries end failed', async () => {
    const e = await endpoint(live);
    receiver.answer = () => ({ status: 410 });
    await announce('invoice.paid', live, { _id: 'inv_g1' });
    await announce('invoice.paid', live, { _id: 'inv_g2' });
    await fanOutEvents(ctx, { worker: 'w1' });
    await deliverDueWebhooks(ctx, { worker: 'w1', limit: 1, timeoutMs: 2_000 });
    expect(await getWebhookEndpoint(ctx, live, e.id)).toMatchObject({ enabled: false, status: 'disabled', disabledReason: 'gone' });
    await round();
    expect((await deliveries()).map((d) => d.status)).toEqual(['failed', 'failed']);
    expect(receiver.received).toHaveLength(1);
    await expect(sendTestEvent(ctx, live, e.id)).rejects.toMatchObject({ code: 'webhook_endpoint_disabled' });
  });

  it('an endpoint whose every attempt fails for 5 days is disabled, with the reason in its status', async () => {
    const e = await endpoint(live);
    receiver.answer = () => ({ status: 500 });
    await announce('invoice.paid', live, { _id: 'inv_f0' });
    await fanOutEvents(ctx, { worker: 'w1' });
    await round();
    expect((await getWebhookEndpoint(ctx, live, e.id)).failingSince).toBe(t.clock.now().toISOString());
    // New events keep failing for days (each delivery's own schedule is ~3 days).
    for (let day = 1; day <= 5; day++) {
      t.clock.advance(DAY);
      await announce('invoice.paid', live, { _id: `inv_f${day}` });
      await fanOutEvents(ctx, { worker: 'w1' });
      while ((await round()).claimed > 0);
    }
    const view = await getWebhookEndpoint(ctx, live, e.id);
    expect(view).toMatchObject({ enabled: false, disabledReason: 'failing' });
    expect(view.disabledDetail).toMatch(/^Every delivery attempt failed from 2026-06-01T00:00:00.000Z/);
    expect(t.clock.now().getTime() - new Date(view.failingSince!).getTime()).toBeGreaterThanOrEqual(FAILING_DISABLE_AFTER_MS);
  });

  it('rotating the secret signs with both for 24 hours: the receiver verifies with the old and with the new', async () => {
    const e = await endpoint(live);
    const rotated = await rotateWebhookSecret(ctx, live, e.id);
    receiver.secrets.push(rotated.secret);
    await sendTestEvent(ctx, live, e.id);
    await round();
    const [both] = receiver.received;
    expect(both.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(both.verifiedWith).toEqual([e.secret, rotated.secret]);
    expect(both.payload.type).toBe('test');
    t.clock.advance(DAY);
    await sendTestEvent(ctx, live, e.id);
    await round();
    expect(receiver.received[1].headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(receiver.received[1].verifiedWith).toEqual([rotated.secret]);
  });

  it('re-checks SSRF on the resolved address at every attempt: a name that now resolves privately is refused, nothing sent', async () => {
    ctx.policy = { production: false, allowPrivateWebhooks: false };
    let answer = ['93.184.216.34'];
    ctx.resolveHost = async () => answer;
    const e = await createWebhookEndpoint(ctx, live, { url: 'https://hooks.merchant.example/in' });
    answer = ['10.0.0.7']; // DNS rebinding: public when saved, private now
    await sendTestEvent(ctx, live, e.id);
    expect(await round()).toMatchObject({ claimed: 1, failed: 1 });
    const [a] = await attempts();
    expect(a).toMatchObject({ outcome: 'refused', address: null, status_code: null });
    expect(a.error).toMatch(/10\.0\.0\.7 is not a public address \(private\)/);
    expect((await deliveries())[0]).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('a worker killed mid-delivery: the lease expires, another worker delivers the same message with the same webhook-id', async () => {
    await endpoint(live);
    receiver.answer = (_d, n) => (n === 1 ? 'hang' : { status: 200 });
    await announce('invoice.paid', live, { _id: 'inv_k' });
    await fanOutEvents(ctx, { worker: 'w1' });
    // Worker A sends and never hears back (its process is gone, as far as the database knows).
    const dying = deliverDueWebhooks(ctx, { worker: 'A', timeoutMs: 30_000 });
    while (receiver.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(await deliverDueWebhooks(ctx, { worker: 'B', timeoutMs: 2_000 })).toMatchObject({ claimed: 0 }); // leased
    t.clock.advance(60_001);
    expect(await deliverDueWebhooks(ctx, { worker: 'B', timeoutMs: 2_000 })).toMatchObject({ claimed: 1, succeeded: 1 });
    receiver.releaseHung(200); // A's answer arrives late: logged, changes nothing
    await dying;
    const [a1, a2] = receiver.received;
    expect(a2.headers['webhook-id']).toBe(a1.headers['webhook-id']);
    expect(a2.body).toBe(a1.body);
    expect(a1.verifiedWith).toHaveLength(1);
    expect(a2.verifiedWith).toHaveLength(1);
    const [d] = await deliveries();
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await attempts()).map((x) => [x.worker, x.outcome]).sort()).toEqual([
      ['A', 'abandoned'],
      ['B', 'succeeded'],
    ]);
  });

  it('the profile webhookUrl is a live endpoint for every type; the attempt log is append-only', async () => {
    await inTransaction(ctx, (tx) => syncProfileEndpoint(tx, 'mer_w', receiver.url));
    await announce('merchant.registered', live, { id: 'mer_w' });
    await announce('invoice.paid', sandbox, { _id: 'inv_s' });
    expect(await fanOutEvents(ctx, { worker: 'w1' })).toEqual({ events: 2, deliveries: 1 });
    const rotated = await rotateWebhookSecret(ctx, live, (await ctx.db.kysely.selectFrom('webhook_endpoints').select('id').executeTakeFirstOrThrow()).id);
    receiver.secrets.push(rotated.secret);
    await round();
    expect(receiver.received.map((r) => [r.payload.type, r.verifiedWith.includes(rotated.secret)])).toEqual([['merchant.registered', true]]);
    await expect(sql`update webhook_attempts set outcome = 'succeeded'`.execute(ctx.db.kysely)).rejects.toThrow(/append-only/);
    await expect(sql`delete from webhook_attempts`.execute(ctx.db.kysely)).rejects.toThrow(/append-only/);
  });
});
