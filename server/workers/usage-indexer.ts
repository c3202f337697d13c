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
 * is restarted. Readers are exact either way: they add the unindexed tail from usage_events (the
 * server's reader thread keeps that tail in memory, so HTTP reads do not slow down as it grows).
 *
 * Why 2,000,000 rows: ingestion costs the writer ~4.5 µs a row, indexing ~3–5 µs of CPU a row
 * since a slice is one `INSERT … SELECT … ORDER BY` (7–8 µs row by row from JavaScript before:
 * bench/usage-index-cost.ts), so on two cores ingestion at full speed and indexing at the same
 * pace do not fit together. The backlog absorbs a burst of ~15–20 s at full speed; the indexer
 * catches up as soon as it ends. Past the threshold ingestion and indexing share the writer
 * (10,000-row slices: cheaper per row than 2,000, ~30–50 ms each), and the backlog stops growing:
 * that shared rate is what `bench:ingest`'s sustained run measures (core/usage/README.md,
 * "Sustained ingestion", for the design choice and its figures).
 *
 * On an embedded SQLite file the index has a file and a thread of its own (core/db/usage-index-file.ts):
 * a slice no longer holds the usage writer, only the index file, so the server passes larger
 * slices (25,000 idle, 50,000 under load; cheaper per row) and the threshold keeps its other
 * purpose: leaving both cores to ingestion during a burst. On PostgreSQL a slice still runs under
 * the write lock every transaction takes, so the defaults below stay as they were.
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
  // Under load a slice delays the batches queued behind it, but it also sets the sustained rate:
  // per row, a 10,000-row statement costs the writer less than 2,000-row ones (fixed cost per
  // slice: every customer's last index page is rewritten once per slice).
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
