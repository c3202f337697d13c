import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebhookReceiver, startWebhookReceiver } from '../../core/testing/webhook-receiver.js';
import { type TestServer, signupMerchant, startTestServer } from '../../test/helpers.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('/api/v1/webhook-endpoints (real HTTP; a receiver on 127.0.0.1 verifying with standardwebhooks)', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    server = await startTestServer({ config: { allowPrivateWebhooks: true, webhookDelivery: true, webhookPollMs: 60_000 } });
    receiver = await startWebhookReceiver(() => new Date());
  });
  afterAll(async () => {
    await server.stop();
    await receiver.close();
  });

  /** Worker rounds until the receiver has `count` deliveries (the worker's own timer may take some). */
  async function delivered(count: number) {
    for (let i = 0; i < 50 && receiver.received.length < count; i++) {
      await server.webhookDelivery!.runOnce();
      if (receiver.received.length < count) await new Promise((r) => setTimeout(r, 20));
    }
    expect(receiver.received).toHaveLength(count);
    return receiver.received[count - 1];
  }

  /** Worker rounds until a delivery matching `match` has arrived. */
  async function deliveredWhere(match: (payload: { type: string; data: any }) => boolean) {
    for (let i = 0; i < 50; i++) {
      const found = receiver.received.find((r) => match(r.payload as { type: string; data: any }));
      if (found) return found;
      await server.webhookDelivery!.runOnce();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no such delivery arrived');
  }

  it('creates (secret shown once), lists, reads, changes, tests, lists deliveries, resends and deletes an endpoint', async () => {
    const m = await signupMerchant(server);
    const key = { 'x-api-key': m.sandboxKey };
    const created = await server.call('POST', '/api/v1/webhook-endpoints', { headers: key, body: { url: receiver.url, eventTypes: ['invoice.paid'], description: 'billing' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ environment: 'sandbox', source: 'api', url: receiver.url, eventTypes: ['invoice.paid'], enabled: true, status: 'enabled' });
    expect(created.body.secret).toMatch(/^whsec_/);
    receiver.secrets.push(created.body.secret);
    const id: string = created.body.id;
    const list = await server.call('GET', '/api/v1/webhook-endpoints', { headers: key });
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([id]);
    expect(list.body.data[0].secret).toBeUndefined();
    const got = await server.call('GET', `/api/v1/webhook-endpoints/${id}`, { headers: bearer(m.token) });
    expect(got.status).toBe(200); // the dashboard JWT, sandbox by default
    const patched = await server.call('PATCH', `/api/v1/webhook-endpoints/${id}`, { headers: key, body: { eventTypes: ['*'], description: null } });
    expect(patched.body).toMatchObject({ eventTypes: ['*'], description: null });

    const test = await server.call('POST', `/api/v1/webhook-endpoints/${id}/test`, { headers: key });
    expect(test.status).toBe(202);
    expect(test.body).toMatchObject({ eventType: 'test', status: 'pending', attempts: 0 });
    const first = await delivered(1);
    expect(first.verifiedWith).toEqual([created.body.secret]);
    expect(first.payload).toMatchObject({ type: 'test', data: { endpointId: id, environment: 'sandbox' } });

    const deliveries = await server.call('GET', `/api/v1/webhook-endpoints/${id}/deliveries?status=succeeded&eventType=test`, { headers: key });
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.data).toHaveLength(1);
    const deliveryId: string = deliveries.body.data[0].id;
    expect(deliveries.body.data[0]).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, messageId: first.headers['webhook-id'] });
    expect((await server.call('GET', `/api/v1/webhook-endpoints/${id}/deliveries?status=failed`, { headers: key })).body.data).toEqual([]);
    const detail = await server.call('GET', `/api/v1/webhook-endpoints/${id}/deliveries/${deliveryId}`, { headers: key });
    expect(detail.body.attemptLog).toEqual([expect.objectContaining({ outcome: 'succeeded', statusCode: 200, responseExcerpt: 'ok', error: null })]);
    expect(detail.body.payload).toEqual(first.payload);

    const resent = await server.call('POST', `/api/v1/webhook-endpoints/${id}/deliveries/${deliveryId}/resend`, { headers: key });
    expect(resent.status).toBe(202);
    const again = await delivered(2);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.verifiedWith).toEqual([created.body.secret]);

    const rotated = await server.call('POST', `/api/v1/webhook-endpoints/${id}/rotate-secret`, { headers: key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    receiver.secrets.push(rotated.body.secret);
    await server.call('POST', `/api/v1/webhook-endpoints/${id}/test`, { headers: key });
    expect((await delivered(3)).verifiedWith).toEqual([created.body.secret, rotated.body.secret]);

    const deleted = await server.call('DELETE', `/api/v1/webhook-endpoints/${id}`, { headers: key });
    expect(deleted.body).toEqual({ id, deleted: true });
    expect((await server.call('GET', `/api/v1/webhook-endpoints/${id}`, { headers: key })).status).toBe(404);
  });

  it('answers bad input with the error envelope (never a 500), keeps environments apart, and checks scopes', async () => {
    const m = await signupMerchant(server);
    const key = { 'x-api-key': m.sandboxKey };
    const post = (body: unknown, headers: Record<string, string> = key) => server.call('POST', '/api/v1/webhook-endpoints', { headers, body });
    const cases: Array<[unknown, number, string]> = [
      [{ url: 'ftp://hooks.example/x' }, 400, 'webhook_url_invalid'],
      [{ url: 'not a url' }, 400, 'webhook_url_invalid'],
      [{ url: receiver.url, eventTypes: ['invoice.exploded'] }, 400, 'validation_failed'],
      [{ url: receiver.url, eventTypes: ['*', 'invoice.paid'] }, 400, 'validation_failed'],
      [{ url: receiver.url, eventTypes: [] }, 400, 'validation_failed'],
      [{ url: receiver.url, secret: 'whsec_mine' }, 400, 'validation_failed'],
      [{}, 400, 'validation_failed'],
      [[1, 2], 400, 'validation_failed'],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(body);
      expect([res.status, res.body], JSON.stringify(body)).toEqual([status, expect.objectContaining({ ok: false, error, message: expect.any(String) })]);
    }
    const malformed = await server.call('POST', '/api/v1/webhook-endpoints', { headers: { ...key, 'content-type': 'application/json' }, rawBody: '{"url":' });
    expect([malformed.status, malformed.body.error]).toEqual([400, 'malformed_json']);
    const bad = [
      ['GET', '/api/v1/webhook-endpoints?cursor=nope', 400, 'invalid_cursor'],
      ['GET', '/api/v1/webhook-endpoints?limit=0', 400, 'validation_failed'],
      ['GET', '/api/v1/webhook-endpoints/we_nope', 404, 'webhook_endpoint_not_found'],
      ['POST', '/api/v1/webhook-endpoints/we_nope/test', 404, 'webhook_endpoint_not_found'],
      ['GET', '/api/v1/webhook-endpoints/we_nope/deliveries?status=lost', 400, 'validation_failed'],
      ['POST', '/api/v1/webhook-endpoints/we_nope/deliveries/whd_nope/resend', 404, 'webhook_endpoint_not_found'],
    ] as const;
    for (const [method, path, status, error] of bad) {
      const res = await server.call(method, path, { headers: key });
      expect([res.status, res.body?.error], `${method} ${path}`).toEqual([status, error]);
    }
    expect((await server.call('GET', '/api/v1/webhook-endpoints')).status).toBe(401);

    // A live endpoint (dashboard JWT in live) is invisible to the sandbox key.
    const liveEndpoint = await post({ url: receiver.url }, { ...bearer(m.token), 'buffmoney-environment': 'live' });
    expect(liveEndpoint.body.environment).toBe('live');
    expect((await server.call('GET', `/api/v1/webhook-endpoints/${liveEndpoint.body.id}`, { headers: key })).status).toBe(404);
    expect((await server.call('GET', '/api/v1/webhook-endpoints', { headers: key })).body.data).toEqual([]);

    // A key without the webhook scopes.
    const narrow = await server.call('POST', '/api/v1/merchants/me/rotate-key', { headers: bearer(m.token), body: { environment: 'sandbox', scopes: ['usage:write'] } });
    expect(narrow.status).toBe(200);
    const refused = await server.call('GET', '/api/v1/webhook-endpoints', { headers: { 'x-api-key': narrow.body.apiKey } });
    expect([refused.status, refused.body.error, refused.body.requiredScope]).toEqual([403, 'scope_missing', 'webhooks:read']);
  });

  it('the profile webhookUrl is the live default endpoint: merchant.registered at signup reaches it, signed', async () => {
    const m = await signupMerchant(server, { webhookUrl: receiver.url });
    const live = { ...bearer(m.token), 'buffmoney-environment': 'live' };
    const list = await server.call('GET', '/api/v1/webhook-endpoints', { headers: live });
    expect(list.body.data).toEqual([expect.objectContaining({ source: 'profile', url: receiver.url, eventTypes: ['*'], environment: 'live' })]);
    const profileId: string = list.body.data[0].id;
    // Its URL and types are the profile's; its secret is had by rotating it.
    const moved = await server.call('PATCH', `/api/v1/webhook-endpoints/${profileId}`, { headers: live, body: { url: 'https://elsewhere.example/h' } });
    expect([moved.status, moved.body.error]).toEqual([409, 'webhook_endpoint_profile_managed']);
    expect((await server.call('DELETE', `/api/v1/webhook-endpoints/${profileId}`, { headers: live })).status).toBe(409);
    const rotated = await server.call('POST', `/api/v1/webhook-endpoints/${profileId}/rotate-secret`, { headers: live });
    receiver.secrets.push(rotated.body.secret);
    const registered = await deliveredWhere((p) => p.type === 'merchant.registered' && p.data.id === m.id);
    expect(registered.payload).toMatchObject({ type: 'merchant.registered', data: { id: m.id, webhookUrl: receiver.url } });
    expect(registered.verifiedWith).toContain(rotated.body.secret);
    // Sandbox endpoints do not see it.
    expect((await server.call('GET', '/api/v1/webhook-endpoints', { headers: { 'x-api-key': m.sandboxKey } })).body.data).toEqual([]);
    // Clearing webhookUrl (dashboard) removes the profile endpoint.
    expect((await server.call('PATCH', '/api/v1/merchants/me', { headers: bearer(m.token), body: { webhookUrl: null } })).status).toBe(200);
    expect((await server.call('GET', '/api/v1/webhook-endpoints', { headers: live })).body.data).toEqual([]);
  });

  it('the OpenAPI document describes every event in its webhooks section', async () => {
    const doc = (await server.call('GET', '/api/openapi')).body;
    expect(Object.keys(doc.webhooks).sort()).toEqual([
      'invoice.finalized',
      'invoice.paid',
      'invoice.refunded',
      'invoice.voided',
      'merchant.registered',
      'payout.completed',
      'test',
    ]);
    const paid = doc.webhooks['invoice.paid'].post;
    expect(paid.parameters.map((p: { name: string }) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    expect(paid.requestBody.content['application/json'].schema.properties.data).toEqual({ $ref: '#/components/schemas/Invoice' });
    expect(doc.paths['/api/v1/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/resend'].post).toBeDefined();
  });
});
