export interface AuditLogTable {
  /** 1, 2, 3 … with no gaps: the chain order. */
  seq: number;
  id: string; // aud_<ULID>
  at: string;
  actor_staff_id: string | null;
  actor_email: string | null;
  command: string;
  input: string; // canonical JSON, secrets redacted
  outcome: 'ok' | 'error';
  error_code: string | null;
  touched: string; // JSON array of ids
  prev_hash: string;
  hash: string;
  /** What the hash covers, and how it is serialised (see auditEntryHash). */
  hash_version: number;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}
