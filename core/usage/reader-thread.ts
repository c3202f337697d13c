import { parentPort, workerData } from 'node:worker_threads';
import type { CoreContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { lowerThreadPriority } from '../db/thread-priority.js';
import { DomainError } from '../errors/index.js';
import { aggregateUsage } from './aggregate.js';
import { EventFeedReader } from './event-feed.js';
import type { ReaderRequest, ReaderResponse } from './reader.js';
import { createTailCache } from './tail-cache.js';

/**
 * A usage reader thread (reader.ts): a read-only connection to the file and the very same
 * `aggregateUsage` as in process, with the unindexed tail kept in memory (tail-cache.ts) instead
 * of scanned per read; tests compare both paths. Each read runs in
 * a deferred read transaction (readSnapshot): one WAL snapshot, never the write lock. Reads
 * run one at a time on this thread's connection; ingestion on the other threads goes on.
 */
const { file, nice, feed } = workerData as { file: string; nice: number; feed?: SharedArrayBuffer };
lowerThreadPriority(nice);
const db = openDatabase(file, { readonly: true });
const ctx = { db } as unknown as CoreContext;
// Every usage read of the process comes here: the unindexed tail is kept in memory between them.
const tail = createTailCache(feed ? new EventFeedReader(feed) : undefined);
const port = parentPort!;

async function handle(req: ReaderRequest): Promise<void> {
  if (req.type === 'close') {
    await db.close();
    process.exit(0); // ends this thread only
  }
  let res: ReaderResponse;
  try {
    res = { id: req.id, rows: await aggregateUsage(ctx, req.scope, req.customerId, new Date(req.fromMs), new Date(req.toMs), tail) };
  } catch (e) {
    res = {
      id: req.id,
      error: { message: e instanceof Error ? e.message : String(e), ...(e instanceof DomainError ? { domain: { kind: e.kind, code: e.code } } : {}) },
    };
  }
  port.postMessage(res);
}

// One request at a time, in arrival order: a close waits for the reads before it.
let chain = Promise.resolve();
port.on('message', (req: ReaderRequest) => {
  chain = chain.then(() => handle(req));
});
