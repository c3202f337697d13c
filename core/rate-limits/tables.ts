/** migrations/0012_rate_limits.ts: one fixed-window counter per (limiter, client key). */
export interface RateLimitWindowTable {
  limiter: string;
  client_key: string;
  /** Epoch ms: the client's first attempt in this window. number on SQLite, string on PostgreSQL. */
  window_start: number | string;
  /** Epoch ms: window_start + the limiter's window. */
  expires_at: number | string;
  count: number;
}

export interface RateLimitTables {
  rate_limit_windows: RateLimitWindowTable;
}
