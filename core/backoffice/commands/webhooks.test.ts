import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../audit/index.js';
import { inTransaction } from '../../db/transaction.js';
import { recordEvent } from '../../events/index.js';
import { insertTestMerchant } from '../../testing/index.js';
import { type WebhookReceiver, startWebhookReceiver } from '../../testing/webhook-receiver.js';
import { createWebhookEndpoint, deliverDueWebhooks, fanOutEvents } from '../../webhooks/index.js';
import type { CommandResult } from '../registry.js';
import { type Harness, openHarness } from '../testing/harness.js';

const data = (r: CommandResult<any>) => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.data;
};

describe('webhook commands', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    h = await openHarness();
    h.ctx.policy = { production: false, allowPrivateWebhooks: true };
    receiver = await startWebhookReceiver(() => h.clock.now());
    await insertTestMerchant(h.ctx, 'mer_hook');
    await insertTestMerchant(h.ctx, 'mer_other');
  });
  afterEach(async () => {
    await receiver.close();
    await h.close();
  });

  it('lists failing endpoints and deliveries with filters, shows the attempt log, and resends (audited; admin only)', async () => {
    const failingEndpoint = await createWebhookEndpoint(h.ctx, { merchantId: 'mer_hook', environment: 'live' }, { url: `${receiver.url}/failing` });
    await createWebhookEndpoint(h.ctx, { merchantId: 'mer_other', environment: 'live' }, { url: `${receiver.url}/fine` });
    receiver.answer = (d) => (d.headers['webhook-id'] && receivedPath.get(d.headers['webhook-id']) === 'mer_hook' ? { status: 500, body: 'boom' } : { status: 200 });
    const receivedPath = new Map<string, string>();
    for (const merchantId of ['mer_hook', 'mer_other']) {
      const event = await inTransaction(h.ctx, (tx) => recordEvent(tx, { type: 'invoice.paid', merchantId, environment: 'live', data: { _id: `inv_${merchantId}` } }));
      receivedPath.set(event.id, merchantId);
    }
    await fanOutEvents(h.ctx, { worker: 'w' });
    await deliverDueWebhooks(h.ctx, { worker: 'w', timeoutMs: 2_000 });
    const failedAt = h.clock.now().toISOString();

    const support = await h.staff('support');
    const admin = await h.staff('admin');
    const endpoints = data(await h.run(support, 'webhooks:endpoints', { failing: true }));
    expect(endpoints.items.map((e: { id: string }) => e.id)).toEqual([failingEndpoint.id]);
    expect(endpoints.items[0]).toMatchObject({ merchantId: 'mer_hook', enabled: true, failingSince: failedAt });

    const failing = data(await h.run(support, 'webhooks:deliveries', { failing: true }));
    expect(failing.items).toHaveLength(1);
    expect(failing.items[0]).toMatchObject({ merchantId: 'mer_hook', status: 'pending', attempts: 1, lastStatusCode: 500, eventType: 'invoice.paid' });
    expect(data(await h.run(support, 'webhooks:deliveries', { merchant: 'mer_other', status: 'succeeded', eventType: 'invoice.paid' })).items).toHaveLength(1);
    expect(data(await h.run(support, 'webhooks:deliveries', { endpoint: failingEndpoint.id, eventType: 'test' })).items).toEqual([]);
    const bad = await h.run(support, 'webhooks:deliveries', { endpoint: 'nope' });
    expect(bad.ok).toBe(false);

    const shown = data(await h.run(support, 'webhooks:show', { delivery: failing.items[0].id }));
    expect(shown.attemptLog).toEqual([expect.objectContaining({ outcome: 'failed', statusCode: 500, responseExcerpt: 'boom', error: 'HTTP 500' })]);
    expect(shown.payload).toMatchObject({ type: 'invoice.paid', data: { _id: 'inv_mer_hook' } });

    // Still being retried: resend refuses; once failed, support resends it.
    const pending = await h.run(admin, 'webhooks:resend', { delivery: failing.items[0].id });
    expect(pending).toMatchObject({ ok: false, error: { code: 'webhook_delivery_pending' } });
    await h.db.kysely.updateTable('webhook_deliveries').set({ status: 'failed', due_at: '9999-12-31T23:59:59.999Z' }).where('id', '=', failing.items[0].id).execute();
    expect(await h.run(support, 'webhooks:resend', { delivery: failing.items[0].id })).toMatchObject({ ok: false, error: { code: 'role_forbidden' } });
    const resent = data(await h.run(admin, 'webhooks:resend', { delivery: failing.items[0].id }));
    expect(resent).toMatchObject({ id: failing.items[0].id, status: 'pending', nextAttemptAt: h.clock.now().toISOString() });
    const audit = await listAudit(h.ctx, { command: 'webhooks:resend', limit: 10 });
    expect(audit.map((e) => [e.outcome, e.errorCode])).toEqual([
      ['ok', null],
      ['error', 'role_forbidden'],
      ['error', 'webhook_delivery_pending'],
    ]);
  });
});
