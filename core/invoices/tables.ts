import type { Environment } from '../context/index.js';

export type InvoiceStatus = 'draft' | 'finalized' | 'payment_pending' | 'paid' | 'void' | 'refunded';

export interface InvoicesTable {
  id: string; // inv_<ULID>
  merchant_id: string;
  environment: Environment;
  invoice_number: string;
  contract_id: string;
  customer_id: string;
  period_start: string;
  period_end: string;
  status: InvoiceStatus;
  pricing_currency: string;
  collection_currency: string;
  settlement_currency: string;
  subtotal_minor: string;
  collection_amount_minor: string;
  gross_settlement_minor: string;
  platform_fee_minor: string;
  net_settlement_minor: string;
  service_fee_bps: number;
  rate_card_id: string;
  rate_card_version: number;
  fx_snapshot: string;
  ledger_tx_id: string | null;
  finalized_at: string;
  voided_at: string | null;
  /** Set by collection (core/payments) when the invoice is paid, and when it is fully refunded. */
  paid_at: string | null;
  refunded_at: string | null;
  void_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface InvoiceLinesTable {
  invoice_id: string;
  line_no: number;
  metric: string;
  dimensions: string;
  quantity: string;
  pricing_model: string;
  price: string;
  amount_exact: string;
  amount_minor: string;
  usage: string;
}

export interface InvoiceCountersTable {
  merchant_id: string;
  environment: Environment;
  last_number: number;
}

export interface InvoiceTables {
  invoices: InvoicesTable;
  invoice_lines: InvoiceLinesTable;
  invoice_counters: InvoiceCountersTable;
}
