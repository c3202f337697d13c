import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockCustomerUsageUntil } from '../../core/customers/lookup.js';
import { type StoredUsageEvent, getStoredUsageEvent, listStoredUsageEvents, usageIngestFor } from '../../core/usage/index.js';
import { insertUsageRowForTest } from '../../core/usage/testing.js';
import { insertTestCustomer } from '../../core/testing/index.js';
import { signupMerchant, startTestServer, type TestServer } from '../../test/helpers.js';

type Merchant = Awaited<ReturnType<typeof signupMerchant>>;

let seq = 0;
const NOW = () => new Date(Date.now() - 60_000).toISOString();

function event(overrides: Record<string, unknown> = {}) {
  seq++;
  return {
    customerExternalId: 'user_42',
    idempotencyKey: `evt_${Date.now()}_${seq}`,
    metric: 'tokens_input',
    quantity: '12500',
    occurredAt: NOW(),
    dimensions: { model: 'gpt-5', region: 'us-east-1' },
    ...overrides,
  };
}

async function addCustomer(server: TestServer, m: Merchant | string, externalId: string, extra: Record<string, unknown> = {}) {
  const merchantId = typeof m === 'string' ? m : m.id;
  const id = `cus_test_${++seq}_${Math.random().toString(36).slice(2)}`;
  return insertTestCustomer(server.db, { id, merchantId, environment: 'sandbox', externalId, extra });
}

function ingest(server: TestServer, key: string, body: unknown, headers: Record<string, string> = {}) {
  return server.call('POST', '/api/v1/usage-events', { headers: { authorization: `Bearer ${key}`, ...headers }, body });
}

function ingestRaw(server: TestServer, key: string, rawBody: string, headers: Record<string, string> = {}) {
  return server.call('POST', '/api/v1/usage-events', {
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    rawBody,
  });
}

async function storedEvents(server: TestServer, merchantId: string): Promise<StoredUsageEvent[]> {
  return listStoredUsageEvents(server.ctx, merchantId);
}

async function storedEvent(server: TestServer, m: { id: string }, eventId: string, environment: 'sandbox' | 'live' = 'sandbox') {
  return getStoredUsageEvent(server.ctx, { merchantId: m.id, environment }, eventId);
}

describe('POST /api/v1/usage-events', () => {
  let server: TestServer;
  let m: Merchant;
  beforeAll(async () => {
    server = await startTestServer();
    m = await signupMerchant(server);
    await addCustomer(server, m, 'user_42');
  });
  afterAll(async () => server.stop());

  describe('statuses', () => {
    it('answers 200 with per-event results in input order for a mixed batch', async () => {
      const a = event();
      const b = event({ quantity: '-1' });
      const c = event({ idempotencyKey: a.idempotencyKey, quantity: '7' }); // same key later in the batch
      const d = event({ customerExternalId: 'nobody' });
      const res = await ingest(server, m.sandboxKey, { events: [a, b, c, d] });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.body).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2 });
      const [ra, rb, rc, rd] = res.body.results;
      expect(ra).toEqual({ idempotencyKey: a.idempotencyKey, status: 'accepted', eventId: expect.stringMatching(/^evt_[0-9a-z]{26}$/) });
      expect(rb).toEqual({ idempotencyKey: b.idempotencyKey, status: 'rejected', reason: 'invalid_quantity' });
      expect(rc).toEqual({ idempotencyKey: a.idempotencyKey, status: 'duplicate', eventId: ra.eventId });
      expect(rd).toEqual({ idempotencyKey: d.idempotencyKey, status: 'rejected', reason: 'unknown_customer' });
      const stored = await storedEvent(server, m, ra.eventId);
      expect(stored).toMatchObject({ eventId: ra.eventId, environment: 'sandbox', idempotencyKey: a.idempotencyKey, quantity: '12500', metric: 'tokens_input' });
      expect(await storedEvent(server, m, ra.eventId, 'live')).toBeUndefined();
    });

    it('answers 401 without credentials and with a bad or revoked-looking key', async () => {
      const none = await server.call('POST', '/api/v1/usage-events', { body: { events: [event()] } });
      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ ok: false, error: 'auth_required' });
      const bad = await ingest(server, 'bm_sandbox_AAAAAAAAAAAA.' + 'x'.repeat(43), { events: [event()] });
      expect(bad.status).toBe(401);
      expect(bad.body.error).toBe('api_key_invalid');
      const tampered = await ingest(server, m.sandboxKey.slice(0, -1) + (m.sandboxKey.endsWith('a') ? 'b' : 'a'), { events: [event()] });
      expect(tampered.status).toBe(401);
    });

    it('answers 403 scope_missing for a key without usage:write, and accepts X-Api-Key and a JWT session', async () => {
      const other = await signupMerchant(server);
      await addCustomer(server, other, 'user_42');
      const viaHeader = await server.call('POST', '/api/v1/usage-events', { headers: { 'x-api-key': other.sandboxKey }, body: { events: [event()] } });
      expect(viaHeader.status).toBe(200);
      const viaJwt = await ingest(server, other.token, { events: [event()] });
      expect(viaJwt.status).toBe(200);
      const rotated = await server.call('POST', '/api/v1/merchants/me/rotate-key', {
        headers: { authorization: `Bearer ${other.token}` },
        body: { environment: 'sandbox', scopes: ['customers:read'] },
      });
      expect(rotated.status).toBe(200);
      const res = await ingest(server, rotated.body.apiKey, { events: [event()] });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ ok: false, error: 'scope_missing' });
      const old = await ingest(server, other.sandboxKey, { events: [event()] });
      expect(old.status).toBe(401); // rotation revokes at once
    });

    it('answers 403 merchant_suspended for a suspended merchant, at once', async () => {
      const other = await signupMerchant(server);
      await addCustomer(server, other, 'user_42');
      expect((await ingest(server, other.sandboxKey, { events: [event()] })).status).toBe(200);
      await server.db.kysely.updateTable('merchants').set({ status: 'suspended' }).where('id', '=', other.id).execute();
      const res = await ingest(server, other.sandboxKey, { events: [event()] });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ ok: false, error: 'merchant_suspended' });
    });

    it('answers 413 batch_too_large above 500 events, and 200 at exactly 500', async () => {
      const res = await ingest(server, m.sandboxKey, { events: Array.from({ length: 501 }, () => event()) });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ ok: false, error: 'batch_too_large' });
      const ok = await ingest(server, m.sandboxKey, { events: Array.from({ length: 500 }, () => event()) });
      expect(ok.status).toBe(200);
      expect(ok.body.accepted).toBe(500);
      expect(ok.body.results).toHaveLength(500);
    });

    it('answers 413 payload_too_large for a body over the byte limit', async () => {
      const res = await ingestRaw(server, m.sandboxKey, `{"events":[${'"x",'.repeat(2_200_000)}"x"]}`);
      expect(res.status).toBe(413);
      expect(res.body.error).toBe('payload_too_large');
    });

    it('answers 422 for malformed JSON and malformed envelopes', async () => {
      const cases: Array<[string, string]> = [
        ['{"events": [', 'malformed_json'],
        ['', 'malformed_json'],
        ['[]', 'invalid_batch'],
        ['"events"', 'invalid_batch'],
        ['null', 'invalid_batch'],
        ['{}', 'invalid_batch'],
        ['{"events": {}}', 'invalid_batch'],
        ['{"events": []}', 'invalid_batch'],
        [`{"events": [${JSON.stringify(event())}], "extra": 1}`, 'invalid_batch'],
      ];
      for (const [body, code] of cases) {
        const res = await ingestRaw(server, m.sandboxKey, body);
        expect(res.status, body).toBe(422);
        expect(res.body, body).toMatchObject({ ok: false, error: code, message: expect.any(String) });
      }
    });

    it('answers 422 all_events_rejected with per-event results when nothing could be processed', async () => {
      const res = await ingest(server, m.sandboxKey, { events: [event({ metric: 'nope' }), event({ customerExternalId: 'ghost' })] });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ ok: false, error: 'all_events_rejected', accepted: 0, duplicates: 0, rejected: 2 });
      expect(res.body.results.map((r: any) => r.reason)).toEqual(['invalid_metric', 'unknown_customer']);
    });

    it('answers 200 when every event is a duplicate (duplicates are processed)', async () => {
      const e = event();
      await ingest(server, m.sandboxKey, { events: [e] });
      const res = await ingest(server, m.sandboxKey, { events: [e] });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: 0, duplicates: 1, rejected: 0 });
    });
  });

  describe('reasons', () => {
    const future = () => new Date(Date.now() + 10 * 60_000).toISOString();
    const cases: Array<[string, unknown, string]> = [
      ['not an object', 'just a string', 'invalid_event'],
      ['null event', null, 'invalid_event'],
      ['unknown field', { extra: 'x' }, 'unknown_field'],
      ['missing idempotencyKey', { idempotencyKey: undefined }, 'invalid_idempotency_key'],
      ['empty idempotencyKey', { idempotencyKey: '' }, 'invalid_idempotency_key'],
      ['idempotencyKey too long', { idempotencyKey: 'k'.repeat(256) }, 'invalid_idempotency_key'],
      ['numeric idempotencyKey', { idempotencyKey: 42 }, 'invalid_idempotency_key'],
      ['missing customerExternalId', { customerExternalId: undefined }, 'invalid_customer_external_id'],
      ['customerExternalId too long', { customerExternalId: 'c'.repeat(256) }, 'invalid_customer_external_id'],
      ['unknown metric', { metric: 'tokens' }, 'invalid_metric'],
      ['quantity as a number', { quantity: 12500 }, 'invalid_quantity'],
      ['negative quantity', { quantity: '-5' }, 'invalid_quantity'],
      ['fractional quantity', { quantity: '1.5' }, 'invalid_quantity'],
      ['exponent quantity', { quantity: '1e3' }, 'invalid_quantity'],
      ['empty quantity', { quantity: '' }, 'invalid_quantity'],
      ['79-digit quantity', { quantity: '9'.repeat(79) }, 'invalid_quantity'],
      ['occurredAt without zone', { occurredAt: '2026-05-25T10:00:00' }, 'invalid_occurred_at'],
      ['occurredAt on Feb 30', { occurredAt: '2026-02-30T10:00:00Z' }, 'invalid_occurred_at'],
      ['occurredAt as a number', { occurredAt: 1770000000000 }, 'invalid_occurred_at'],
      ['occurredAt in the future', { occurredAt: future() }, 'occurred_at_in_future'],
      ['dimensions as an array', { dimensions: ['a'] }, 'invalid_dimensions'],
      ['dimensions null', { dimensions: null }, 'invalid_dimensions'],
      ['nested dimensions', { dimensions: { a: { b: 'c' } } }, 'invalid_dimensions'],
      ['numeric dimension value', { dimensions: { a: 1 } }, 'invalid_dimensions'],
      ['empty dimension key', { dimensions: { '': 'x' } }, 'invalid_dimensions'],
      ['17 dimensions', { dimensions: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'dimensions_too_large'],
      ['dimension key of 65', { dimensions: { ['k'.repeat(65)]: 'v' } }, 'dimensions_too_large'],
      ['dimension value of 257', { dimensions: { k: 'v'.repeat(257) } }, 'dimensions_too_large'],
      ['unknown customer', { customerExternalId: 'never_seen' }, 'unknown_customer'],
    ];
    for (const [name, patch, reason] of cases) {
      it(`rejects ${name} with ${reason}`, async () => {
        const ok = event();
        const bad = typeof patch === 'object' && patch !== null ? JSON.parse(JSON.stringify({ ...event(), ...patch })) : patch;
        const res = await ingest(server, m.sandboxKey, { events: [ok, bad] });
        expect(res.status).toBe(200);
        expect(res.body.results[0].status).toBe('accepted');
        expect(res.body.results[1]).toMatchObject({ status: 'rejected', reason });
        expect(res.body.results[1].eventId).toBeUndefined();
      });
    }

    it('rejects events for an archived customer with customer_archived', async () => {
      await addCustomer(server, m, 'archived_user', { status: 'archived' });
      const res = await ingest(server, m.sandboxKey, { events: [event({ customerExternalId: 'archived_user' })] });
      expect(res.status).toBe(422);
      expect(res.body.results[0]).toMatchObject({ status: 'rejected', reason: 'customer_archived' });
    });

    it('rejects events in an invoiced period with period_closed, but still calls a retry of a stored event a duplicate', async () => {
      const customerId = await addCustomer(server, m, 'closing_user');
      const stored = event({ customerExternalId: 'closing_user', occurredAt: '2026-04-10T00:00:00Z' });
      const first = await ingest(server, m.sandboxKey, { events: [stored] });
      expect(first.body.results[0].status).toBe('accepted');
      await lockCustomerUsageUntil(server.ctx, customerId, new Date('2026-05-01T00:00:00Z'));
      const late = event({ customerExternalId: 'closing_user', occurredAt: '2026-04-30T23:59:59.999Z' });
      const open = event({ customerExternalId: 'closing_user', occurredAt: '2026-05-01T00:00:00Z' });
      const offset = event({ customerExternalId: 'closing_user', occurredAt: '2026-05-01T01:00:00+02:00' }); // 2026-04-30T23:00Z
      const res = await ingest(server, m.sandboxKey, { events: [late, open, stored, offset] });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: any) => r.reason ?? r.status)).toEqual(['period_closed', 'accepted', 'duplicate', 'period_closed']);
      expect(res.body.results[2].eventId).toBe(first.body.results[0].eventId);
    });

    it('creates unknown customers on first use once the merchant enabled autoCreateCustomers', async () => {
      const other = await signupMerchant(server);
      const before = await ingest(server, other.sandboxKey, { events: [event({ customerExternalId: 'new_user' })] });
      expect(before.body.results[0].reason).toBe('unknown_customer');
      const patch = await server.call('PATCH', '/api/v1/merchants/me', { headers: { authorization: `Bearer ${other.token}` }, body: { autoCreateCustomers: true } });
      expect(patch.status).toBe(200);
      const res = await ingest(server, other.sandboxKey, {
        events: [event({ customerExternalId: 'new_user' }), event({ customerExternalId: 'new_user' }), event({ customerExternalId: 'other_new' })],
      });
      expect(res.body.accepted).toBe(3);
      const customers = await server.db.kysely.selectFrom('customers').selectAll().where('merchant_id', '=', other.id).orderBy('external_id').execute();
      expect(customers.map((c) => [c.external_id, c.name, c.auto_created, c.environment, c.status])).toEqual([
        ['new_user', 'new_user', 1, 'sandbox', 'active'],
        ['other_new', 'other_new', 1, 'sandbox', 'active'],
      ]);
      const rows = await storedEvents(server, other.id);
      expect(new Set(rows.map((r) => r.customerId))).toEqual(new Set(customers.map((c) => c.id)));
    });
  });

  describe('stored data', () => {
    it('stores quantities of 10^30 and 10^40 exactly, canonicalising leading zeros', async () => {
      const e30 = event({ quantity: '1' + '0'.repeat(30) });
      const e40 = event({ quantity: '1' + '0'.repeat(40) });
      const big = event({ quantity: '9'.repeat(78) });
      const padded = event({ quantity: '000123' });
      const zero = event({ quantity: '0000' });
      const res = await ingest(server, m.sandboxKey, { events: [e30, e40, big, padded, zero] });
      expect(res.body.accepted).toBe(5);
      const rows = await Promise.all(res.body.results.map((r: any) => storedEvent(server, m, r.eventId).then((e) => e!)));
      expect(rows.map((r) => r.quantity)).toEqual(['1' + '0'.repeat(30), '1' + '0'.repeat(40), '9'.repeat(78), '123', '0']);
      const sum = rows.reduce((acc, r) => acc + BigInt(r.quantity), 0n);
      expect(sum.toString()).toBe((10n ** 30n + 10n ** 40n + 10n ** 78n - 1n + 123n).toString());
    });

    it('echoes every idempotencyKey exactly, whatever characters it holds (escaped in the response as JSON needs)', async () => {
      const stamp = Date.now();
      const odd = [`q"uote-${stamp}`, `back\\slash-${stamp}`, `ünïcödé-中文-${stamp}`, `del\u007f-${stamp}`, `tab\t-${stamp}`];
      const plain = [`plain-a-${stamp}`, `plain-del\u007f-${stamp}`, `plain-b~!#$%&'()*+,-./:;<=>?@[]^_\`{|}-${stamp}`];
      // All plain: the scanner's path; with odd keys: the general path. Both answer the same way.
      for (const keys of [plain, [...odd, ...plain.map((k) => `${k}-2`)]]) {
        const res = await ingest(server, m.sandboxKey, { events: keys.map((k) => event({ idempotencyKey: k })) });
        expect(res.status).toBe(200);
        expect(res.body.results.map((r: any) => r.idempotencyKey)).toEqual(keys);
        expect(res.body.results.every((r: any) => r.status === 'accepted')).toBe(true);
        const again = await ingest(server, m.sandboxKey, { events: keys.map((k) => event({ idempotencyKey: k })) });
        expect(again.body.results.map((r: any) => [r.idempotencyKey, r.status])).toEqual(keys.map((k) => [k, 'duplicate']));
      }
    });

    it('stores occurredAt in UTC and dimensions as canonical JSON with sorted keys', async () => {
      const e = event({ occurredAt: '2026-04-01T12:00:00.123456+08:00', dimensions: { region: 'us-east-1', model: 'gpt-5', 'a"b': 'x\ny' } });
      const none = event({ dimensions: undefined });
      const res = await ingest(server, m.sandboxKey, { events: [e, none] });
      const row = (await storedEvent(server, m, res.body.results[0].eventId))!;
      expect(row.occurredAt).toBe('2026-04-01T04:00:00.123Z');
      expect(row.dimensions).toBe('{"a\\"b":"x\\ny","model":"gpt-5","region":"us-east-1"}');
      const plain = (await storedEvent(server, m, res.body.results[1].eventId))!;
      expect(plain.dimensions).toBe('{}');
    });
  });

  describe('dedupe', () => {
    it('dedupes across batches, answering the original eventId', async () => {
      const a = event();
      const b = event();
      const first = await ingest(server, m.sandboxKey, { events: [a, b] });
      const second = await ingest(server, m.sandboxKey, { events: [b, event(), a] });
      expect(second.body.results.map((r: any) => r.status)).toEqual(['duplicate', 'accepted', 'duplicate']);
      expect(second.body.results[0].eventId).toBe(first.body.results[1].eventId);
      expect(second.body.results[2].eventId).toBe(first.body.results[0].eventId);
    });

    it('leaves exactly one event per key when many clients fire overlapping keys at once', async () => {
      const other = await signupMerchant(server);
      await addCustomer(server, other, 'user_42');
      const keys = Array.from({ length: 60 }, (_, i) => `race_${i}`);
      const occurredAt = NOW();
      // 20 concurrent batches, each a different overlapping window of 30 keys, shuffled.
      const batches = Array.from({ length: 20 }, (_, c) => {
        const window = Array.from({ length: 30 }, (_, i) => keys[(c * 3 + i) % keys.length]);
        window.sort(() => Math.random() - 0.5);
        return { events: window.map((k) => ({ customerExternalId: 'user_42', idempotencyKey: k, metric: 'agent_run', quantity: '1', occurredAt })) };
      });
      const responses = await Promise.all(batches.map((b) => ingest(server, other.sandboxKey, b)));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      const rows = await storedEvents(server, other.id);
      expect(rows).toHaveLength(keys.length);
      const idByKey = new Map(rows.map((r) => [r.idempotencyKey, r.eventId]));
      expect(idByKey.size).toBe(keys.length);
      const acceptedPerKey = new Map<string, number>();
      for (const r of responses.flatMap((x) => x.body.results)) {
        expect(r.eventId).toBe(idByKey.get(r.idempotencyKey)); // every answer names the one stored event
        if (r.status === 'accepted') acceptedPerKey.set(r.idempotencyKey, (acceptedPerKey.get(r.idempotencyKey) ?? 0) + 1);
      }
      expect([...acceptedPerKey.values()].every((n) => n === 1)).toBe(true);
      expect(acceptedPerKey.size).toBe(keys.length);
    });
  });

  describe('environments', () => {
    it('keeps merchants apart: the same idempotencyKey is accepted for each', async () => {
      const a = await signupMerchant(server);
      const b = await signupMerchant(server);
      await addCustomer(server, a, 'user_42');
      await addCustomer(server, b, 'user_42');
      const e = event({ idempotencyKey: 'shared-key-1' });
      const ra = await ingest(server, a.sandboxKey, { events: [e] });
      const rb = await ingest(server, b.sandboxKey, { events: [e] });
      expect(ra.body.results[0].status).toBe('accepted');
      expect(rb.body.results[0].status).toBe('accepted');
      expect(ra.body.results[0].eventId).not.toBe(rb.body.results[0].eventId);
    });

    it('keeps sandbox and live apart: a live event and a live customer are invisible to a sandbox key', async () => {
      const a = await signupMerchant(server);
      await addCustomer(server, a, 'user_42');
      await addCustomer(server, a, 'live_only', { environment: 'live' });
      const liveCustomer = await addCustomer(server, a, 'user_42', { environment: 'live' });
      // A live event with the same key, stored as the live writer would (live keys need KYB).
      await insertUsageRowForTest(server.db, {
        merchantId: a.id,
        environment: 'live',
        customerId: liveCustomer,
        idempotencyKey: 'same-key',
        metric: 'tokens_input',
        quantity: '1',
        occurredAt: new Date().toISOString(),
      });
      const [live] = await listStoredUsageEvents(server.ctx, a.id, { environment: 'live' });
      const res = await ingest(server, a.sandboxKey, { events: [event({ idempotencyKey: 'same-key' }), event({ customerExternalId: 'live_only' })] });
      expect(res.body.results[0]).toMatchObject({ status: 'accepted' });
      expect(res.body.results[0].eventId).not.toBe(live.eventId);
      expect(await storedEvent(server, a, live.eventId, 'sandbox')).toBeUndefined();
      expect((await storedEvent(server, a, live.eventId, 'live'))!.customerId).toBe(liveCustomer);
      expect(res.body.results[1]).toMatchObject({ status: 'rejected', reason: 'unknown_customer' });
      const rows = await storedEvents(server, a.id);
      expect(rows.map((r) => [r.environment, r.idempotencyKey]).sort()).toEqual([
        ['live', 'same-key'],
        ['sandbox', 'same-key'],
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    it('replays the stored response byte for byte with Idempotent-Replayed: true, executing once', async () => {
      const body = JSON.stringify({ events: [event(), event({ quantity: 'x' })] });
      const first = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-replay-1' });
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-replay-1' });
      expect(second.status).toBe(200);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.text).toBe(first.text);
      expect(second.body.results[0].status).toBe('accepted'); // not "duplicate": it is the first answer
      expect(await storedEvent(server, m, first.body.results[0].eventId)).toBeDefined();
    });

    it('replays a stored 422 all_events_rejected as well', async () => {
      const body = JSON.stringify({ events: [event({ customerExternalId: 'ghost' })] });
      const first = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-422' });
      expect(first.status).toBe(422);
      await addCustomer(server, m, 'ghost'); // would be accepted now, but the answer is fixed
      const second = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-422' });
      expect(second.status).toBe(422);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.text).toBe(first.text);
    });

    it('answers 409 idempotency_key_reused for the same key with a different body (even a whitespace change)', async () => {
      const e = event();
      const first = await ingestRaw(server, m.sandboxKey, JSON.stringify({ events: [e] }), { 'idempotency-key': 'batch-reuse' });
      expect(first.status).toBe(200);
      const other = await ingestRaw(server, m.sandboxKey, JSON.stringify({ events: [event()] }), { 'idempotency-key': 'batch-reuse' });
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({ ok: false, error: 'idempotency_key_reused' });
      const spaced = await ingestRaw(server, m.sandboxKey, JSON.stringify({ events: [e] }, null, 1), { 'idempotency-key': 'batch-reuse' });
      expect(spaced.status).toBe(409);
    });

    it('answers 409 idempotency_key_in_use while the first request is still running, then replays', async () => {
      const service = usageIngestFor(server.ctx);
      const body = JSON.stringify({ events: [event()] });
      const resume = service.pauseWrites();
      let first: Promise<Awaited<ReturnType<typeof ingestRaw>>>;
      try {
        first = ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-in-flight' });
        while (service.pendingBatches === 0) await new Promise((r) => setTimeout(r, 5));
        const second = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-in-flight' });
        expect(second.status).toBe(409);
        expect(second.body).toMatchObject({ ok: false, error: 'idempotency_key_in_use' });
        const different = await ingestRaw(server, m.sandboxKey, JSON.stringify({ events: [event()] }), { 'idempotency-key': 'batch-in-flight' });
        expect(different.status).toBe(409);
        expect(different.body.error).toBe('idempotency_key_reused');
      } finally {
        resume();
      }
      const done = await first!;
      expect(done.status).toBe(200);
      const replay = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-in-flight' });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.text).toBe(done.text);
    });

    it('scopes keys per merchant and environment', async () => {
      const other = await signupMerchant(server);
      await addCustomer(server, other, 'user_42');
      const body = JSON.stringify({ events: [event()] });
      const mine = await ingestRaw(server, m.sandboxKey, body, { 'idempotency-key': 'batch-scoped' });
      const theirs = await ingestRaw(server, other.sandboxKey, body, { 'idempotency-key': 'batch-scoped' });
      expect(mine.status).toBe(200);
      expect(theirs.status).toBe(200);
      expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    });

    it('stores nothing for requests refused before execution', async () => {
      const bad = await ingestRaw(server, m.sandboxKey, '{"events":', { 'idempotency-key': 'batch-malformed' });
      expect(bad.status).toBe(422);
      const good = await ingestRaw(server, m.sandboxKey, JSON.stringify({ events: [event()] }), { 'idempotency-key': 'batch-malformed' });
      expect(good.status).toBe(200);
      expect(good.headers.get('idempotent-replayed')).toBeNull();
    });

    it('replays records stored before outcomes moved out of core (rendered HTTP bodies) byte for byte', async () => {
      const results = '[{"idempotencyKey":"legacy-1","status":"rejected","reason":"unknown_customer"}]';
      const stored = [
        {
          key: 'batch-legacy-422',
          status: 422,
          body: `{"ok":false,"error":"all_events_rejected","message":"Every event in the batch was rejected; see results[].reason","accepted":0,"duplicates":0,"rejected":1,"results":${results}}`,
        },
        {
          key: 'batch-legacy-200',
          status: 200,
          body: '{"accepted":1,"duplicates":0,"rejected":0,"results":[{"idempotencyKey":"legacy-2","status":"accepted","eventId":"evt_01jold0000000000000000000c"}]}',
        },
      ];
      for (const [i, r] of stored.entries()) {
        const requestBody = JSON.stringify({ events: [event({ idempotencyKey: `legacy-${i + 1}` })] });
        const now = new Date();
        await server.db.kysely
          .insertInto('idempotency_records')
          .values({
            merchant_id: m.id,
            environment: 'sandbox',
            idempotency_key: r.key,
            request_hash: createHash('sha256').update(requestBody).digest('hex'),
            state: 'completed',
            response_status: r.status,
            response_body: r.body,
            created_at: now.toISOString(),
            expires_at: new Date(now.getTime() + 3_600_000).toISOString(),
          })
          .execute();
        const replay = await ingestRaw(server, m.sandboxKey, requestBody, { 'idempotency-key': r.key });
        expect(replay.status).toBe(r.status);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.text).toBe(r.body);
      }
    });

    it('refuses an over-long Idempotency-Key header', async () => {
      const res = await ingest(server, m.sandboxKey, { events: [event()] }, { 'idempotency-key': 'k'.repeat(256) });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('invalid_idempotency_key_header');
    });
  });

  describe('served before Express (lean route)', () => {
    const pick = (h: Headers) => ({ type: h.get('content-type'), nosniff: h.get('x-content-type-options'), cache: h.get('cache-control') });

    it('answers exactly as the Express path does (a trailing slash still goes through Express)', async () => {
      const lean = await ingest(server, m.sandboxKey, { events: [event({ idempotencyKey: 'lean-parity-1' })] });
      const viaExpress = await server.call('POST', '/api/v1/usage-events/', {
        headers: { authorization: `Bearer ${m.sandboxKey}` },
        body: { events: [event({ idempotencyKey: 'lean-parity-2' })] },
      });
      expect(lean.status).toBe(200);
      expect(viaExpress.status).toBe(200);
      expect(pick(lean.headers)).toEqual({ type: 'application/json; charset=utf-8', nosniff: 'nosniff', cache: 'no-store' });
      expect(pick(viaExpress.headers)).toEqual(pick(lean.headers));
      expect(Object.keys(lean.body)).toEqual(Object.keys(viaExpress.body));
      expect(lean.body.results[0].status).toBe('accepted');
      expect(viaExpress.body.results[0].status).toBe('accepted');
    });

    it('gives the same error bodies, statuses and headers on both paths', async () => {
      const cases: Array<[string, Record<string, string>, string]> = [
        ['no credentials', {}, '{"events":[]}'],
        ['a bad key', { authorization: 'Bearer bm_test_nope' }, '{"events":[]}'],
        ['malformed JSON', { authorization: `Bearer ${m.sandboxKey}` }, '{"events":['],
        ['an empty batch', { authorization: `Bearer ${m.sandboxKey}` }, '{"events":[]}'],
        ['a compressed body', { authorization: `Bearer ${m.sandboxKey}`, 'content-encoding': 'gzip' }, '{"events":[]}'],
        ['too many events', { authorization: `Bearer ${m.sandboxKey}` }, `{"events":[${'"x",'.repeat(500)}"x"]}`],
        ['a body above the size limit', { authorization: `Bearer ${m.sandboxKey}` }, ' '.repeat(9 * 1024 * 1024)],
      ];
      for (const [label, headers, rawBody] of cases) {
        const send = (path: string) => server.call('POST', path, { headers: { 'content-type': 'application/json', ...headers }, rawBody });
        const lean = await send('/api/v1/usage-events');
        const viaExpress = await send('/api/v1/usage-events/');
        expect(lean.status, label).toBeGreaterThanOrEqual(400);
        expect(viaExpress.status, label).toBe(lean.status);
        expect(viaExpress.text, label).toBe(lean.text);
        expect(pick(viaExpress.headers), label).toEqual(pick(lean.headers));
      }
    });

    it('serves the path with a query string, and leaves other methods to Express', async () => {
      const withQuery = await server.call('POST', '/api/v1/usage-events?source=sdk', {
        headers: { authorization: `Bearer ${m.sandboxKey}` },
        body: { events: [event({ idempotencyKey: 'lean-query-1' })] },
      });
      expect(withQuery.status).toBe(200);
      expect(withQuery.body.accepted).toBe(1);
      const get = await server.call('GET', '/api/v1/usage-events', { headers: { authorization: `Bearer ${m.sandboxKey}` } });
      expect(get.status).toBe(405);
      expect(get.body.error).toBe('method_not_allowed');
      expect(get.headers.get('allow')).toBe('POST');
    });
  });

  describe('OpenAPI', () => {
    it('documents /api/v1/usage-events with its schemas, reasons and the Idempotency-Key header', async () => {
      const doc = (await server.call('GET', '/api/openapi')).body;
      const op = doc.paths['/api/v1/usage-events'].post;
      expect(op.operationId).toBe('ingestUsageEvents');
      expect(op.security).toEqual(expect.arrayContaining([{ bearerApiKey: ['usage:write'] }]));
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]));
      expect(JSON.stringify(op.requestBody)).toContain('UsageEventBatch');
      // Statuses every route has (400 for headers, 500) come from the OpenAPI builder; these are this route's own.
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '409', '413', '415', '422', '503']));
      expect(JSON.stringify(op.responses['200'])).toContain('UsageEventIngestResult');
      const input = doc.components.schemas.UsageEventInput;
      expect(input.required.sort()).toEqual(['customerExternalId', 'idempotencyKey', 'metric', 'occurredAt', 'quantity']);
      expect(input.properties.metric.enum).toEqual(['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb']);
      for (const reason of ['unknown_customer', 'period_closed', 'occurred_at_in_future', 'dimensions_too_large', 'invalid_quantity']) {
        expect(op.description).toContain(reason);
      }
      expect(doc.components.schemas.UsageEventBatch.properties.events.maxItems).toBe(500);
    });
  });
});
