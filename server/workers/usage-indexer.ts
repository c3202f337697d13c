import type { UsageIngest } from '../../core/usage/ingest.js';

/**
 * Keeps usage_by_customer (the per-customer, time-ordered copy of usage that invoicing and
 * usage summaries read) up to date. Indexing in bulk and in key order is far cheaper than
 * maintaining a (customer, time) index on every insert (see core/usage/README.md), so ingestion
 * only writes the hot table and this loop catches up:
 *
 * - when ingestion is idle (no batch arrived since the previous look, `intervalMs` ago), in
 *   slices of `batchRows`;
 * - regardless of load once the backlog exceeds `maxBacklogRows`, so readers' tail scans stay
 *   bounded.
 *
 * Readers are exact either way: they add the unindexed tail from usage_events.
 */
export interface UsageIndexerOptions {
  intervalMs?: number;
  batchRows?: number;
  maxBacklogRows?: number;
  onError?: (e: unknown) => void;
}

export interface RunningWorker {
  stop(): Promise<void>;
}

export function startUsageIndexer(ingest: UsageIngest, options: UsageIndexerOptions = {}): RunningWorker {
  const intervalMs = options.intervalMs ?? 250;
  // One slice holds the writer for its duration (batches arriving meanwhile wait behind it), so
  // slices stay small — ~5,000 rows is ~20–40 ms here — and follow each other at once while
  // ingestion stays idle. Larger slices index a little faster but stall the first batches
  // after a lull by hundreds of milliseconds.
  const batchRows = options.batchRows ?? 5_000;
  const maxBacklog = options.maxBacklogRows ?? 1_000_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let seenBatches = ingest.submittedBatches;

  const tick = async () => {
    if (stopped) return;
    let again = false;
    try {
      const idle = ingest.submittedBatches === seenBatches && ingest.pendingBatches === 0;
      seenBatches = ingest.submittedBatches;
      const backlog = await ingest.unindexedCount();
      if (backlog > 0 && (idle || backlog > maxBacklog)) {
        const copied = await ingest.indexCustomerUsage(batchRows);
        again = copied === batchRows;
      }
    } catch (e) {
      options.onError?.(e);
    }
    if (!stopped) schedule(again ? 0 : intervalMs);
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => (running = tick()), ms);
    timer.unref(); // never the reason the process stays up
  };
  schedule(intervalMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
