import type { Environment } from '../context/index.js';
import type { ChannelName } from './channels/types.js';

export type PaymentOrderStatus = 'creating' | 'open' | 'paid' | 'closed' | 'expired' | 'failed';

export interface PaymentOrdersTable {
  id: string; // po_<ULID>
  merchant_id: string;
  environment: Environment;
  invoice_id: string;
  channel: ChannelName;
  /** Ours, one per attempt: a new order after expiry gets a new one. */
  out_trade_no: string;
  amount_minor: string;
  currency: string;
  status: PaymentOrderStatus;
  code_url: string | null;
  /** Unguessable: names the order in the hosted checkout page's URL. */
  checkout_token: string;
  expires_at: string;
  transaction_id: string | null;
  paid_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PaymentsTable {
  id: string; // pay_<ULID>
  order_id: string;
  invoice_id: string;
  merchant_id: string;
  environment: Environment;
  channel: ChannelName;
  /** The channel's transaction id: unique per channel, the exactly-once key. */
  transaction_id: string;
  amount_minor: string;
  currency: string;
  paid_at: string;
  ledger_tx_id: string | null;
  created_at: string;
}

export type PaymentExceptionKind = 'amount_mismatch' | 'unknown_order' | 'order_closed' | 'invoice_not_payable' | 'duplicate_payment' | 'unknown_refund' | 'refund_mismatch';

export interface PaymentExceptionsTable {
  id: string; // pex_<ULID>
  channel: ChannelName;
  /** The channel's transaction id (payments) or refund id (refunds). */
  transaction_id: string;
  out_trade_no: string;
  kind: PaymentExceptionKind;
  order_id: string | null;
  invoice_id: string | null;
  merchant_id: string | null;
  environment: Environment | null;
  amount_minor: string;
  payload: string;
  detail: string;
  status: 'open' | 'resolved';
  resolution: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  created_at: string;
}

export type RefundStatus = 'requested' | 'pending' | 'succeeded' | 'failed';

export interface RefundsTable {
  id: string; // rf_<ULID>
  invoice_id: string;
  payment_id: string;
  merchant_id: string;
  environment: Environment;
  channel: ChannelName;
  /** Ours, fixed at request: every retry sends the same one, so the channel refunds once. */
  out_refund_no: string;
  amount_minor: string;
  currency: string;
  reason: string;
  status: RefundStatus;
  channel_refund_id: string | null;
  failure_reason: string | null;
  requested_by: string | null;
  ledger_tx_id: string | null;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
}

/** The sandbox channel peers' orders and refunds (channels/peer-state.ts, setup/sandbox-peer-store.ts). */
export interface SandboxChannelRecordsTable {
  channel: ChannelName;
  kind: 'order' | 'refund';
  key: string;
  ref: string | null;
  state: string;
  /** The peer's record as JSON (bigints and Maps tagged). */
  data: string;
  version: number;
  updated_at: string;
}

export interface PaymentTables {
  payment_orders: PaymentOrdersTable;
  payments: PaymentsTable;
  payment_exceptions: PaymentExceptionsTable;
  refunds: RefundsTable;
  sandbox_channel_records: SandboxChannelRecordsTable;
}
