import type { Kysely } from 'kysely';
import { decimalType } from './_dialect.js';

/**
 * Invoices: one per contract per billing period (the unique index guarantees it, whatever runs
 * concurrently), with their lines and the FX rates they used, and the per-merchant, per-environment
 * counter behind human invoice numbers (BM-2026-000042).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invoices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('invoice_number', 'text', (c) => c.notNull())
    .addColumn('contract_id', 'text', (c) => c.notNull().references('contracts.id'))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('period_start', 'text', (c) => c.notNull())
    .addColumn('period_end', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pricing_currency', 'text', (c) => c.notNull())
    .addColumn('collection_currency', 'text', (c) => c.notNull())
    .addColumn('settlement_currency', 'text', (c) => c.notNull())
    .addColumn('subtotal_minor', decimalType(db), (c) => c.notNull())
    .addColumn('collection_amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('gross_settlement_minor', decimalType(db), (c) => c.notNull())
    .addColumn('platform_fee_minor', decimalType(db), (c) => c.notNull())
    .addColumn('net_settlement_minor', decimalType(db), (c) => c.notNull())
    .addColumn('service_fee_bps', 'integer', (c) => c.notNull())
    .addColumn('rate_card_id', 'text', (c) => c.notNull().references('rate_cards.id'))
    .addColumn('rate_card_version', 'integer', (c) => c.notNull())
    // [{ id, pair, rate, effectiveAt, source, use }] — the fx_rates rows it used, by id.
    .addColumn('fx_snapshot', 'text', (c) => c.notNull())
    .addColumn('ledger_tx_id', 'text')
    .addColumn('finalized_at', 'text', (c) => c.notNull())
    .addColumn('voided_at', 'text')
    .addColumn('void_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('invoices_contract_period').on('invoices').columns(['contract_id', 'period_start']).unique().execute();
  await db.schema.createIndex('invoices_number').on('invoices').columns(['merchant_id', 'environment', 'invoice_number']).unique().execute();
  await db.schema.createIndex('invoices_merchant_list').on('invoices').columns(['merchant_id', 'environment', 'id']).execute();
  await db.schema.createIndex('invoices_customer').on('invoices').columns(['customer_id', 'period_start']).execute();

  await db.schema
    .createTable('invoice_lines')
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.id'))
    .addColumn('line_no', 'integer', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('dimensions', 'text', (c) => c.notNull())
    .addColumn('quantity', decimalType(db), (c) => c.notNull())
    .addColumn('pricing_model', 'text', (c) => c.notNull())
    // The rate card's price entry as applied (JSON).
    .addColumn('price', 'text', (c) => c.notNull())
    .addColumn('amount_exact', decimalType(db), (c) => c.notNull())
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('usage', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_lines_pk', ['invoice_id', 'line_no'])
    .execute();

  await db.schema
    .createTable('invoice_counters')
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('last_number', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('invoice_counters_pk', ['merchant_id', 'environment'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invoice_counters').execute();
  await db.schema.dropTable('invoice_lines').execute();
  await db.schema.dropTable('invoices').execute();
}
