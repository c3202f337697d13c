import type { Generated } from 'kysely';

export const USAGE_METRICS = ['tokens_input', 'tokens_output', 'image_generation', 'agent_run', 'storage_gb'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

export interface UsageEventsTable {
  /** Commit-ordered sequence (SQLite rowid): the usage indexer's cursor. */
  seq: Generated<number>;
  id: string;
  merchant_id: string;
  environment: 'sandbox' | 'live';
  idempotency_key: string;
  customer_id: string;
  metric: UsageMetric;
  /** Non-negative integer as a canonical decimal string (no sign, no leading zeros), any size. */
  quantity: string;
  occurred_at: string;
  /** Canonical JSON object of string values, keys sorted; '{}' when none. */
  dimensions: string;
  received_at: string;
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
  customer_id: string;
  occurred_at: string;
  seq: number;
  metric: UsageMetric;
  quantity: string;
  dimensions: string;
}

/** How far each asynchronous index has read usage_events (by seq). */
export interface UsageIndexStateTable {
  name: string;
  last_seq: number;
}

export interface UsageTables {
  usage_events: UsageEventsTable;
  usage_by_customer: UsageByCustomerTable;
  usage_index_state: UsageIndexStateTable;
  idempotency_records: IdempotencyRecordsTable;
}
