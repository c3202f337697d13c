/**
 * Tables of on-chain registration (migration 0021). Block numbers are 64-bit integer columns:
 * SQLite reads them back as numbers, PostgreSQL's bigint as decimal strings — hence
 * `number | string`; read them with `Number(...)` (block numbers stay far below 2^53).
 */
export interface ChainCursorsTable {
  chain_id: number;
  contract_address: string;
  next_block: number | string;
  head_block: number | string | null;
  safe_block: number | string | null;
  last_error: string | null;
  updated_at: string;
}

export type ChainLogOutcome = 'applied' | 'unmatched' | 'ignored';

export interface ChainLogsTable {
  id: string;
  chain_id: number;
  contract_address: string;
  tx_hash: string;
  log_index: number;
  block_number: number | string;
  block_hash: string;
  block_time: string;
  event: 'MerchantRegistered' | 'MerchantActiveChanged' | 'ReceiverUpdated';
  args: string;
  on_chain_merchant_id: string | null;
  merchant_id: string | null;
  outcome: ChainLogOutcome;
  detail: string | null;
  applied_at: string;
}

export interface ChainLogReviewsTable {
  id: string;
  chain_log_id: string;
  staff_id: string;
  resolution: string;
  merchant_id: string | null;
  note: string;
  created_at: string;
}

export interface ChainTables {
  chain_cursors: ChainCursorsTable;
  chain_logs: ChainLogsTable;
  chain_log_reviews: ChainLogReviewsTable;
}
