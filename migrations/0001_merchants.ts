import { type Kysely, sql } from 'kysely';
import { blobType } from './_dialect.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('merchants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('service_fee_bps', 'integer', (c) => c.notNull().defaultTo(80))
    .addColumn('webhook_url', 'text')
    .addColumn('receiving_addresses', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('settlement_currency', 'text')
    .addColumn('bank_account_enc', 'text')
    .addColumn('bank_account_masked', 'text')
    .addColumn('auto_create_customers', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('kyb_status', 'text', (c) => c.notNull().defaultTo('not_submitted'))
    .addColumn('totp_secret_enc', 'text')
    .addColumn('totp_pending_secret_enc', 'text')
    .addColumn('totp_enabled_at', 'text')
    .addColumn('totp_last_step', 'integer')
    .addColumn('on_chain_merchant_id', 'text')
    .addColumn('chain_id', 'integer')
    .addColumn('chain_active', 'integer')
    .addColumn('receiver_address', 'text')
    .addColumn('admin_address', 'text')
    .addColumn('metadata_hash', 'text')
    .addColumn('metadata_json', 'text')
    .addColumn('registered_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merchants_chain_id_on_chain_merchant_id_unq').on('merchants').columns(['chain_id', 'on_chain_merchant_id']).unique().execute();

  await db.schema
    .createTable('merchant_api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey()) // the public keyId part of bm_<env>_<keyId>.<secret>
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('rotated_from', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  // At most one usable key per merchant and environment.
  await db.schema
    .createIndex('merchant_api_keys_one_active')
    .on('merchant_api_keys')
    .columns(['merchant_id', 'environment'])
    .unique()
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('merchant_recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await db.schema.createIndex('merchant_recovery_codes_merchant').on('merchant_recovery_codes').column('merchant_id').execute();

  await db.schema
    .createTable('document_blobs')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('content', blobType(db), (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('kyb_submissions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('company_name', 'text', (c) => c.notNull())
    .addColumn('registration_number', 'text', (c) => c.notNull())
    .addColumn('country', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'text', (c) => c.notNull())
    .addColumn('reviewed_at', 'text')
    .addColumn('reviewed_by', 'text')
    .addColumn('rejection_reason', 'text')
    .addColumn('info_request', 'text')
    .execute();
  await db.schema.createIndex('kyb_submissions_merchant').on('kyb_submissions').columns(['merchant_id', 'submitted_at']).execute();
  await db.schema.createIndex('kyb_submissions_status').on('kyb_submissions').columns(['status', 'submitted_at']).execute();

  await db.schema
    .createTable('kyb_documents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('submission_id', 'text', (c) => c.notNull().references('kyb_submissions.id'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('original_name', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull().references('document_blobs.sha256'))
    .execute();
  await db.schema.createIndex('kyb_documents_submission').on('kyb_documents').column('submission_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['kyb_documents', 'kyb_submissions', 'document_blobs', 'merchant_recovery_codes', 'merchant_api_keys', 'merchants']) {
    await db.schema.dropTable(t).execute();
  }
}
