import type { BillingCycle } from './periods.js';

export interface ContractsTable {
  id: string; // ctr_<ULID>
  merchant_id: string;
  environment: 'sandbox' | 'live';
  customer_id: string;
  product_id: string;
  /** A published rate-card version; the database refuses to repoint a contract. */
  rate_card_id: string;
  billing_cycle: BillingCycle;
  starts_at: string;
  ends_at: string | null;
  settlement_currency: string;
  /** active (ends_at may still lie ahead), ended (ended early through the API), archived. */
  status: 'active' | 'ended' | 'archived';
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface ContractTables {
  contracts: ContractsTable;
}
