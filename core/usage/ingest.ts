import { createHash } from 'node:crypto';
import type { CoreContext, MerchantScope } from '../context/index.js';
import { DomainError, conflict } from '../errors/index.js';
import { GroupCommitQueue } from './group-commit.js';
import { checkUsageBatch, parseBatchEnvelope } from './batch.js';
import { IDEMPOTENCY_TTL_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from './limits.js';
import { scanUsageBatch } from './scan.js';
import { createPostgresUsageEventWriter } from './postgres-writer.js';
import { createSqliteUsageEventWriter } from './sqlite-writer.js';
import { allRejectedOutcome } from './outcome.js';
import type { BatchOutcome, IngestJob, UsageEventWriter, WriterHealth } from './writer.js';

export interface IngestRequest {
  scope: MerchantScope;
  /** The request body exactly as received (its SHA-256 is what "same body" means). */
  body: Buffer;
  /** The Idempotency-Key header, if sent. */
  idempotencyKey?: string;
}

/**
 * What became of a batch, for the transport to render (the server: 200 for `processed`, 422
 * `all_events_rejected` for `all_rejected`, `Idempotent-Replayed: true` for a replay). Refusals
 * of the request as a whole are DomainErrors, as everywhere.
 */
export type IngestOutcome = BatchOutcome & {
  /** The stored outcome of an earlier request with the same Idempotency-Key and body. */
  replayed: boolean;
};

export interface UsageIngest {
  ingest(request: IngestRequest): Promise<IngestOutcome>;
  /** See GroupCommitQueue.pause: holds writes until the returned function is called. */
  pauseWrites(): () => void;
  /** Batches waiting for the writer. */
  readonly pendingBatches: number;
  /** Batches handed to the writer since start: unchanged between two looks means ingestion was idle. */
  readonly submittedBatches: number;
  /**
   * Copies up to `maxRows` not-yet-indexed events into usage_by_customer (one transaction, in
   * key order). The server's usage indexer calls it when ingestion is idle or the backlog is
   * large; invoicing may call it before reading. Returns how many rows were copied.
   */
  indexCustomerUsage(maxRows?: number): Promise<number>;
  /** Events stored but not yet in usage_by_customer (readers add them from usage_events); on PostgreSQL an upper bound (seq gaps count), 0 exactly when caught up. */
  unindexedCount(): Promise<number>;
  /** The writer's state, for readiness probes: an in-process writer is always alive. */
  writerHealth(): WriterHealth;
}

/** The dialect's writer, chosen once from capabilities. */
export function createUsageEventWriter(ctx: CoreContext): UsageEventWriter {
  // SQLite: prepared statements on the one synchronous connection. PostgreSQL: set-wise queries
  // over the pool (postgres-writer.ts). Both apply batches by the same rules (apply-job.ts).
  if (ctx.db.exclusive) return createSqliteUsageEventWriter(ctx);
  if (ctx.db.capabilities.name === 'postgres') return createPostgresUsageEventWriter(ctx);
  throw new Error(`No usage-event writer for ${ctx.db.capabilities.name}`);
}

const unprocessable = (code: string, message: string) => new DomainError('unprocessable', code, message);

/**
 * Usage-event ingestion: validate in the request, write in a shared group-commit transaction.
 *
 * Idempotency-Key: the stored response is looked up and written by the writer inside the same
 * transaction as the events, so a response is stored if and only if its events are (exactly
 * once). Within this process, a key whose request is still running is answered 409
 * `idempotency_key_in_use` at once; a request on another process sharing the database waits for
 * the write lock and then replays (never a second execution).
 */
export function createUsageIngest(ctx: CoreContext, options: { writer?: UsageEventWriter; maxGroupEvents?: number } = {}): UsageIngest {
  const writer = options.writer ?? createUsageEventWriter(ctx);
  const queue = new GroupCommitQueue(writer, options.maxGroupEvents);
  /** Idempotency-Key → SHA-256 of the body, for requests of this process still running. */
  const inFlight = new Map<string, string>();

  async function ingest(request: IngestRequest): Promise<IngestOutcome> {
    const { scope } = request;
    const headerKey = request.idempotencyKey;
    if (headerKey !== undefined && (headerKey.length === 0 || headerKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw unprocessable('invalid_idempotency_key_header', `The Idempotency-Key header must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    }
    const now = ctx.clock.now();
    const nowMs = now.getTime();
    // The single-pass scanner covers the usual body; anything it does not (escapes, non-ASCII,
    // odd types, envelope errors) takes the general path, with the same result.
    const batch = scanUsageBatch(request.body, nowMs) ?? checkUsageBatch(parseBatchEnvelope(request.body), nowMs);
    const job: IngestJob = { scope, receivedMs: nowMs, batch, idempotency: null };

    if (headerKey === undefined) {
      // Nothing for the database to decide: answer without queueing.
      if (batch.validCount === 0) return { ...allRejectedOutcome(batch), replayed: false };
      return run(job);
    }

    const requestHash = createHash('sha256').update(request.body).digest('hex');
    const flightKey = `${scope.merchantId}\u0000${scope.environment}\u0000${headerKey}`;
    const running = inFlight.get(flightKey);
    if (running !== undefined) {
      if (running !== requestHash) throw keyReused();
      throw keyInUse();
    }
    inFlight.set(flightKey, requestHash);
    try {
      job.idempotency = { key: headerKey, requestHash, expiresAt: new Date(nowMs + IDEMPOTENCY_TTL_MS).toISOString() };
      return await run(job);
    } finally {
      inFlight.delete(flightKey);
    }
  }

  let submitted = 0;
  async function run(job: IngestJob): Promise<IngestOutcome> {
    submitted++;
    const outcome = await queue.submit(job);
    switch (outcome.kind) {
      case 'executed':
        return { ...outcome.outcome, replayed: false };
      case 'replayed':
        return { ...outcome.outcome, replayed: true };
      case 'key_reused':
        throw keyReused();
      case 'key_in_use':
        throw keyInUse();
      case 'failed':
        throw outcome.error;
    }
  }

  return {
    ingest,
    pauseWrites: () => queue.pause(),
    indexCustomerUsage: (maxRows = 50_000) => writer.indexCustomerUsage(maxRows),
    unindexedCount: () => writer.unindexedCount(),
    writerHealth: () => writer.health?.() ?? { alive: true, restarts: 0 },
    get pendingBatches() {
      return queue.pending;
    },
    get submittedBatches() {
      return submitted;
    },
  };
}

const keyReused = () => conflict('idempotency_key_reused', 'This Idempotency-Key was already used with a different request body; use a new key for a new request');
const keyInUse = () => conflict('idempotency_key_in_use', 'A request with this Idempotency-Key is still being processed; retry shortly to receive its response');

const services = new WeakMap<CoreContext, UsageIngest>();

/**
 * Installs the ingest service a context uses (the server installs one with a threaded writer);
 * must happen before the first `usageIngestFor(ctx)`.
 */
export function installUsageIngest(ctx: CoreContext, service: UsageIngest): void {
  if (services.has(ctx)) throw new Error('usage ingest already set up for this context');
  services.set(ctx, service);
}

/** The one ingest service (and writer queue) of a context: one writer per database connection. */
export function usageIngestFor(ctx: CoreContext): UsageIngest {
  let service = services.get(ctx);
  if (!service) {
    service = createUsageIngest(ctx);
    services.set(ctx, service);
  }
  return service;
}
