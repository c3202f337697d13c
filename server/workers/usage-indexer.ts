import type { UsageIngest } from '../../core/usage/ingest.js';

/**
 * Keeps usage_by_customer (the per-customer, time-ordered copy of usage that invoicing and
 * usage summaries read) up to date. Indexing in bulk and in key order is far cheaper than
 * maintaining a (customer, time) index on every insert (see core/usage/README.md), so ingestion
 * only writes the hot table and this loop catches up:
 *
 * - when ingestion is idle (no batch arrived since the previous look, `intervalMs` ago), in
 *   slices of `batchRows`, back to back;
 * - regardless of load once the backlog exceeds `maxBacklogRows`, in smaller slices
 *   (`loadSliceRows`), so readers' tail scans stay bounded while each slice holds the writer
 *   only briefly.
 *
 * Never while the writer thread is down (writerHealth): its requests would only fail until it
 * is restarted. Readers are exact either way: they add the unindexed tail from usage_events.
 *
 * Why 2,000,000 rows: indexing costs the writer ~7.5 µs a row against ~4.5 µs to ingest it, so
 * on two cores ingestion at full speed and indexing at the same pace do not fit together. The
 * backlog absorbs a burst of ~20 s at 100,000 events/s at full speed; the indexer catches up
 * at ~115,000 rows/s as soon as the burst ends. The price is paid by readers during a long
 * burst: a usage read scans the unindexed tail, ~65 ms per million rows here (measured), so at
 * most ~180 ms. Past the threshold ingestion slows to what ingesting and indexing together
 * sustain, instead of the backlog growing without bound.
 */
export interface UsageIndexerOptions {
  intervalMs?: number;
  batchRows?: number;
  maxBacklogRows?: number;
  loadSliceRows?: number;
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
  const maxBacklog = options.maxBacklogRows ?? 2_000_000;
  // Under load a slice delays the batches queued behind it: ~2,000 rows is ~10–15 ms.
  const loadSliceRows = options.loadSliceRows ?? 10_000;
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
      // While the writer thread restarts, its requests would only fail: wait for it.
      const backlog = ingest.writerHealth().alive ? await ingest.unindexedCount() : 0;
      if (backlog > 0 && (idle || backlog > maxBacklog)) {
        const slice = idle ? batchRows : loadSliceRows;
        const copied = await ingest.indexCustomerUsage(slice);
        again = copied === slice;
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
