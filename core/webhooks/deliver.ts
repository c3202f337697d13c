import { type CoreContext, DAY } from '../context/index.js';
import { claimDueRows } from '../db/claim.js';
import { inTransaction } from '../db/transaction.js';
import { PARKED_DUE_AT } from './deliveries.js';
import { signingSecrets } from './endpoints.js';
import { parseRetryAfter, retryDelayMs } from './schedule.js';
import { DELIVERY_TIMEOUT_MS, EXCERPT_BYTES, type SendResult, sendWebhook } from './send.js';
import { webhookHeaders } from './signing.js';
import type { WebhookAttemptOutcome, WebhookDeliveriesTable, WebhookEndpointsTable } from './tables.js';

/**
 * The delivery step: claim due deliveries (core/db/claim.ts, a lease per claim), POST each
 * (send.ts: SSRF re-checked on the resolved address, 15 s, no redirects), log the attempt, and
 * settle the delivery — `succeeded` on a 2xx; otherwise the next attempt by the schedule
 * (schedule.ts, Retry-After honoured) or `failed` after the last. At-least-once: a worker that
 * dies mid-attempt leaves its lease to expire and the delivery is claimed again, same message,
 * same `webhook-id`. An answer that arrives after the lease was lost is logged `abandoned` and
 * changes nothing (the new holder's result stands).
 *
 * Endpoint health: `410 Gone` disables the endpoint at once (reason `gone`); an endpoint whose
 * every attempt has failed for FAILING_DISABLE_AFTER_MS is disabled (reason `failing`). Both show
 * in its status; its pending deliveries then end `failed` (resendable once it is re-enabled).
 *
 * Order and concurrency, per endpoint: deliveries are claimed oldest due first; at most
 * MAX_IN_FLIGHT_PER_ENDPOINT requests per endpoint per process at a time; and deliveries about
 * the same object (an invoice: finalized → paid → refunded) go one at a time in the order they
 * were made — a later one waits while an earlier one is still pending. Across objects there is
 * no ordering promise; every payload carries `timestamp` and the object's full state.
 */
export const FAILING_DISABLE_AFTER_MS = 5 * DAY;
export const MAX_IN_FLIGHT_PER_ENDPOINT = 4;
/** Longer than the request timeout, so a live attempt keeps its lease. */
export const DELIVERY_LEASE_MS = 60_000;
export const USER_AGENT = 'BuffMoney-Webhooks/1.0';

export interface DeliveryRoundOptions {
  /** Names this worker in leases and the attempt log (e.g. `buffmoney:server:<pid>`). */
  worker: string;
  limit?: number;
  timeoutMs?: number;
  leaseMs?: number;
}

export interface DeliveryRoundReport {
  claimed: number;
  succeeded: number;
  failed: number;
  /** Put back for later: per-endpoint cap, an earlier delivery about the same object pending. */
  deferred: number;
}

export async function deliverDueWebhooks(ctx: CoreContext, options: DeliveryRoundOptions): Promise<DeliveryRoundReport> {
  // A fresh lease token per claim: a worker that outlived its own lease must not mistake a
  // second claim of the same row for the first (nor two hosts with the same pid each other's).
  const token = `${options.worker}#${Buffer.from(ctx.randomBytes(8)).toString('hex')}`;
  const rows = await claimDueRows<WebhookDeliveriesTable>(ctx.db, {
    table: 'webhook_deliveries',
    worker: token,
    limit: options.limit ?? 20,
    now: ctx.clock.now(),
    leaseMs: options.leaseMs ?? DELIVERY_LEASE_MS,
  });
  const report: DeliveryRoundReport = { claimed: rows.length, succeeded: 0, failed: 0, deferred: 0 };
  const perEndpoint = new Map<string, number>();
  const work: Promise<void>[] = [];
  for (const row of rows) {
    const endpoint = await ctx.db.kysely.selectFrom('webhook_endpoints').selectAll().where('id', '=', row.endpoint_id).executeTakeFirstOrThrow();
    if (row.status !== 'pending' || endpoint.deleted_at !== null || endpoint.enabled !== 1) {
      await endUndeliverable(ctx, row, token, endpoint);
      report.failed++;
      continue;
    }
    const earlier = row.subject_id === null ? undefined : await earlierPendingAboutSameObject(ctx, row);
    const inFlight = perEndpoint.get(endpoint.id) ?? 0;
    if (earlier || inFlight >= MAX_IN_FLIGHT_PER_ENDPOINT) {
      await release(ctx, row, token, earlier && earlier.due_at > row.due_at ? earlier.due_at : row.due_at);
      report.deferred++;
      continue;
    }
    perEndpoint.set(endpoint.id, inFlight + 1);
    work.push(
      attempt(ctx, row, endpoint, token, options).then((ok) => {
        if (ok === true) report.succeeded++;
        else if (ok === false) report.failed++;
      }),
    );
  }
  await Promise.all(work);
  return report;
}

async function earlierPendingAboutSameObject(ctx: CoreContext, row: WebhookDeliveriesTable) {
  return ctx.db.kysely
    .selectFrom('webhook_deliveries')
    .select(['id', 'due_at'])
    .where('endpoint_id', '=', row.endpoint_id)
    .where('subject_id', '=', row.subject_id)
    .where('status', '=', 'pending')
    .where('id', '<', row.id)
    .orderBy('id')
    .executeTakeFirst();
}

async function release(ctx: CoreContext, row: WebhookDeliveriesTable, token: string, dueAt: string): Promise<void> {
  await ctx.db.kysely
    .updateTable('webhook_deliveries')
    .set({ leased_until: null, leased_by: null, due_at: dueAt })
    .where('id', '=', row.id)
    .where('leased_by', '=', token)
    .execute();
}

async function endUndeliverable(ctx: CoreContext, row: WebhookDeliveriesTable, token: string, endpoint: WebhookEndpointsTable): Promise<void> {
  const why = endpoint.deleted_at !== null ? 'endpoint deleted' : endpoint.enabled !== 1 ? `endpoint disabled (${endpoint.disabled_reason ?? 'merchant'})` : null;
  await ctx.db.kysely
    .updateTable('webhook_deliveries')
    .set({
      ...(row.status === 'pending' ? { status: 'failed' as const, last_error: why } : {}),
      due_at: PARKED_DUE_AT,
      leased_until: null,
      leased_by: null,
      updated_at: ctx.clock.now().toISOString(),
    })
    .where('id', '=', row.id)
    .where('leased_by', '=', token)
    .execute();
}

function randomUnit(ctx: CoreContext): number {
  return Buffer.from(ctx.randomBytes(4)).readUInt32BE(0) / 2 ** 32;
}

const bounded = (text: string | null, max = EXCERPT_BYTES) => (text === null ? null : text.length > max ? `${text.slice(0, max)}…` : text);

/** One attempt; true on success, false on failure, null when the result was abandoned (lease lost). */
async function attempt(ctx: CoreContext, row: WebhookDeliveriesTable, endpoint: WebhookEndpointsTable, token: string, options: DeliveryRoundOptions): Promise<boolean | null> {
  const startedAt = ctx.clock.now();
  let result: SendResult;
  try {
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...webhookHeaders(signingSecrets(ctx, endpoint, startedAt), row.message_id, timestamp, row.payload),
    };
    result = await sendWebhook({
      url: endpoint.url,
      headers,
      body: row.payload,
      policy: ctx.policy,
      resolve: ctx.resolveHost,
      timeoutMs: options.timeoutMs ?? DELIVERY_TIMEOUT_MS,
    });
  } catch (e) {
    result = { kind: 'error', address: null, error: e instanceof Error ? e.message : String(e), latencyMs: 0 };
  }
  const ok = result.kind === 'response' && result.statusCode >= 200 && result.statusCode < 300;
  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const now = tx.clock.now();
    const nowIso = now.toISOString();
    const current = await k.selectFrom('webhook_deliveries').select(['leased_by', 'status']).where('id', '=', row.id).executeTakeFirst();
    const held = current?.leased_by === token;
    const outcome: WebhookAttemptOutcome = !held ? 'abandoned' : result.kind === 'refused' ? 'refused' : ok ? 'succeeded' : 'failed';
    const statusCode = result.kind === 'response' ? result.statusCode : null;
    const error =
      result.kind === 'response'
        ? ok
          ? null
          : statusCode !== null && statusCode >= 300 && statusCode < 400
            ? `HTTP ${statusCode}: redirects are not followed`
            : `HTTP ${statusCode}`
        : result.error;
    await k
      .insertInto('webhook_attempts')
      .values({
        id: tx.ids.next('wha'),
        delivery_id: row.id,
        endpoint_id: endpoint.id,
        attempted_at: startedAt.toISOString(),
        url: endpoint.url,
        address: result.kind === 'refused' ? null : result.address,
        outcome,
        status_code: statusCode,
        latency_ms: result.latencyMs,
        response_excerpt: result.kind === 'response' ? bounded(result.excerpt) : null,
        error: bounded(error),
        worker: options.worker,
      })
      .execute();
    if (!held) return null;

    const attempts = row.attempts + 1;
    const runAttempts = row.run_attempts + 1;
    const common = {
      attempts,
      run_attempts: runAttempts,
      last_attempt_at: startedAt.toISOString(),
      last_status_code: statusCode,
      last_error: bounded(error),
      leased_until: null,
      leased_by: null,
      updated_at: nowIso,
    };
    if (ok) {
      await k
        .updateTable('webhook_deliveries')
        .set({ ...common, status: 'succeeded', succeeded_at: nowIso, due_at: PARKED_DUE_AT })
        .where('id', '=', row.id)
        .execute();
      await k.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', endpoint.id).where('failing_since', 'is not', null).execute();
      return true;
    }
    const fresh = await k.selectFrom('webhook_endpoints').select(['enabled', 'failing_since']).where('id', '=', endpoint.id).executeTakeFirstOrThrow();
    const failingSince = fresh.failing_since ?? nowIso;
    let disable: { reason: 'gone' | 'failing'; detail: string } | null = null;
    if (statusCode === 410) disable = { reason: 'gone', detail: `The endpoint answered 410 Gone at ${nowIso}` };
    else if (now.getTime() - new Date(failingSince).getTime() >= FAILING_DISABLE_AFTER_MS) {
      disable = { reason: 'failing', detail: `Every delivery attempt failed from ${failingSince} to ${nowIso}` };
    }
    if (disable && fresh.enabled === 1) {
      await k
        .updateTable('webhook_endpoints')
        .set({ enabled: 0, disabled_reason: disable.reason, disabled_detail: disable.detail, disabled_at: nowIso, failing_since: failingSince, updated_at: nowIso })
        .where('id', '=', endpoint.id)
        .execute();
    } else if (fresh.failing_since === null) {
      await k.updateTable('webhook_endpoints').set({ failing_since: nowIso }).where('id', '=', endpoint.id).execute();
    }
    const retryAfterMs = result.kind === 'response' ? parseRetryAfter(result.retryAfter, now) : null;
    const delay = disable ? null : retryDelayMs(runAttempts, randomUnit(tx), retryAfterMs);
    await k
      .updateTable('webhook_deliveries')
      .set({
        ...common,
        status: delay === null ? 'failed' : 'pending',
        due_at: delay === null ? PARKED_DUE_AT : new Date(now.getTime() + delay).toISOString(),
      })
      .where('id', '=', row.id)
      .execute();
    return false;
  });
}
