import type { CoreContext } from '../../core/context/index.js';
import { type DeliveryRoundReport, deliverDueWebhooks, fanOutEvents } from '../../core/webhooks/index.js';
import type { RunningWorker } from './usage-indexer.js';

/**
 * The webhook delivery worker (core/webhooks). Every `pollMs` it fans new domain events out
 * into deliveries and works the deliveries that are due; while there is more (a full claim) it
 * goes again at once. Every replica runs one: rows are claimed with leases (core/db/claim.ts,
 * `FOR UPDATE SKIP LOCKED` on PostgreSQL), so replicas share the work without doing any twice,
 * and a replica that dies mid-delivery leaves its rows to the others once the lease expires.
 */
export interface WebhookDeliveryOptions {
  pollMs?: number;
  /** Names this process in leases and the attempt log. */
  worker?: string;
  /** Deliveries claimed per round (default 20). */
  batch?: number;
  /** Per-request timeout (default 15 s; tests shorten it). */
  timeoutMs?: number;
  onRound?: (report: DeliveryRoundReport & { events: number; fannedOut: number }) => void;
  onError?: (e: unknown) => void;
}

export const DEFAULT_WEBHOOK_POLL_MS = 1_000;

export interface RunningWebhookDelivery extends RunningWorker {
  readonly rounds: number;
  /** Run a round now rather than at the next poll; no-op while one runs. */
  wake(): void;
  /** One round, awaited (tests). */
  runOnce(): Promise<DeliveryRoundReport & { events: number; fannedOut: number }>;
}

export function startWebhookDelivery(ctx: CoreContext, options: WebhookDeliveryOptions = {}): RunningWebhookDelivery {
  const pollMs = options.pollMs ?? DEFAULT_WEBHOOK_POLL_MS;
  const worker = options.worker ?? `buffmoney:server:${process.pid}`;
  const batch = options.batch ?? 20;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let rounds = 0;

  const round = async () => {
    const fanned = await fanOutEvents(ctx, { worker, limit: 100 });
    const report = await deliverDueWebhooks(ctx, { worker, limit: batch, timeoutMs: options.timeoutMs });
    rounds++;
    const full = { ...report, events: fanned.events, fannedOut: fanned.deliveries };
    if (full.events > 0 || full.claimed > 0) options.onRound?.(full);
    return full;
  };

  const tick = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    let more = false;
    let run: Promise<void> | undefined;
    run = (async () => {
      await Promise.resolve();
      try {
        const r = await round();
        more = r.events >= 100 || r.claimed >= batch;
      } catch (e) {
        options.onError?.(e);
      } finally {
        if (running === run) running = undefined;
        if (!stopped) timer = setTimeout(tick, more ? 0 : pollMs);
      }
    })();
    running = run;
  };
  timer = setTimeout(tick, Math.min(pollMs, 1_000));

  return {
    get rounds() {
      return rounds;
    },
    wake() {
      if (stopped || running) return;
      tick();
    },
    async runOnce() {
      while (running) await running;
      const run = round();
      running = run;
      try {
        return await run;
      } finally {
        if (running === run) running = undefined;
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      while (running) await running;
    },
  };
}
