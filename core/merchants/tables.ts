export type MerchantStatus = 'active' | 'suspended' | 'deactivated';
export type KybStatus = 'not_submitted' | 'pending_review' | 'approved' | 'rejected' | 'info_requested';

export interface MerchantsTable {
  id: string;
  name: string;
  email: string;
  password_hash: string;
  status: MerchantStatus;
  service_fee_bps: number;
  webhook_url: string | null;
  receiving_addresses: string; // JSON {chain: EIP-55 address}
  settlement_currency: string | null;
  bank_account_enc: string | null; // sealed JSON (core/auth/secret-box)
  bank_account_masked: string | null; // JSON of the masked view shown back
  auto_create_customers: number;
  kyb_status: KybStatus;
  totp_secret_enc: string | null;
  totp_pending_secret_enc: string | null;
  totp_enabled_at: string | null;
  totp_last_step: number | null;
  on_chain_merchant_id: string | null;
  chain_id: number | null;
  chain_active: number | null;
  receiver_address: string | null;
  admin_address: string | null;
  metadata_hash: string | null;
  metadata_json: string | null;
  registered_at: string | null;
  /** The pending register-intent (migration 0021): overwritten by each call; never a destination. */
  intent_receiver_address: string | null;
  intent_metadata_hash: string | null;
  intent_metadata_json: string | null;
  intent_chain_id: number | null;
  intent_at: string | null;
  /** Last change of where money goes (receiving addresses, bank account, settlement currency). */
  destination_changed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface MerchantApiKeysTable {
  id: string;
  merchant_id: string;
  environment: 'sandbox' | 'live';
  secret_hash: string;
  prefix: string;
  scopes: string; // JSON array
  rotated_from: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface MerchantRecoveryCodesTable {
  id: string;
  merchant_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface DocumentBlobsTable {
  sha256: string;
  content_type: string;
  size_bytes: number;
  content: Buffer;
  created_at: string;
}

export interface KybSubmissionsTable {
  id: string;
  merchant_id: string;
  status: Exclude<KybStatus, 'not_submitted'>;
  company_name: string;
  registration_number: string;
  country: string;
  submitted_at: string;
  reviewed_at: string | null;
  reviewed_by: string | null;
  rejection_reason: string | null;
  info_request: string | null;
}

export interface KybDocumentsTable {
  id: string;
  submission_id: string;
  kind: 'companyRegistration' | 'ownerId' | 'bankProof';
  original_name: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
}

/** `receiverAddress`: the on-chain (V2) receiver, changed only by a confirmed contract event. */
export type DestinationField = 'receivingAddresses' | 'bankAccount' | 'settlementCurrency' | 'receiverAddress';
/** `chain`: applied by the chain listener from a contract event (core/chain/listener.ts). */
export type DestinationCredential = 'jwt' | 'api_key' | 'signup' | 'chain';

/** Append-only (database triggers): one row per destination field a request changed. */
export interface MerchantDestinationChangesTable {
  id: string;
  merchant_id: string;
  field: DestinationField;
  before_value: string | null; // JSON; a bank account only as its masked view
  after_value: string | null;
  credential: DestinationCredential;
  api_key_id: string | null;
  api_key_prefix: string | null;
  changed_at: string;
}

export interface MerchantTables {
  merchants: MerchantsTable;
  merchant_api_keys: MerchantApiKeysTable;
  merchant_recovery_codes: MerchantRecoveryCodesTable;
  document_blobs: DocumentBlobsTable;
  kyb_submissions: KybSubmissionsTable;
  kyb_documents: KybDocumentsTable;
  merchant_destination_changes: MerchantDestinationChangesTable;
}
