import { randomBytes } from 'node:crypto';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { CoreContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { createUlidSource } from '../ids/index.js';
import { EventFeedWriter } from './event-feed.js';
import { createSqliteUsageIndexer } from './sqlite-indexer.js';
import { createSqliteUsageEventWriter } from './sqlite-writer.js';
import type { IngestJob, JobOutcome } from './writer.js';
import type { WriterRequest, WriterResponse, WireOutcome } from './worker-writer.js';

/**
 * The usage writer thread: its own SQLite connection, running the same group-commit writer as
 * the in-process one, so the HTTP thread parses and validates the next batches while this one
 * commits. Time comes from the requester (its clock decides expiry and received-at), ids from
 * a ULID source of this thread.
 */
const { dbPath, durable, autoCheckpoint, role, feed } = workerData as {
  dbPath: string;
  durable: boolean;
  autoCheckpoint: boolean;
  role: 'writer' | 'indexer';
  feed?: SharedArrayBuffer;
};
// The writer commits events and never attaches the usage index (its BEGIN IMMEDIATE would lock
// that file too); the indexer thread attaches it and copies slices under the index file's lock
// only (core/db/usage-index-file.ts), so the two run at once.
const db = openDatabase(dbPath, { durable, autoCheckpoint, attachUsageIndex: role === 'indexer' });
let now = new Date();
const ctx = {
  db,
  clock: { now: () => now },
  ids: createUlidSource(
    () => now.getTime(),
    (n) => new Uint8Array(randomBytes(n)),
  ),
  randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
} as unknown as CoreContext;
const writer = createSqliteUsageEventWriter(ctx, { feed: role === 'writer' && feed ? new EventFeedWriter(feed) : undefined });
const indexer = createSqliteUsageIndexer(db);
// The indexer inserts at ~1,000 places of a growing B-tree (one per active customer) every slice:
// a larger page cache for the index keeps their paths in memory as the file grows.
if (role === 'indexer') await db.exclusive!((raw) => raw.pragma(`usage_index.cache_size = -${256 * 1024}`));

function wire(o: JobOutcome): WireOutcome {
  return o.kind === 'failed' ? { kind: 'failed', message: o.error instanceof Error ? o.error.message : String(o.error) } : o;
}

/** A merged group stays below this many events (as the queue's own groups do). */
const MAX_MERGED_EVENTS = 10_000;
const port = parentPort!;
const backlog: WriterRequest[] = [];
let pumping = false;

/** Moves every message already delivered to this thread into the backlog, without waiting. */
function takeDelivered(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) backlog.push(m.message as WriterRequest);
}

async function other(req: Exclude<WriterRequest, { type: 'commit' }>): Promise<WriterResponse> {
  switch (req.type) {
    case 'index':
      return { id: req.id, count: await indexer.indexCustomerUsage(req.maxRows) };
    case 'unindexed':
      return { id: req.id, count: await indexer.unindexedCount() };
    case 'close':
      await db.close();
      return { id: req.id, count: 0 };
  }
}

/**
 * Every commit request waiting when the writer gets free is applied in ONE transaction (one
 * fsync for all of them), in arrival order; each request still gets exactly its own outcomes,
 * after that COMMIT. While a transaction runs, the HTTP thread keeps sending groups, so the
 * writer never waits for that thread's event loop between two commits.
 */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      takeDelivered();
      const first = backlog.shift();
      if (first === undefined) break;
      now = new Date(first.now);
      if (first.type !== 'commit') {
        const res = await other(first).catch((e: unknown) => ({ id: first.id, error: e instanceof Error ? e.message : String(e) }));
        port.postMessage(res);
        continue;
      }
      const requests = [first];
      let events = first.jobs.reduce((n, j) => n + j.batch.validCount, 0);
      while (backlog.length > 0 && backlog[0].type === 'commit') {
        const next = backlog[0];
        const more = next.jobs.reduce((n, j) => n + j.batch.validCount, 0);
        if (events + more > MAX_MERGED_EVENTS) break;
        backlog.shift();
        requests.push(next);
        events += more;
        now = new Date(next.now);
      }
      const jobs = requests.length === 1 ? first.jobs : requests.flatMap((r) => (r as typeof first).jobs);
      let outcomes: WireOutcome[] | undefined;
      let error: string | undefined;
      try {
        outcomes = (await writer.commitGroup(jobs as IngestJob[])).map(wire);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      let offset = 0;
      for (const r of requests) {
        const n = (r as typeof first).jobs.length;
        port.postMessage(error !== undefined ? { id: r.id, error } : { id: r.id, outcomes: outcomes!.slice(offset, offset + n) });
        offset += n;
      }
    }
  } finally {
    pumping = false;
  }
}

port.on('message', (req: WriterRequest) => {
  backlog.push(req);
  void pump();
});
port.postMessage({ id: 0, ready: true } satisfies WriterResponse);
