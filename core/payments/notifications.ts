import type { CoreContext, Environment } from '../context/index.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { recordEvent } from '../events/index.js';
import { loadInvoiceView } from '../invoices/view.js';
import type { VerifiedNotification } from './channels/types.js';
import { recordPaymentException } from './exceptions.js';
import { postPaymentCaptured } from './postings.js';
import { applyRefundNotification } from './refunds.js';
import { COLLECTION_CURRENCY, isPayableStatus } from './shared.js';
import type { PaymentExceptionKind } from './tables.js';

export type PaymentNotification = Extract<VerifiedNotification, { kind: 'payment' }>;

/**
 * What became of a verified notification. Every outcome is acknowledged to the channel: applied,
 * already applied (`duplicate`), kept for finance (`exception`), or nothing to do (`ignored`,
 * e.g. WAIT_BUYER_PAY). Only a thrown error (the database unavailable) asks the channel to retry.
 */
export interface NotificationResult {
  outcome: 'applied' | 'duplicate' | 'exception' | 'ignored';
  paymentId?: string;
  refundId?: string;
  invoiceId?: string;
  exceptionId?: string;
  exceptionKind?: PaymentExceptionKind;
  /** For `exception`: the same notification was already kept (a redelivery). */
  alreadyRecorded?: boolean;
  reason?: string;
}

export interface NotificationOptions {
  /**
   * The environment whose channel keys verified the notification (the callback route knows). When
   * given, an order or refund of the other environment is unknown to it: a sandbox notification
   * never pays a live order.
   */
  environment?: Environment;
}

/**
 * Applies a verified channel notification — a payment or a refund — at most once.
 *
 * A payment is applied in ONE transaction: the exactly-once key is (channel, transaction id),
 * checked under the write lock every domain transaction holds (core/db/README.md) and backed by
 * the unique index on payments, so 100 concurrent deliveries of one notification make one payment,
 * one posting and one `invoice.paid`. A notification that cannot be applied becomes a payment
 * exception instead, in the same kind of transaction.
 *
 * The channel's order query is as authoritative as its notification: reconciliation feeds what
 * `queryOrder` says through this same function.
 */
export async function applyChannelNotification(ctx: CoreContext, notification: VerifiedNotification, options: NotificationOptions = {}): Promise<NotificationResult> {
  if (notification.kind === 'refund') return applyRefundNotification(ctx, notification, options);
  const n = notification;
  if (!n.paid) return { outcome: 'ignored', reason: `trade state ${n.tradeState} is not a payment` };
  try {
    return await inTransaction(ctx, (tx) => applyPayment(tx, n, options));
  } catch (e) {
    // Only if two appliers slipped past the check (they cannot under the write lock): the loser is a duplicate.
    if (!isUniqueViolation(e)) throw e;
    const prior = await ctx.db.kysely
      .selectFrom('payments')
      .select(['id', 'invoice_id'])
      .where('channel', '=', n.channel)
      .where('transaction_id', '=', n.transactionId)
      .executeTakeFirst();
    if (!prior) throw e;
    return { outcome: 'duplicate', paymentId: prior.id, invoiceId: prior.invoice_id };
  }
}

async function applyPayment(tx: CoreContext, n: PaymentNotification, options: NotificationOptions): Promise<NotificationResult> {
  const k = tx.db.kysely;
  const prior = await k.selectFrom('payments').select(['id', 'invoice_id']).where('channel', '=', n.channel).where('transaction_id', '=', n.transactionId).executeTakeFirst();
  if (prior) return { outcome: 'duplicate', paymentId: prior.id, invoiceId: prior.invoice_id };

  const order = await k.selectFrom('payment_orders').selectAll().where('out_trade_no', '=', n.outTradeNo).executeTakeFirst();
  const exception = async (kind: PaymentExceptionKind, detail: string): Promise<NotificationResult> => {
    const r = await recordPaymentException(tx, {
      channel: n.channel,
      transactionId: n.transactionId,
      outTradeNo: n.outTradeNo,
      kind,
      amountMinor: n.amountFen,
      detail,
      payload: n,
      orderId: order?.id ?? null,
      invoiceId: order?.invoice_id ?? null,
      merchantId: order?.merchant_id ?? null,
      environment: order?.environment ?? null,
    });
    return { outcome: 'exception', exceptionId: r.exceptionId, exceptionKind: kind, alreadyRecorded: r.alreadyRecorded, invoiceId: order?.invoice_id };
  };
  if (!order || order.channel !== n.channel || (options.environment && order.environment !== options.environment)) {
    return exception('unknown_order', `No ${n.channel} payment order ${n.outTradeNo}${options.environment ? ` in ${options.environment}` : ''}`);
  }
  if (BigInt(order.amount_minor) !== n.amountFen || order.currency !== COLLECTION_CURRENCY) {
    return exception('amount_mismatch', `Paid ${n.amountFen} fen on order ${order.id} of ${order.amount_minor} fen`);
  }
  if (order.status === 'paid') return exception('duplicate_payment', `Order ${order.id} was already paid by transaction ${order.transaction_id}`);
  if (order.status === 'closed' || order.status === 'expired') return exception('order_closed', `Order ${order.id} is ${order.status}; the payment came after it was closed`);

  const invoice = await k.selectFrom('invoices').selectAll().where('id', '=', order.invoice_id).executeTakeFirstOrThrow();
  if (invoice.status === 'paid' || invoice.status === 'refunded') {
    return exception('duplicate_payment', `Invoice ${invoice.invoice_number} is already ${invoice.status} through another payment`);
  }
  if (!isPayableStatus(invoice.status)) return exception('invoice_not_payable', `Invoice ${invoice.invoice_number} is ${invoice.status}`);

  const now = tx.clock.now().toISOString();
  const paidAt = normalisedTime(n.paidAt) ?? now;
  const paymentId = tx.ids.next('pay');
  const ledgerTxId = await postPaymentCaptured(tx, {
    paymentId,
    invoiceNumber: invoice.invoice_number,
    merchantId: invoice.merchant_id,
    environment: invoice.environment,
    channel: n.channel,
    amountMinor: n.amountFen,
    effectiveAt: paidAt,
  });
  await k
    .insertInto('payments')
    .values({
      id: paymentId,
      order_id: order.id,
      invoice_id: invoice.id,
      merchant_id: invoice.merchant_id,
      environment: invoice.environment,
      channel: n.channel,
      transaction_id: n.transactionId,
      amount_minor: n.amountFen.toString(),
      currency: COLLECTION_CURRENCY,
      paid_at: paidAt,
      ledger_tx_id: ledgerTxId,
      created_at: now,
    })
    .execute();
  await k.updateTable('payment_orders').set({ status: 'paid', transaction_id: n.transactionId, paid_at: paidAt, updated_at: now }).where('id', '=', order.id).execute();
  await k.updateTable('invoices').set({ status: 'paid', paid_at: paidAt, updated_at: now }).where('id', '=', invoice.id).execute();
  const scope = { merchantId: invoice.merchant_id, environment: invoice.environment };
  const view = await loadInvoiceView(tx, scope, invoice.id);
  await recordEvent(tx, { type: 'invoice.paid', ...scope, data: view });
  return { outcome: 'applied', paymentId, invoiceId: invoice.id };
}

/** The channel's payment time in the one spelling the database keeps (or null when absent or unreadable). */
function normalisedTime(value: string | undefined): string | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}
