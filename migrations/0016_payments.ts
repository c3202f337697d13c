import { type Kysely, sql } from 'kysely';
import { decimalType, timeType } from './_dialect.js';

/**
 * Collection in CNY through WeChat Pay and Alipay: payment orders (one per attempt, each with its
 * own out-trade number), payments (exactly once per channel transaction id), payment exceptions
 * (verified notifications that could not be applied, kept for finance) and refunds (each with its
 * own out-refund number, reused on every retry). Invoices learn when they were paid and refunded.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('invoices').addColumn('paid_at', timeType(db)).execute();
  await db.schema.alterTable('invoices').addColumn('refunded_at', timeType(db)).execute();

  await db.schema
    .createTable('payment_orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.id'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('out_trade_no', 'text', (c) => c.notNull().unique())
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    // creating | open | paid | closed | expired | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('code_url', 'text')
    .addColumn('checkout_token', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', timeType(db), (c) => c.notNull())
    .addColumn('transaction_id', 'text')
    .addColumn('paid_at', timeType(db))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payment_orders_invoice').on('payment_orders').columns(['invoice_id', 'channel', 'created_at']).execute();
  // The reconcile scan: open or creating orders by expiry.
  await db.schema.createIndex('payment_orders_status_expiry').on('payment_orders').columns(['status', 'expires_at']).execute();
  // At most one live attempt per invoice and channel, whatever runs at the same time.
  await db.schema
    .createIndex('payment_orders_one_live')
    .on('payment_orders')
    .columns(['invoice_id', 'channel'])
    .unique()
    .where(sql.ref('status'), 'in', ['creating', 'open'])
    .execute();

  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull().references('payment_orders.id'))
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('paid_at', timeType(db), (c) => c.notNull())
    .addColumn('ledger_tx_id', 'text')
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute();
  // The exactly-once key of a payment: the channel's own transaction id.
  await db.schema.createIndex('payments_channel_transaction').on('payments').columns(['channel', 'transaction_id']).unique().execute();
  await db.schema.createIndex('payments_invoice').on('payments').columns(['invoice_id']).execute();
  await db.schema.createIndex('payments_order').on('payments').columns(['order_id']).unique().execute();

  await db.schema
    .createTable('payment_exceptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('out_trade_no', 'text', (c) => c.notNull())
    // amount_mismatch | unknown_order | order_closed | invoice_not_payable | duplicate_payment | unknown_refund | refund_mismatch
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text')
    .addColumn('invoice_id', 'text')
    .addColumn('merchant_id', 'text')
    .addColumn('environment', 'text')
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    // The verified notification (or channel query answer) as JSON, amounts as decimal strings.
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('resolution', 'text')
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', timeType(db))
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .execute();
  // A redelivered notification finds its exception instead of making a second one.
  await db.schema.createIndex('payment_exceptions_key').on('payment_exceptions').columns(['channel', 'transaction_id', 'kind']).unique().execute();
  await db.schema.createIndex('payment_exceptions_status').on('payment_exceptions').columns(['status', 'id']).execute();

  await db.schema
    .createTable('refunds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('invoice_id', 'text', (c) => c.notNull().references('invoices.id'))
    .addColumn('payment_id', 'text', (c) => c.notNull().references('payments.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('out_refund_no', 'text', (c) => c.notNull().unique())
    .addColumn('amount_minor', decimalType(db), (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    // requested | pending | succeeded | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('channel_refund_id', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('ledger_tx_id', 'text')
    .addColumn('created_at', timeType(db), (c) => c.notNull())
    .addColumn('updated_at', timeType(db), (c) => c.notNull())
    .addColumn('succeeded_at', timeType(db))
    .execute();
  await db.schema.createIndex('refunds_invoice').on('refunds').columns(['invoice_id', 'created_at']).execute();
  await db.schema.createIndex('refunds_status').on('refunds').columns(['status', 'updated_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('refunds').execute();
  await db.schema.dropTable('payment_exceptions').execute();
  await db.schema.dropTable('payments').execute();
  await db.schema.dropTable('payment_orders').execute();
  await db.schema.alterTable('invoices').dropColumn('refunded_at').execute();
  await db.schema.alterTable('invoices').dropColumn('paid_at').execute();
}
