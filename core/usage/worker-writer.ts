import { Worker } from 'node:worker_threads';
import type { Clock } from '../context/index.js';
import { DomainError } from '../errors/index.js';
import { isPackedBatch } from './batch.js';
import type { IngestJob, JobOutcome, UsageEventWriter, WriterHealth } from './writer.js';

/**
 * A UsageEventWriter whose SQLite work runs on a thread of its own (writer-thread.ts), with
 * its own connection to the same file. Node runs JavaScript on one thread per isolate: on the
 * HTTP thread, parsing and validating batches and committing them take turns; here they
 * overlap, and a group commits while the next group's batches are being parsed.
 *
 * Semantics are the in-process writer's: one transaction per group, outcomes only after COMMIT.
 * SQLite's own locking (WAL, busy_timeout) orders this connection's transactions with the
 * HTTP thread's.
 */
export type WireOutcome = Exclude<JobOutcome, { kind: 'failed' }> | { kind: 'failed'; message: string };

export type WriterRequest =
  | { id: number; now: string; type: 'commit'; jobs: readonly IngestJob[] }
  | { id: number; now: string; type: 'index'; maxRows: number }
  | { id: number; now: string; type: 'unindexed' }
  | { id: number; now: string; type: 'close' };

/** `ready` (id 0) is sent once, when the thread has opened its connection. */
export type WriterResponse = { id: number; outcomes?: WireOutcome[]; count?: number; error?: string; ready?: true };

export interface ThreadedUsageEventWriter extends UsageEventWriter {
  close(): Promise<void>;
  health(): WriterHealth;
  /** Resolves once the current thread has opened its connection and takes work. */
  ready(): Promise<void>;
  /**
   * Test hook: ends the current thread abruptly (`worker.terminate()`), at whatever point it is
   * — inside a transaction, between COMMIT and the answer — as a crash would. The writer
   * restarts it as after any death.
   */
  killThreadForTesting(): Promise<void>;
}

export interface ThreadedWriterOptions {
  dbPath: string;
  durable: boolean;
  clock: Clock;
  autoCheckpoint?: boolean;
  /** Restart delays after a death: `initialMs`, doubling per death in a row, at most `maxMs`. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Told about every death (the server logs it). */
  onThreadDeath?: (reason: string) => void;
  /**
   * `writer` (default): commits groups; its connection does not attach the usage index.
   * `indexer`: only index requests, on a connection that attaches it (core/db/usage-index-file.ts).
   * `createThreadedUsageWriterAndIndexer` runs one of each.
   */
  role?: 'writer' | 'indexer';
  /**
   * The committed-events feed (event-feed.ts) the writer publishes into, shared with the usage
   * reader thread; the indexer ignores it.
   */
  feed?: SharedArrayBuffer;
}

const UNAVAILABLE_CODE = 'ingest_unavailable';

/** A 503 for a request the writer could not take: nothing acknowledged, safe to retry. */
function unavailable(message: string, retryAfterMs: number): DomainError {
  return new DomainError('unavailable', UNAVAILABLE_CODE, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

interface Thread {
  worker: Worker;
  ready: boolean;
}

/**
 * The thread is supervised: a message posted to a dead worker is silently dropped, so without
 * this every request after a death would wait forever. When the thread exits or fails, every
 * request waiting on it is answered `ingest_unavailable` (503, Retry-After) — its batch may or
 * may not have committed; a retry is safe because per-event keys dedupe and an Idempotency-Key
 * record is written in the same transaction as the events — and so is every new request until
 * a new thread is started, after a delay that doubles with each death in a row (a thread that
 * dies at once does not spin). A successful commit resets the delay.
 */
export function createThreadedUsageEventWriter(options: ThreadedWriterOptions): ThreadedUsageEventWriter {
  const backoff = options.restartBackoff ?? { initialMs: 100, maxMs: 5_000 };
  let nextId = 1;
  let closing = false;
  let closed = false;
  let current: Thread | undefined;
  let restarts = 0;
  let deathsInARow = 0;
  let lastError: string | undefined;
  /** performance.now() when the next thread starts, while there is none. */
  let restartAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let readyWaiters: Array<() => void> = [];
  const pending = new Map<number, { resolve: (r: WriterResponse) => void; reject: (e: Error) => void }>();

  function failAll(e: Error): void {
    const waiting = [...pending.values()];
    pending.clear();
    for (const p of waiting) p.reject(e);
  }

  function spawn(): void {
    const worker = new Worker(new URL('./writer-thread-entry.mjs', import.meta.url), {
      workerData: { dbPath: options.dbPath, durable: options.durable, autoCheckpoint: options.autoCheckpoint ?? true, role: options.role ?? 'writer', feed: options.feed },
    });
    const thread: Thread = { worker, ready: false };
    current = thread;
    worker.on('message', (res: WriterResponse) => {
      if (current !== thread) return; // a late answer of a thread already declared dead
      if (res.ready) {
        thread.ready = true;
        const waiters = readyWaiters;
        readyWaiters = [];
        for (const w of waiters) w();
        return;
      }
      const p = pending.get(res.id);
      if (!p) return;
      pending.delete(res.id);
      if (res.error !== undefined) p.reject(new Error(res.error));
      else {
        if (res.outcomes !== undefined) deathsInARow = 0;
        p.resolve(res);
      }
    });
    worker.on('error', (e) => died(thread, e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => died(thread, `usage ${options.role ?? 'writer'} thread exited (${code})`));
  }

  /** Called for 'error' and for 'exit' (both may come for one death): acts once per thread. */
  function died(thread: Thread, reason: string): void {
    if (current !== thread) return;
    current = undefined;
    void thread.worker.terminate(); // after an 'error' the thread may still be winding down
    if (closing) {
      failAll(new Error('usage writer is closed'));
      return;
    }
    lastError = reason;
    options.onThreadDeath?.(reason);
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** deathsInARow);
    deathsInARow++;
    restartAt = performance.now() + delay;
    failAll(
      unavailable(
        'The usage-event writer stopped while this batch was in flight; it may or may not have been stored. Retry it after Retry-After seconds: the same event idempotency keys (and Idempotency-Key header) make the retry safe',
        delay,
      ),
    );
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (closing) return;
      restarts++;
      spawn();
    }, delay);
    restartTimer.unref(); // never the reason the process stays up
  }

  function request(body: Omit<WriterRequest, 'id' | 'now'>, transfer: ArrayBuffer[] = []): Promise<WriterResponse> {
    if (closed) return Promise.reject(new Error('usage writer is closed'));
    const thread = current;
    if (thread === undefined) {
      const wait = Math.max(0, restartAt - performance.now());
      return Promise.reject(unavailable('The usage-event writer is restarting; nothing was stored. Retry after Retry-After seconds', wait));
    }
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      thread.worker.postMessage({ ...body, id, now: options.clock.now().toISOString() } as WriterRequest, transfer);
    });
  }

  spawn();

  /**
   * A packed batch's text crosses as a copy of its own that is transferred, not cloned: one
   * memcpy instead of two, and never the caller's buffer (a Buffer may be a view of a larger
   * pooled ArrayBuffer, which cloning would copy whole and transferring would take away).
   */
  function forTransfer(jobs: readonly IngestJob[]): { jobs: IngestJob[]; transfer: ArrayBuffer[] } {
    const transfer: ArrayBuffer[] = [];
    const out = jobs.map((job) => {
      if (!isPackedBatch(job.batch)) return job;
      const text = new Uint8Array(job.batch.text);
      transfer.push(text.buffer);
      return { ...job, batch: { ...job.batch, text } };
    });
    return { jobs: out, transfer };
  }

  return {
    // The thread merges waiting groups itself (writer-thread.ts), so hand them over at once.
    maxInFlightGroups: 8,
    async commitGroup(group) {
      const { jobs, transfer } = forTransfer(group);
      const res = await request({ type: 'commit', jobs } as Omit<WriterRequest, 'id' | 'now'>, transfer);
      return res.outcomes!.map((o): JobOutcome => (o.kind === 'failed' ? { kind: 'failed', error: new Error(o.message) } : o));
    },
    async indexCustomerUsage(maxRows) {
      return (await request({ type: 'index', maxRows } as Omit<WriterRequest, 'id' | 'now'>)).count!;
    },
    async unindexedCount() {
      return (await request({ type: 'unindexed' } as Omit<WriterRequest, 'id' | 'now'>)).count!;
    },
    // Alive while a thread exists, booting or ready: requests sent to a booting thread wait for
    // it and are served. Not alive between a death and the restart, when requests fail at once.
    health: () => ({ alive: current !== undefined && !closing, restarts, ...(lastError !== undefined ? { lastError } : {}) }),
    ready() {
      if (current?.ready) return Promise.resolve();
      return new Promise((resolve) => readyWaiters.push(resolve));
    },
    async killThreadForTesting() {
      await current?.worker.terminate();
    },
    async close() {
      if (closing) return;
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      const thread = current;
      try {
        if (thread) await request({ type: 'close' } as Omit<WriterRequest, 'id' | 'now'>);
      } catch {
        // a thread that died meanwhile has nothing left to close
      } finally {
        closed = true;
        await thread?.worker.terminate();
        for (const w of readyWaiters) w();
        readyWaiters = [];
      }
    },
  };
}

/**
 * Ingestion on one thread and the per-customer index on another, each with its own connection
 * and its own file's write lock (core/db/usage-index-file.ts): commits go to the writer, index
 * slices and backlog counts to the indexer. Each thread is supervised and restarted on its own;
 * health and the test hook are the writer's (ingestion is what a 503 is about).
 */
export function createThreadedUsageWriterAndIndexer(options: Omit<ThreadedWriterOptions, 'role'>): ThreadedUsageEventWriter {
  const writer = createThreadedUsageEventWriter({ ...options, role: 'writer' });
  const indexer = createThreadedUsageEventWriter({
    ...options,
    role: 'indexer',
    feed: undefined,
    // The checkpointer thread serves the database file; the index file's WAL is checkpointed by
    // the indexer's own commits (on its own thread, so a checkpoint only delays indexing).
    autoCheckpoint: true,
    onThreadDeath: (reason) => options.onThreadDeath?.(`usage indexer: ${reason}`),
  });
  return {
    maxInFlightGroups: writer.maxInFlightGroups,
    commitGroup: (jobs) => writer.commitGroup(jobs),
    indexCustomerUsage: (maxRows) => indexer.indexCustomerUsage(maxRows),
    unindexedCount: () => indexer.unindexedCount(),
    health: () => writer.health(),
    async ready() {
      await Promise.all([writer.ready(), indexer.ready()]);
    },
    killThreadForTesting: () => writer.killThreadForTesting(),
    async close() {
      await Promise.all([writer.close(), indexer.close()]);
    },
  };
}
