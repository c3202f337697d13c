import { Worker } from 'node:worker_threads';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { DomainError } from '../errors/index.js';
import type { AggregatedUsage } from '../pricing/schemas.js';
import { aggregateUsage } from './aggregate.js';

/**
 * The port for usage reads made on behalf of a request (GET /customers/{externalId}/usage):
 * usage totals of one customer over [from, to), exactly `aggregateUsage`'s.
 *
 * Why a port: on an embedded SQLite file the HTTP thread's connection is synchronous, so a read
 * that scans the unindexed tail (~65 ms per million rows) stops the event loop — and with it
 * every ingestion request — for its whole duration. `createThreadedUsageReader` runs the very
 * same `aggregateUsage` on a thread of its own with a read-only connection to the file: WAL
 * gives it a snapshot of its own while the writer commits. Where there is no embedded file
 * (PostgreSQL, `:memory:`) the in-process reader runs it on the context's pool: a READ ONLY
 * snapshot on a pooled connection, which waits for no writer.
 *
 * Invoicing does NOT read through this port: it reads inside its own write transaction, so
 * that the usage it bills and the usage_locked_until it sets are one consistent state.
 */
export interface UsageReader {
  aggregate(scope: MerchantScope, customerId: string, from: Date, to: Date): Promise<AggregatedUsage[]>;
  close?(): Promise<void>;
}

export function createInProcessUsageReader(ctx: CoreContext): UsageReader {
  return { aggregate: (scope, customerId, from, to) => aggregateUsage(ctx, scope, customerId, from, to) };
}

const readers = new WeakMap<CoreContext, UsageReader>();

/** Installs the reader a context uses (the server installs a threaded one for a SQLite file). */
export function installUsageReader(ctx: CoreContext, reader: UsageReader): void {
  if (readers.has(ctx)) throw new Error('usage reader already set up for this context');
  readers.set(ctx, reader);
}

/** The context's usage reader: the installed one, else reads in process. */
export function usageReaderFor(ctx: CoreContext): UsageReader {
  let reader = readers.get(ctx);
  if (!reader) {
    reader = createInProcessUsageReader(ctx);
    readers.set(ctx, reader);
  }
  return reader;
}

// ---------------------------------------------------------------------------------------------
// The reader thread

export type ReaderRequest = { id: number; type: 'aggregate'; scope: MerchantScope; customerId: string; fromMs: number; toMs: number } | { id: number; type: 'close' };
export type ReaderResponse = { id: number; rows?: AggregatedUsage[]; error?: { message: string; domain?: { kind: string; code: string } } };

export interface ThreadedUsageReaderOptions {
  /** The SQLite file (db.capabilities.embeddedFile). */
  file: string;
  /** Reader threads (default 1): reads queue on the least busy one. */
  threads?: number;
  onThreadDeath?: (reason: string) => void;
  /** The reader threads' nice value on Linux (core/db/thread-priority.ts); default 0: unchanged. */
  nice?: number;
  /**
   * The committed-events feed the writer thread publishes into (event-feed.ts): the reader
   * keeps the unindexed tail from it instead of reading every new row back. One reader only (a
   * feed has one consumer); further threads read from SQLite.
   */
  feed?: SharedArrayBuffer;
}

interface ReaderThread {
  worker: Worker | undefined;
  pending: Map<number, { resolve: (rows: AggregatedUsage[]) => void; reject: (e: Error) => void }>;
}

/**
 * Usage reads on reader threads, each with its own read-only connection. A thread that dies
 * fails the reads waiting on it (503 `usage_read_unavailable`, safe to retry: reads change
 * nothing) and is started again by the next read.
 */
export function createThreadedUsageReader(options: ThreadedUsageReaderOptions): UsageReader & { close(): Promise<void> } {
  const threads: ReaderThread[] = Array.from({ length: Math.max(1, options.threads ?? 1) }, () => ({ worker: undefined, pending: new Map() }));
  let nextId = 1;
  let closed = false;

  function start(t: ReaderThread): Worker {
    const worker = new Worker(new URL('./reader-thread-entry.mjs', import.meta.url), {
      workerData: { file: options.file, nice: options.nice ?? 0, feed: t === threads[0] ? options.feed : undefined },
    });
    worker.unref(); // never the reason the process stays up
    t.worker = worker;
    worker.on('message', (res: ReaderResponse) => {
      const p = t.pending.get(res.id);
      if (!p) return;
      t.pending.delete(res.id);
      if (res.error === undefined) p.resolve(res.rows!);
      else if (res.error.domain) p.reject(new DomainError(res.error.domain.kind as never, res.error.domain.code, res.error.message));
      else p.reject(new Error(res.error.message));
    });
    const died = (reason: string) => {
      if (t.worker !== worker) return;
      t.worker = undefined;
      void worker.terminate();
      if (!closed) options.onThreadDeath?.(reason);
      const waiting = [...t.pending.values()];
      t.pending.clear();
      for (const p of waiting) p.reject(new DomainError('unavailable', 'usage_read_unavailable', 'The usage reader stopped during this read; retry it', { retryAfterSeconds: 1 }));
    };
    worker.on('error', (e) => died(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => died(`usage reader thread exited (${code})`));
    return worker;
  }

  // Started now, not on the first read: a thread takes seconds to boot here (tsx compiles in it).
  for (const t of threads) start(t);

  return {
    aggregate(scope, customerId, from, to) {
      if (closed) return Promise.reject(new Error('usage reader is closed'));
      let t = threads[0];
      for (const c of threads) if (c.pending.size < t.pending.size) t = c;
      const worker = t.worker ?? start(t);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        t.pending.set(id, { resolve, reject });
        worker.postMessage({ id, type: 'aggregate', scope, customerId, fromMs: from.getTime(), toMs: to.getTime() } satisfies ReaderRequest);
      });
    },
    async close() {
      closed = true;
      await Promise.all(
        threads.map(async (t) => {
          const w = t.worker;
          t.worker = undefined;
          if (!w) return;
          // Reads in flight finish first: the thread answers them before the close.
          await new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.postMessage({ id: 0, type: 'close' } satisfies ReaderRequest);
          });
          for (const p of t.pending.values()) p.reject(new Error('usage reader is closed'));
          t.pending.clear();
        }),
      );
    },
  };
}
