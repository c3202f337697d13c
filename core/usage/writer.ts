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
  /** Events stored but not yet copied into usage_by_customer (PostgreSQL: an upper bound, seq gaps count; 0 exactly when caught up). */
  unindexedCount(): Promise<number>;
  /**
   * How many groups may be handed over before the first one committed (default 1). Only for
   * writers that apply groups strictly in order and merge waiting ones (the writer thread).
   */
  readonly maxInFlightGroups?: number;
  /**
   * Groups that failed as a whole before COMMIT and were applied again batch by batch (the
   * PostgreSQL writer); a diagnostic: the fast path should hold for well-behaved traffic.
   */
  readonly fallbacks?: number;
  /**
   * The PostgreSQL writer's path, a diagnostic and the tests' proof of it: groups whose first
   * pass was decided before the write lock from what the writer remembers (`kept`), those
   * decided again under it because a customer had changed meanwhile (`redone`), and optimistic
   * COPYs the unique index refused (a key stored that the writer did not know of), each done
   * again after a full lookup in the same transaction (`optimisticMisses`).
   */
  readonly decidedBeforeLock?: {
    readonly kept: number;
    readonly redone: number;
    readonly optimisticMisses: number;
    /** Jobs of groups decided before the lock whose pass was decided when they queued (`prepare`), and those decided only when their group formed. */
    readonly preparedEarly: number;
    readonly preparedLate: number;
  };
  /**
   * Called as a job queues, before its group forms: a writer may decide what it can of the job
   * ahead (the PostgreSQL writer: its first pass, while the previous group is in PostgreSQL).
   * Must not throw and must not change what `commitGroup` decides, only how soon.
   */
  prepare?(job: IngestJob): void;
  /** Whether the writer can take work now (a writer on its own thread may die and restart). */
  health?(): WriterHealth;
}

/** What `/readyz` reports about the usage writer. */
export interface WriterHealth {
  /** False between the writer thread's death and its replacement being ready. */
  alive: boolean;
  /** How many times the writer was restarted since the service started. */
  restarts: number;
  /** Why the writer last died, if it ever did. */
  lastError?: string;
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

/** How many events of a batch were accepted, were duplicates, were rejected. */
export interface IngestCounts {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/**
 * What ingesting a batch decided. `all_rejected` when no event was accepted or a duplicate.
 * The per-event results stay JSON text (the contract's `UsageEventResult[]`, in input order):
 * the writer thread produces them, and one string crosses threads in one copy where 500
 * objects would be cloned field by field (see README, "Outcomes and their rendering").
 */
export interface BatchOutcome {
  kind: 'processed' | 'all_rejected';
  counts: IngestCounts;
  /** The JSON text of the results array, `[{"idempotencyKey":…,"status":…}, …]`. */
  resultsJson: string;
}

export type JobOutcome =
  /** Applied now (and, with an Idempotency-Key, stored in the same transaction). */
  | { kind: 'executed'; outcome: BatchOutcome }
  /** The Idempotency-Key was completed before with the same body: its stored outcome. */
  | { kind: 'replayed'; outcome: BatchOutcome }
  /** The Idempotency-Key was used before with a different body. */
  | { kind: 'key_reused' }
  /** Another process is still executing a request with this Idempotency-Key. */
  | { kind: 'key_in_use' }
  | { kind: 'failed'; error: unknown };
