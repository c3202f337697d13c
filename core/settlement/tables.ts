import type { Environment } from '../context/index.js';

export type SettlementBatchStatus = 'closed' | 'approved' | 'rejected' | 'completed';
export type SettlementLineStatus = 'pending' | 'completed';
export type PayoutFileFormat = 'bank-csv' | 'bank-summary' | 'token-csv' | 'pain001';

export interface SettlementBatchesTable {
  id: string; // stb_<ULID>
  environment: Environment;
  month: string; // YYYY-MM
  currency: string;
  status: SettlementBatchStatus;
  closed_by: string;
  closed_at: string;
  line_count: number;
  /** Control sum: the lines' net, integer minor units as decimal text. */
  total_minor: string;
  held_count: number;
  content_hash: string;
  approved_at: string | null;
  fx_rate_id: string | null;
  fx_rate: string | null;
  rejected_by: string | null;
  rejected_at: string | null;
  reject_reason: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SettlementLinesTable {
  id: string; // stl_<ULID>
  batch_id: string;
  line_no: number;
  merchant_id: string;
  merchant_name: string;
  reference: string;
  currency: string;
  gross_minor: string;
  fees_minor: string;
  refunds_minor: string;
  net_minor: string;
  collection_net_minor: string;
  invoice_count: number;
  destination_kind: 'bank' | 'token';
  destination_enc: string;
  destination_masked: string;
  status: SettlementLineStatus;
  payout_tx_id: string | null;
  fx_difference_minor: string | null;
  completion_reference: string | null;
  completed_by: string | null;
  completed_at: string | null;
  completion_tx_id: string | null;
}

export interface SettlementLineInvoicesTable {
  batch_id: string;
  line_id: string;
  invoice_id: string;
  gross_minor: string;
  fees_minor: string;
  refunds_minor: string;
  net_minor: string;
  collection_net_minor: string;
  released_at: string | null;
}

export interface SettlementHeldTable {
  id: string;
  batch_id: string;
  merchant_id: string;
  merchant_name: string;
  reason: string;
  detail: string;
  net_minor: string;
  invoice_ids: string;
}

export interface SettlementApprovalsTable {
  id: string;
  batch_id: string;
  admin_id: string;
  content_hash: string;
  ordinal: number;
  approved_at: string;
}

export interface SettlementPayoutFilesTable {
  id: string;
  batch_id: string;
  format: PayoutFileFormat;
  file_name: string;
  sha256: string;
  byte_length: number | string;
  kind: 'produced' | 'exported';
  content_enc: string | null;
  created_by: string | null;
  created_at: string;
}

export interface SettlementTables {
  settlement_batches: SettlementBatchesTable;
  settlement_lines: SettlementLinesTable;
  settlement_line_invoices: SettlementLineInvoicesTable;
  settlement_held: SettlementHeldTable;
  settlement_approvals: SettlementApprovalsTable;
  settlement_payout_files: SettlementPayoutFilesTable;
}
