import type { Generated } from 'kysely';

export const USAGE_METRICS = ['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

/**
 * The hot table (migration 0006): one compact row per stored event. References are integers
 * (see usage_scopes, usage_customers, usage_dimension_sets); times are ms since the epoch, UTC.
 * The public eventId is derived from `seq` (event-ids.ts), or is `legacy_id` for rows stored
 * before 0006.
 */
export interface UsageEventsTable {
  /** Commit-ordered sequence (SQLite rowid): the usage indexer's cursor and the eventId's source. */
  seq: Generated<number>;
  /** usage_scopes.id: the merchant and environment. */
  scope: number;
  idempotency_key: string;
  /** usage_customers.ref */
  customer: number;
  /** metricCode(metric): position in USAGE_METRICS + 1 */
  metric: number;
  /** Non-negative integer as a canonical decimal string (no sign, no leading zeros), any size. */
  quantity: string;
  occurred_at: number;
  /** usage_dimension_sets.id */
  dimensions: number;
  received_at: number;
  legacy_id: string | null;
}

/** One integer per (merchant, environment) that has usage. */
export interface UsageScopesTable {
  id: Generated<number>;
  merchant_id: string;
  environment: 'sandbox' | 'live';
}

/** One integer per customer that has usage. */
export interface UsageCustomersTable {
  ref: Generated<number>;
  customer_id: string;
}

/** Each distinct dimensions object once, as canonical JSON (keys sorted; '{}' when none). */
export interface UsageDimensionSetsTable {
  id: Generated<number>;
  canonical: string;
}

/** One row: the customers change counter (writer cache validity) and the event-id key. */
export interface UsageStateTable {
  id: number;
  customers_epoch: number;
  event_id_key: Buffer;
}

/** Whole-response cache for the Idempotency-Key header (24 h per merchant and environment). */
export interface IdempotencyRecordsTable {
  merchant_id: string;
  environment: 'sandbox' | 'live';
  idempotency_key: string;
  request_hash: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: string | null;
  created_at: string;
  expires_at: string;
}

/** Per-customer, time-ordered copy of billing fields, filled in bulk by the usage indexer. */
export interface UsageByCustomerTable {
  customer: number;
  occurred_at: number;
  seq: number;
  metric: number;
  quantity: string;
  dimensions: number;
}

/** How far each asynchronous index has read usage_events (by seq). */
export interface UsageIndexStateTable {
  name: string;
  last_seq: number;
}

export interface UsageTables {
  usage_events: UsageEventsTable;
  usage_scopes: UsageScopesTable;
  usage_customers: UsageCustomersTable;
  usage_dimension_sets: UsageDimensionSetsTable;
  usage_state: UsageStateTable;
  usage_by_customer: UsageByCustomerTable;
  usage_index_state: UsageIndexStateTable;
  idempotency_records: IdempotencyRecordsTable;
}
