import type { MerchantScope } from '../context/index.js';
import type { IngestBatch } from './batch.js';

/**
 * The port between the ingest service and the database. A writer commits a *group* of batches
 * in one transaction (group commit) and resolves only after COMMIT returned, so no response
 * leaves before its events are durable. Each dialect has its own implementation, chosen once
 * in `createUsageEventWriter`; SQLite's lives in sqlite-writer.ts.
 */
export interface UsageEventWriter {
  /** Applies every job in one transaction; one outcome per job, in order. */
  commitGroup(jobs: readonly IngestJob[]): Promise<JobOutcome[]>;
  /**
   * Copies up to `maxRows` events not yet in usage_by_customer into it (sorted, one
   * transaction) and advances the cursor; returns how many were copied.
   */
  indexCustomerUsage(maxRows: number): Promise<number>;
  /** Events stored but not yet copied into usage_by_customer. */
  unindexedCount(): Promise<number>;
  /**
   * How many groups may be handed over before the first one committed (default 1). Only for
   * writers that apply groups strictly in order and merge waiting ones (the writer thread).
   */
  readonly maxInFlightGroups?: number;
}

/** One HTTP batch after validation: what the writer needs to apply it. */
export interface IngestJob {
  scope: MerchantScope;
  /** When the batch was received, ms since the epoch (usage_events.received_at). */
  receivedMs: number;
  /** The events, checked (batch.ts); packed when the scanner read them. */
  batch: IngestBatch;
  /** The Idempotency-Key header: the response is stored in the same transaction as the events. */
  idempotency: { key: string; requestHash: string; expiresAt: string } | null;
}

export type JobOutcome =
  /** Applied now; `body` is the exact JSON sent (and stored under the Idempotency-Key). */
  | { kind: 'executed'; status: number; body: string }
  /** The Idempotency-Key was completed before with the same body: its stored response. */
  | { kind: 'replayed'; status: number; body: string }
  /** The Idempotency-Key was used before with a different body. */
  | { kind: 'key_reused' }
  /** Another process is still executing a request with this Idempotency-Key. */
  | { kind: 'key_in_use' }
  | { kind: 'failed'; error: unknown };
