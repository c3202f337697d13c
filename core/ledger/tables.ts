import type { Environment } from '../context/index.js';

export interface LedgerAccountsTable {
  id: string; // lac_<ULID>
  code: string;
  type: string;
  normal_side: 'debit' | 'credit';
  merchant_id: string | null;
  environment: Environment;
  currency: string;
  channel: string | null;
  created_at: string;
}

export interface LedgerTransactionsTable {
  id: string; // ltx_<ULID>
  idempotency_key: string;
  kind: string;
  cause_type: string;
  cause_id: string;
  merchant_id: string | null;
  environment: Environment;
  description: string;
  reverses_tx_id: string | null;
  effective_at: string;
  posted_at: string;
  posted_by: string | null;
  header_hash: string;
}

export interface LedgerEntriesTable {
  seq: number;
  id: string; // len_<ULID>
  tx_id: string;
  account_id: string;
  side: 'debit' | 'credit';
  amount_minor: string;
  currency: string;
  effective_at: string;
  prev_hash: string;
  hash: string;
}

export interface LedgerTables {
  ledger_accounts: LedgerAccountsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
}
