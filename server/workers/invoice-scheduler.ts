import type { CoreContext } from '../../core/context/index.js';
import { type InvoiceRunReport, generateInvoices } from '../../core/invoices/index.js';
import type { RunningWorker } from './usage-indexer.js';

/**
 * The monthly invoice job. Every `intervalMs` it runs the invoice generation for every period
 * that ended more than the grace window ago (core/invoices generateInvoices): nothing is due
 * most of the time and a run then only lists contracts; right after month ends (and
 * anniversary boundaries, which fall any day) it creates the invoices. Looking often instead of
 * sleeping until the next boundary keeps it simple and restart-proof: a server that was down
 * over a month end invoices on its first look. Several servers may run it at once: each invoice
 * is unique per (contract, period) in the database.
 */
export interface InvoiceSchedulerOptions {
  intervalMs?: number;
  graceMs?: number;
  onReport?: (report: InvoiceRunReport) => void;
  onError?: (e: unknown) => void;
}

export const DEFAULT_INVOICE_CHECK_INTERVAL_MS = 5 * 60_000;

export interface RunningInvoiceScheduler extends RunningWorker {
  /** Looks finished so far (tests and diagnostics). */
  readonly looks: number;
}

export function startInvoiceScheduler(ctx: CoreContext, options: InvoiceSchedulerOptions = {}): RunningInvoiceScheduler {
  const intervalMs = options.intervalMs ?? DEFAULT_INVOICE_CHECK_INTERVAL_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let looks = 0;

  const tick = () => {
    running = (async () => {
      try {
        const report = await generateInvoices(ctx, { graceMs: options.graceMs });
        if (report.created.length > 0 || report.failed.length > 0) options.onReport?.(report);
      } catch (e) {
        options.onError?.(e);
      } finally {
        running = undefined;
        looks++;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      }
    })();
  };
  // The first look soon after start (not during it): catches up on periods missed while down.
  timer = setTimeout(tick, Math.min(intervalMs, 1_000));

  return {
    get looks() {
      return looks;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
