import { Worker } from 'node:worker_threads';
import type { Clock } from '../context/index.js';
import { isPackedBatch } from './batch.js';
import type { IngestJob, JobOutcome, UsageEventWriter } from './writer.js';

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

export type WriterResponse = { id: number; outcomes?: WireOutcome[]; count?: number; error?: string };

export interface ThreadedUsageEventWriter extends UsageEventWriter {
  close(): Promise<void>;
}

export function createThreadedUsageEventWriter(options: { dbPath: string; durable: boolean; clock: Clock; autoCheckpoint?: boolean }): ThreadedUsageEventWriter {
  const worker = new Worker(new URL('./writer-thread-entry.mjs', import.meta.url), {
    workerData: { dbPath: options.dbPath, durable: options.durable, autoCheckpoint: options.autoCheckpoint ?? true },
  });
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, { resolve: (r: WriterResponse) => void; reject: (e: Error) => void }>();
  worker.on('message', (res: WriterResponse) => {
    const p = pending.get(res.id);
    if (!p) return;
    pending.delete(res.id);
    if (res.error !== undefined) p.reject(new Error(res.error));
    else p.resolve(res);
  });
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', (e) => failAll(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => failAll(new Error(`usage writer thread exited (${code})`)));

  function request(body: Omit<WriterRequest, 'id' | 'now'>, transfer: ArrayBuffer[] = []): Promise<WriterResponse> {
    if (closed) return Promise.reject(new Error('usage writer is closed'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...body, id, now: options.clock.now().toISOString() } as WriterRequest, transfer);
    });
  }

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
    async close() {
      if (closed) return;
      try {
        await request({ type: 'close' } as Omit<WriterRequest, 'id' | 'now'>);
      } finally {
        closed = true;
        await worker.terminate();
      }
    },
  };
}
