import { type Kysely, sql } from 'kysely';
import { isPostgres } from './_dialect.js';

/**
 * Catalog and contracts: products, versioned rate cards, contracts binding a customer to a
 * published rate-card version. A published rate card is frozen by the database itself (a
 * trigger refuses changing its prices, currency or identity, reverting it to draft, or
 * deleting it), and a contract can never be repointed at another rate card or customer.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('products')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'text')
    .execute();
  await db.schema.createIndex('products_merchant_env_key_unq').on('products').columns(['merchant_id', 'environment', 'key']).unique().execute();
  await db.schema.createIndex('products_merchant_env_id').on('products').columns(['merchant_id', 'environment', 'id']).execute();

  await db.schema
    .createTable('rate_cards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
    .addColumn('prices', 'text', (c) => c.notNull())
    .addColumn('content_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('published_at', 'text')
    .addColumn('archived_at', 'text')
    .execute();
  await db.schema.createIndex('rate_cards_product_version_unq').on('rate_cards').columns(['product_id', 'version']).unique().execute();

  await db.schema
    .createTable('contracts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
    .addColumn('rate_card_id', 'text', (c) => c.notNull().references('rate_cards.id'))
    .addColumn('billing_cycle', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'text', (c) => c.notNull())
    .addColumn('ends_at', 'text')
    .addColumn('settlement_currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'text')
    .execute();
  await db.schema.createIndex('contracts_customer_product').on('contracts').columns(['customer_id', 'product_id', 'starts_at']).execute();
  await db.schema.createIndex('contracts_merchant_env_id').on('contracts').columns(['merchant_id', 'environment', 'id']).execute();

  // Customer lists page by id within one merchant and environment.
  await db.schema.createIndex('customers_merchant_env_id').on('customers').columns(['merchant_id', 'environment', 'id']).execute();

  if (isPostgres(db)) {
    await sql`
      CREATE FUNCTION rate_cards_refuse_frozen_change() RETURNS trigger AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'rate_card_frozen: a published rate card version cannot be deleted';
          END IF;
          RETURN OLD;
        END IF;
        IF OLD.status <> 'draft' AND (
             NEW.prices IS DISTINCT FROM OLD.prices OR NEW.currency IS DISTINCT FROM OLD.currency
          OR NEW.content_hash IS DISTINCT FROM OLD.content_hash OR NEW.version IS DISTINCT FROM OLD.version
          OR NEW.product_id IS DISTINCT FROM OLD.product_id OR NEW.merchant_id IS DISTINCT FROM OLD.merchant_id
          OR NEW.environment IS DISTINCT FROM OLD.environment OR NEW.published_at IS DISTINCT FROM OLD.published_at
          OR NEW.status = 'draft') THEN
          RAISE EXCEPTION 'rate_card_frozen: a published rate card version cannot change';
        END IF;
        RETURN NEW;
      END
      $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER rate_cards_frozen BEFORE UPDATE OR DELETE ON rate_cards FOR EACH ROW EXECUTE FUNCTION rate_cards_refuse_frozen_change()`.execute(db);
    await sql`
      CREATE FUNCTION contracts_refuse_repoint() RETURNS trigger AS $$
      BEGIN
        IF NEW.rate_card_id IS DISTINCT FROM OLD.rate_card_id OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
          OR NEW.product_id IS DISTINCT FROM OLD.product_id OR NEW.merchant_id IS DISTINCT FROM OLD.merchant_id
          OR NEW.environment IS DISTINCT FROM OLD.environment OR NEW.billing_cycle IS DISTINCT FROM OLD.billing_cycle
          OR NEW.starts_at IS DISTINCT FROM OLD.starts_at THEN
          RAISE EXCEPTION 'contract_terms_frozen: a contract cannot be repointed; end it and create a new one';
        END IF;
        RETURN NEW;
      END
      $$ LANGUAGE plpgsql`.execute(db);
    await sql`CREATE TRIGGER contracts_terms_frozen BEFORE UPDATE ON contracts FOR EACH ROW EXECUTE FUNCTION contracts_refuse_repoint()`.execute(db);
  } else {
    await sql`
      CREATE TRIGGER rate_cards_frozen_update BEFORE UPDATE ON rate_cards
      WHEN OLD.status <> 'draft' AND (
           NEW.prices IS NOT OLD.prices OR NEW.currency IS NOT OLD.currency
        OR NEW.content_hash IS NOT OLD.content_hash OR NEW.version IS NOT OLD.version
        OR NEW.product_id IS NOT OLD.product_id OR NEW.merchant_id IS NOT OLD.merchant_id
        OR NEW.environment IS NOT OLD.environment OR NEW.published_at IS NOT OLD.published_at
        OR NEW.status = 'draft')
      BEGIN
        SELECT RAISE(ABORT, 'rate_card_frozen: a published rate card version cannot change');
      END`.execute(db);
    await sql`
      CREATE TRIGGER rate_cards_frozen_delete BEFORE DELETE ON rate_cards
      WHEN OLD.status <> 'draft'
      BEGIN
        SELECT RAISE(ABORT, 'rate_card_frozen: a published rate card version cannot be deleted');
      END`.execute(db);
    await sql`
      CREATE TRIGGER contracts_terms_frozen BEFORE UPDATE ON contracts
      WHEN NEW.rate_card_id IS NOT OLD.rate_card_id OR NEW.customer_id IS NOT OLD.customer_id
        OR NEW.product_id IS NOT OLD.product_id OR NEW.merchant_id IS NOT OLD.merchant_id
        OR NEW.environment IS NOT OLD.environment OR NEW.billing_cycle IS NOT OLD.billing_cycle
        OR NEW.starts_at IS NOT OLD.starts_at
      BEGIN
        SELECT RAISE(ABORT, 'contract_terms_frozen: a contract cannot be repointed; end it and create a new one');
      END`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`DROP TRIGGER IF EXISTS contracts_terms_frozen ON contracts`.execute(db);
    await sql`DROP TRIGGER IF EXISTS rate_cards_frozen ON rate_cards`.execute(db);
    await sql`DROP FUNCTION IF EXISTS contracts_refuse_repoint()`.execute(db);
    await sql`DROP FUNCTION IF EXISTS rate_cards_refuse_frozen_change()`.execute(db);
  }
  await db.schema.dropIndex('customers_merchant_env_id').execute();
  await db.schema.dropTable('contracts').execute();
  await db.schema.dropTable('rate_cards').execute();
  await db.schema.dropTable('products').execute();
}
