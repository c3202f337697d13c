import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, CoreContext } from '../../../core/context/index.js';
import { inTransaction } from '../../../core/db/transaction.js';
import { recordEvent } from '../../../core/events/index.js';
import { signup } from '../../../core/merchants/accounts.js';
import { createStaff } from '../../../core/staff/index.js';
import { createWebhookEndpoint, deliverDueWebhooks, fanOutEvents } from '../../../core/webhooks/index.js';
import { startWebhookDelivery } from '../../../server/workers/webhook-delivery.js';
import type { Seed } from './index.js';

/**
 * The Webhooks screen's own world (test/browser/webhooks.spec.ts): a merchants' webhook receiver
 * on 127.0.0.1 (ok → 200, failing → 503 with a JSON body, gone → 410), two merchants with
 * endpoints, and deliveries driven through core's own delivery step with a clock moved along the
 * retry schedule:
 * - Heron Analytics (live): an endpoint that has failed every attempt for four days — one
 *   invoice.paid that used all 10 attempts (failed, resendable), one invoice.refunded still being
 *   retried — and a sandbox endpoint that answers;
 * - Osprey Vision (live): an endpoint that answers (invoice.paid, invoice.finalized delivered) and
 *   one disabled at once by 410 Gone.
 * Then the server's real delivery worker runs on the real clock, so a resend from the screen gets
 * a new attempt within a second. Private webhook URLs are allowed only in this seed's context.
 */
export const WEBHOOKS_MERCHANT = 'Heron Analytics';
export const WEBHOOKS_OTHER_MERCHANT = 'Osprey Vision';

const DAY = 86_400_000;

export const seedWebhooks: Seed = async ({ ctx, db, staff, password }) => {
  // An admin of its own (resend is admin and support), so its codes race no other test.
  const email = 'webhooks.admin@buffmoney.test';
  const created = await createStaff(ctx, { email, role: 'admin', password }, null);
  staff.webhooks = { email, password, totpSecret: created.totpSecret };

  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/hooks/failing')) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"upstream database unavailable"}');
      else if (req.url?.startsWith('/hooks/gone')) res.writeHead(410).end('endpoint removed');
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver.unref();
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  // Four days ago, moved along as the retry schedule asks.
  let at = new Date(Date.now() - 4 * DAY);
  const clock: Clock = { now: () => at };
  const past: CoreContext = { ...ctx, clock, policy: { production: false, allowPrivateWebhooks: true } };

  const heron = await signup(ctx, { name: WEBHOOKS_MERCHANT, email: 'dev@heron-analytics.test', password: 'merchant password 7' } as never);
  const osprey = await signup(ctx, { name: WEBHOOKS_OTHER_MERCHANT, email: 'dev@osprey-vision.test', password: 'merchant password 8' } as never);
  const live = (merchantId: string) => ({ merchantId, environment: 'live' as const });
  await createWebhookEndpoint(past, live(heron.id), { url: `${base}/hooks/failing/heron`, eventTypes: ['invoice.paid', 'invoice.refunded'], description: 'Billing service' });
  await createWebhookEndpoint(past, { merchantId: heron.id, environment: 'sandbox' }, { url: `${base}/hooks/ok/heron-sandbox` });
  await createWebhookEndpoint(past, live(osprey.id), { url: `${base}/hooks/ok/osprey`, eventTypes: ['invoice.paid', 'invoice.finalized'] });
  await createWebhookEndpoint(past, live(osprey.id), { url: `${base}/hooks/gone/osprey-old`, eventTypes: ['invoice.finalized'] });

  const event = (merchantId: string, environment: 'live' | 'sandbox', type: 'invoice.paid' | 'invoice.refunded' | 'invoice.finalized', invoice: string) =>
    inTransaction(past, (tx) => recordEvent(tx, { type, merchantId, environment, data: { _id: invoice, object: 'invoice', status: type.split('.')[1] } }));

  /** Delivers what is due, moving the clock to each next due time, until nothing is due before `until`. */
  const driveUntil = async (until: number) => {
    for (;;) {
      await fanOutEvents(past, { worker: 'browser-seed' });
      await deliverDueWebhooks(past, { worker: 'browser-seed', timeoutMs: 5_000 });
      const next = await db.kysely
        .selectFrom('webhook_deliveries')
        .select('due_at')
        .where('status', '=', 'pending')
        .where('merchant_id', 'in', [heron.id, osprey.id])
        .orderBy('due_at')
        .executeTakeFirst();
      if (!next || Date.parse(next.due_at) > until) return;
      at = new Date(Math.max(at.getTime(), Date.parse(next.due_at)) + 1);
    }
  };

  await event(heron.id, 'live', 'invoice.paid', 'inv_heron_0001');
  await event(heron.id, 'sandbox', 'invoice.paid', 'inv_heron_sbx_0001');
  await event(osprey.id, 'live', 'invoice.finalized', 'inv_osprey_0001');
  at = new Date(at.getTime() + 60_000);
  await event(osprey.id, 'live', 'invoice.paid', 'inv_osprey_0001b');
  // All 10 attempts of Heron's invoice.paid (about 3 days), up to two hours ago.
  await driveUntil(Date.now() - 2 * 3_600_000);
  at = new Date(Date.now() - 2 * 3_600_000);
  await event(heron.id, 'live', 'invoice.refunded', 'inv_heron_0002');
  // Its first attempts, up to now: it is being retried (its next attempt is in the future).
  await driveUntil(Date.now());

  const failed = await db.kysely
    .selectFrom('webhook_deliveries')
    .select(['status', 'attempts'])
    .where('merchant_id', '=', heron.id)
    .where('event_type', '=', 'invoice.paid')
    .where('environment', '=', 'live')
    .executeTakeFirstOrThrow();
  if (failed.status !== 'failed' || failed.attempts !== 10) throw new Error(`webhooks seed: expected a failed delivery after 10 attempts, got ${JSON.stringify(failed)}`);

  // The server's delivery worker on the real clock: a resend is tried at once.
  startWebhookDelivery({ ...ctx, policy: past.policy }, { pollMs: 500, worker: 'browser-suite', timeoutMs: 5_000, onError: (e) => console.error(e) });
};
