import type { Environment } from '../context/index.js';

export type WebhookEndpointSource = 'api' | 'profile';
export type WebhookDisabledReason = 'gone' | 'failing' | 'merchant';
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';
export type WebhookAttemptOutcome = 'succeeded' | 'failed' | 'refused' | 'abandoned';

export interface WebhookEndpointsTable {
  id: string; // we_…
  merchant_id: string;
  environment: Environment;
  source: WebhookEndpointSource;
  url: string;
  description: string | null;
  event_types: string; // JSON array, ["*"] = every type
  enabled: number;
  disabled_reason: WebhookDisabledReason | null;
  disabled_detail: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface WebhookDispatchTable {
  id: string; // the domain event's id
  due_at: string;
  leased_until: string | null;
  leased_by: string | null;
}

export interface WebhookDeliveriesTable {
  id: string; // whd_…
  endpoint_id: string;
  merchant_id: string;
  environment: Environment;
  message_id: string;
  event_type: string;
  subject_id: string | null;
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  run_attempts: number;
  due_at: string;
  leased_until: string | null;
  leased_by: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  succeeded_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptsTable {
  id: string; // wha_…
  delivery_id: string;
  endpoint_id: string;
  attempted_at: string;
  url: string;
  address: string | null;
  outcome: WebhookAttemptOutcome;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
  worker: string;
}

export interface WebhookTables {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_dispatch: WebhookDispatchTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}
