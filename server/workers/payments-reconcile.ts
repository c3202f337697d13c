import type { CoreContext } from '../../core/context/index.js';
import type { Leadership } from '../../core/db/leader.js';
import { type ChannelName, type ReconcileReport, paymentChannelsFor, reconcilePayments } from '../../core/payments/index.js';
import type { RunningWorker } from './usage-indexer.js';

/**
 * Payment reconciliation (core/payments reconcilePayments): every `intervalMs` (default a
 * minute) asks the channels about orders past expiry, orders stuck `creating`, open orders of
 * invoices no longer payable and unfinished refunds, and settles what it learns through the same
 * functions as the callbacks. Across replicas only the leader of `payments-reconcile` runs it;
 * overlapping runs (an instant after a failover) stay safe: every change is applied at most once.
 */
export interface PaymentsReconcileOptions {
  intervalMs?: number;
  /** Where refunds asked again tell the channel to notify (the callback URLs). */
  refundNotifyUrl?: (channel: ChannelName) => string;
  /** Runs only while this says so (a leader election); default: always. */
  leadership?: Pick<Leadership, 'isLeader'>;
  /** Every run that found something to do (differences or errors). */
  onReport?: (report: ReconcileReport) => void;
  onError?: (e: unknown) => void;
}

export const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;

export interface RunningPaymentsReconcile extends RunningWorker {
  readonly runs: number;
  /** Run now rather than at the next interval; no-op while a run is on. */
  wake(): void;
}

export function startPaymentsReconcile(ctx: CoreContext, options: PaymentsReconcileOptions = {}): RunningPaymentsReconcile {
  const intervalMs = options.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let runs = 0;

  const tick = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    let run: Promise<void> | undefined;
    run = (async () => {
      await Promise.resolve();
      try {
        if (options.leadership && !options.leadership.isLeader) return;
        const report = await reconcilePayments(ctx, paymentChannelsFor(ctx), { refundNotifyUrl: options.refundNotifyUrl });
        if (report.differences.length > 0 || report.errors.length > 0) options.onReport?.(report);
      } catch (e) {
        options.onError?.(e);
      } finally {
        if (running === run) running = undefined;
        runs++;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      }
    })();
    running = run;
  };
  timer = setTimeout(tick, intervalMs);

  return {
    get runs() {
      return runs;
    },
    wake() {
      if (stopped || running) return;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** One line per difference and error, for the server log (ids and channel states, never keys). */
export function describeReconcileReport(report: ReconcileReport): string[] {
  return [
    ...report.differences.map(
      (d) =>
        `${d.subject} ${d.id} (${d.channel} ${d.outNo}, invoice ${d.invoiceId}): ${d.found}; channel says ${d.channelState}; did ${d.did}${d.exceptionId ? ` (exception ${d.exceptionId})` : ''}`,
    ),
    ...report.errors.map((e) => `${e.subject} ${e.id}: ${e.code}: ${e.message}`),
  ];
}
