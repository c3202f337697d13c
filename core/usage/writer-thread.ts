import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { CoreContext } from '../context/index.js';
import { openDatabase } from '../db/index.js';
import { createUlidSource } from '../ids/index.js';
import { createSqliteUsageEventWriter } from './sqlite-writer.js';
import type { IngestJob, JobOutcome } from './writer.js';
import type { WriterRequest, WriterResponse, WireOutcome } from './worker-writer.js';

/**
 * The usage writer thread: its own SQLite connection, running the same group-commit writer as
 * the in-process one, so the HTTP thread parses and validates the next batches while this one
 * commits. Time comes from the requester (its clock decides expiry and received-at), ids from
 * a ULID source of this thread.
 */
const { dbPath, durable } = workerData as { dbPath: string; durable: boolean };
const db = openDatabase(dbPath, { durable });
let now = new Date();
const ctx = {
  db,
  clock: { now: () => now },
  ids: createUlidSource(() => now.getTime(), (n) => new Uint8Array(randomBytes(n))),
  randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
} as unknown as CoreContext;
const writer = createSqliteUsageEventWriter(ctx);

function wire(o: JobOutcome): WireOutcome {
  return o.kind === 'failed' ? { kind: 'failed', message: o.error instanceof Error ? o.error.message : String(o.error) } : o;
}

async function handle(req: WriterRequest): Promise<WriterResponse> {
  now = new Date(req.now);
  switch (req.type) {
    case 'commit':
      return { id: req.id, outcomes: (await writer.commitGroup(req.jobs as IngestJob[])).map(wire) };
    case 'index':
      return { id: req.id, count: await writer.indexCustomerUsage(req.maxRows) };
    case 'unindexed':
      return { id: req.id, count: await writer.unindexedCount() };
    case 'close':
      await db.close();
      return { id: req.id, count: 0 };
  }
}

parentPort!.on('message', (req: WriterRequest) => {
  handle(req).then(
    (res) => parentPort!.postMessage(res),
    (e: unknown) => parentPort!.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies WriterResponse),
  );
});
