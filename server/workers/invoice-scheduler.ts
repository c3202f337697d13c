import type { CoreContext } from '../../core/context/index.js';
import { type InvoiceRunReport, generateInvoices } from '../../core/invoices/index.js';
import type { Leadership } from '../../core/db/leader.js';
import type { RunningWorker } from './usage-indexer.js';

/**
 * The monthly invoice job. Every `intervalMs` it runs the invoice generation for every period
 * that ended more than the grace window ago (core/invoices generateInvoices): nothing is due
 * most of the time and a run then only lists contracts; right after month ends (and
 * anniversary boundaries, which fall any day) it creates the invoices. Looking often instead of
 * sleeping until the next boundary keeps it simple and restart-proof: a server that was down
 * over a month end invoices on its first look.
 *
 * Across replicas on one database only the leader of `invoice-scheduler` (core/db/leader.ts)
 * runs invoices, so there is one invoice run at a time; the others keep looking and stay idle
 * until they lead. Overlap is still safe (each invoice is unique per contract and period in the
 * database), only wasteful.
 */
export interface InvoiceSchedulerOptions {
  intervalMs?: number;
  graceMs?: number;
  onReport?: (report: InvoiceRunReport) => void;
  onError?: (e: unknown) => void;
  /** Runs invoices only while this says so (a leader election); default: always. */
  leadership?: Pick<Leadership, 'isLeader'>;
}

export const DEFAULT_INVOICE_CHECK_INTERVAL_MS = 5 * 60_000;

export interface RunningInvoiceScheduler extends RunningWorker {
  /** Looks finished so far (tests and diagnostics). */
  readonly looks: number;
  /** Look now rather than at the next interval (e.g. on becoming leader); no-op while a look runs. */
  wake(): void;
}

export function startInvoiceScheduler(ctx: CoreContext, options: InvoiceSchedulerOptions = {}): RunningInvoiceScheduler {
  const intervalMs = options.intervalMs ?? DEFAULT_INVOICE_CHECK_INTERVAL_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let looks = 0;

  const tick = () => {
    let look: Promise<void> | undefined;
    look = (async () => {
      // Yield first: the finally below must run after `running` is set (a look that does not
      // lead finishes without awaiting anything).
      await Promise.resolve();
      try {
        const { leadership } = options;
        if (leadership && !leadership.isLeader) return;
        const report = await generateInvoices(ctx, {
          graceMs: options.graceMs,
          // Progress is reported between committed groups, never inside a transaction: a leader
          // that lost the lead mid-run stops there and leaves the rest to the new leader.
          onProgress: () => {
            if (leadership && !leadership.isLeader) throw new Error('invoice run stopped: this process no longer leads invoice-scheduler');
          },
        });
        if (report.created.length > 0 || report.failed.length > 0) options.onReport?.(report);
      } catch (e) {
        options.onError?.(e);
      } finally {
        if (running === look) running = undefined;
        looks++;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      }
    })();
    running = look;
  };
  // The first look soon after start (not during it): catches up on periods missed while down.
  timer = setTimeout(tick, Math.min(intervalMs, 1_000));

  return {
    get looks() {
      return looks;
    },
    wake() {
      if (stopped || running) return;
      if (timer) clearTimeout(timer);
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
