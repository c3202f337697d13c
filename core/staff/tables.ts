export type StaffRole = 'admin' | 'finance' | 'support';
export type StaffStatus = 'active' | 'disabled';

export interface StaffTable {
  id: string; // stf_<ULID>
  email: string; // lower-case, unique
  role: StaffRole;
  status: StaffStatus;
  password_hash: string; // bcrypt, cost from the context (12)
  totp_secret_enc: string; // sealed with the data key, AAD `staff-totp:<id>`
  /** Set at the first sign-in with a valid code: 2FA is mandatory, so enrolment is part of it. */
  totp_enabled_at: string | null;
  /** The last TOTP time step accepted (login or step-up): a code is good once only. */
  totp_last_step: number | null;
  failed_attempts: number;
  locked_until: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

export interface StaffSessionsTable {
  id: string; // sess_<ULID>
  staff_id: string;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  last_seen_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

export interface StaffTables {
  staff: StaffTable;
  staff_sessions: StaffSessionsTable;
}
