import { z } from 'zod';
import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, invalidInput, notFound } from '../errors/index.js';
import { recordEvent } from '../events/index.js';
import { loadInvoiceView } from '../invoices/view.js';
import type { ChannelName, ChannelRefundResult, VerifiedNotification } from './channels/types.js';
import { recordPaymentException } from './exceptions.js';
import type { NotificationOptions, NotificationResult } from './notifications.js';
import { postRefundSucceeded } from './postings.js';
import { type ChannelRegistry, CHANNEL_NAMES, COLLECTION_CURRENCY, channelUnavailable, parsePositiveMinor } from './shared.js';
import type { RefundStatus, RefundsTable } from './tables.js';

/** A refund as the back office and the CLI show it (one mapping: refundView). */
export const RefundSchema = z.object({
  id: z.string(),
  invoiceId: z.string(),
  paymentId: z.string(),
  channel: z.enum(CHANNEL_NAMES),
  outRefundNo: z.string(),
  amountMinor: z.string(),
  currency: z.string(),
  reason: z.string(),
  status: z.enum(['requested', 'pending', 'succeeded', 'failed'] satisfies RefundStatus[]),
  channelRefundId: z.string().nullable(),
  failureReason: z.string().nullable(),
  requestedBy: z.string().nullable(),
  ledgerTxId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  succeededAt: z.string().nullable(),
});
export type RefundView = z.infer<typeof RefundSchema>;

export function refundView(r: RefundsTable): RefundView {
  return {
    id: r.id,
    invoiceId: r.invoice_id,
    paymentId: r.payment_id,
    channel: r.channel,
    outRefundNo: r.out_refund_no,
    amountMinor: r.amount_minor,
    currency: r.currency,
    reason: r.reason,
    status: r.status,
    channelRefundId: r.channel_refund_id,
    failureReason: r.failure_reason,
    requestedBy: r.requested_by,
    ledgerTxId: r.ledger_tx_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    succeededAt: r.succeeded_at,
  };
}

export type RefundNotifyUrl = string | ((channel: ChannelName) => string);

export interface CreateRefundInput {
  invoiceId: string;
  /** CNY fen, a positive whole number as a decimal string. */
  amountMinor: string;
  reason: string;
  /** The staff id who asked (finance or admin; the command checks the role and step-up). */
  actor: string | null;
  notifyUrl: RefundNotifyUrl;
}

/**
 * Refunds part or all of a paid invoice. The refund row is written first (`requested`, with its
 * out-refund number) in the transaction that checks the amount — refunds not failed plus this one
 * never exceed what was paid — then the channel is called outside any transaction, then its answer
 * is applied (applyRefundResult). If the call fails the refund stays `requested`: retryRefund (or
 * reconciliation) calls the channel again with the same out-refund number, so the channel refunds
 * once however often it is asked.
 */
export async function createRefund(ctx: CoreContext, channels: ChannelRegistry, input: CreateRefundInput): Promise<RefundView> {
  const amount = parsePositiveMinor(input.amountMinor, 'amountMinor');
  const reason = input.reason.trim();
  if (!reason) throw invalidInput('refund_reason_required', 'A refund needs a reason');
  const refund = await inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const invoice = await k.selectFrom('invoices').selectAll().where('id', '=', input.invoiceId).executeTakeFirst();
    if (!invoice) throw notFound('invoice_not_found', `No invoice ${input.invoiceId}`);
    if (invoice.status === 'refunded') throw conflict('invoice_refunded', `Invoice ${invoice.invoice_number} is already fully refunded`);
    if (invoice.status !== 'paid') throw conflict('invoice_not_paid', `Invoice ${invoice.invoice_number} is ${invoice.status}; only a paid invoice can be refunded`);
    const payment = await k.selectFrom('payments').selectAll().where('invoice_id', '=', invoice.id).orderBy('id').executeTakeFirst();
    if (!payment) throw conflict('invoice_not_paid', `Invoice ${invoice.invoice_number} has no payment`);
    // Once a settlement batch has gathered the invoice, its net is promised to the merchant (and,
    // once approved, posted to payout clearing): a refund now would pay out money already given
    // back. Refunds wait until the batch is rejected (which releases the invoice); after a payout
    // the money is the merchant's and a refund is theirs to make. The check runs under the write
    // lock every transaction takes (core/db/transaction.ts), so a concurrent close cannot slip by.
    const inBatch = await k
      .selectFrom('settlement_line_invoices as sli')
      .innerJoin('settlement_batches as b', 'b.id', 'sli.batch_id')
      .select(['b.id', 'b.status', 'b.month'])
      .where('sli.invoice_id', '=', invoice.id)
      .where('sli.released_at', 'is', null)
      .executeTakeFirst();
    if (inBatch) {
      throw conflict(
        'invoice_in_settlement',
        `Invoice ${invoice.invoice_number} is in settlement batch ${inBatch.id} (${inBatch.month}, ${inBatch.status}); it cannot be refunded unless that batch is rejected`,
        {
          batchId: inBatch.id,
          batchStatus: inBatch.status,
        },
      );
    }
    const paid = BigInt(payment.amount_minor);
    const committed = await refundedTotal(tx, invoice.id, ['requested', 'pending', 'succeeded']);
    if (committed + amount > paid) {
      throw conflict('refund_exceeds_paid', `Refunding ${amount} would bring refunds to ${committed + amount} of ${paid} paid`, {
        paidMinor: paid.toString(),
        refundedMinor: committed.toString(),
        availableMinor: (paid - committed).toString(),
      });
    }
    const now = tx.clock.now().toISOString();
    const id = tx.ids.next('rf');
    const row: RefundsTable = {
      id,
      invoice_id: invoice.id,
      payment_id: payment.id,
      merchant_id: invoice.merchant_id,
      environment: invoice.environment,
      channel: payment.channel,
      out_refund_no: tx.ids.next('rn'),
      amount_minor: amount.toString(),
      currency: COLLECTION_CURRENCY,
      reason,
      status: 'requested',
      channel_refund_id: null,
      failure_reason: null,
      requested_by: input.actor,
      ledger_tx_id: null,
      created_at: now,
      updated_at: now,
      succeeded_at: null,
    };
    await k.insertInto('refunds').values(row).execute();
    return row;
  });
  return sendRefund(ctx, channels, refund, input.notifyUrl);
}

/**
 * Asks the channel again for a refund still `requested` or `pending`, with its own out-refund
 * number (the channel answers with the first call's refund). A settled refund is returned as is.
 */
export async function retryRefund(ctx: CoreContext, channels: ChannelRegistry, refundId: string, options: { notifyUrl: RefundNotifyUrl }): Promise<RefundView> {
  const refund = await ctx.db.kysely.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirst();
  if (!refund) throw notFound('refund_not_found', `No refund ${refundId}`);
  if (refund.status === 'succeeded' || refund.status === 'failed') return refundView(refund);
  return sendRefund(ctx, channels, refund, options.notifyUrl);
}

async function sendRefund(ctx: CoreContext, channels: ChannelRegistry, refund: RefundsTable, notifyUrl: RefundNotifyUrl): Promise<RefundView> {
  const k = ctx.db.kysely;
  const payment = await k.selectFrom('payments').select(['order_id', 'amount_minor']).where('id', '=', refund.payment_id).executeTakeFirstOrThrow();
  const order = await k.selectFrom('payment_orders').select('out_trade_no').where('id', '=', payment.order_id).executeTakeFirstOrThrow();
  let result: ChannelRefundResult;
  try {
    result = await channels(refund.channel, refund.environment).refund({
      outTradeNo: order.out_trade_no,
      outRefundNo: refund.out_refund_no,
      refundFen: BigInt(refund.amount_minor),
      totalFen: BigInt(payment.amount_minor),
      reason: refund.reason,
      notifyUrl: typeof notifyUrl === 'function' ? notifyUrl(refund.channel) : notifyUrl,
    });
  } catch (e) {
    await k.updateTable('refunds').set({ updated_at: ctx.clock.now().toISOString() }).where('id', '=', refund.id).where('status', '=', 'requested').execute();
    return channelUnavailable(e);
  }
  await applyRefundResult(ctx, refund.id, result);
  return loadRefund(ctx, refund.id);
}

export async function loadRefund(ctx: CoreContext, refundId: string): Promise<RefundView> {
  const row = await ctx.db.kysely.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirst();
  if (!row) throw notFound('refund_not_found', `No refund ${refundId}`);
  return refundView(row);
}

/** Refunds of an invoice, oldest first. */
export async function listRefunds(ctx: CoreContext, invoiceId: string): Promise<RefundView[]> {
  return (await ctx.db.kysely.selectFrom('refunds').selectAll().where('invoice_id', '=', invoiceId).orderBy('id').execute()).map(refundView);
}

async function refundedTotal(ctx: CoreContext, invoiceId: string, statuses: RefundStatus[]): Promise<bigint> {
  const rows = await ctx.db.kysely.selectFrom('refunds').select('amount_minor').where('invoice_id', '=', invoiceId).where('status', 'in', statuses).execute();
  return rows.reduce((s, r) => s + BigInt(r.amount_minor), 0n);
}

export interface RefundResultOutcome {
  outcome: 'applied' | 'pending' | 'duplicate' | 'exception';
  refund: RefundView;
  exceptionId?: string;
}

/**
 * Applies what the channel says about a refund — its synchronous answer, its notification, or its
 * query — exactly once, in one transaction: the status moves only out of `requested`/`pending`.
 * On success the refund is posted (core/ledger/README.md, "refund"); when the refunds reach what
 * was paid the invoice becomes `refunded` and `invoice.refunded` goes to the outbox. An answer that
 * contradicts what is recorded (succeeded after failed, another amount) becomes a payment exception.
 */
export async function applyRefundResult(
  ctx: CoreContext,
  refundId: string,
  result: ChannelRefundResult,
  source: { payload?: unknown; transactionId?: string } = {},
): Promise<RefundResultOutcome> {
  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const refund = await k.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirst();
    if (!refund) throw notFound('refund_not_found', `No refund ${refundId}`);
    const now = tx.clock.now().toISOString();
    const open = refund.status === 'requested' || refund.status === 'pending';
    const exception = async (detail: string): Promise<RefundResultOutcome> => {
      const channelId = 'refundId' in result ? result.refundId : null;
      const order = await k
        .selectFrom('payments')
        .innerJoin('payment_orders', 'payment_orders.id', 'payments.order_id')
        .select(['payment_orders.id', 'payment_orders.out_trade_no'])
        .where('payments.id', '=', refund.payment_id)
        .executeTakeFirstOrThrow();
      const r = await recordPaymentException(tx, {
        channel: refund.channel,
        transactionId: source.transactionId ?? channelId ?? refund.out_refund_no,
        outTradeNo: order.out_trade_no,
        orderId: order.id,
        kind: 'refund_mismatch',
        amountMinor: 'refundFen' in result ? result.refundFen : BigInt(refund.amount_minor),
        detail,
        payload: source.payload ?? result,
        invoiceId: refund.invoice_id,
        merchantId: refund.merchant_id,
        environment: refund.environment,
      });
      return { outcome: 'exception', refund: refundView(refund), exceptionId: r.exceptionId };
    };

    if (result.state === 'pending') {
      if (refund.status !== 'requested') return { outcome: refund.status === 'pending' ? 'pending' : 'duplicate', refund: refundView(refund) };
      const updated = { ...refund, status: 'pending' as const, channel_refund_id: result.refundId, updated_at: now };
      await k.updateTable('refunds').set({ status: 'pending', channel_refund_id: result.refundId, updated_at: now }).where('id', '=', refund.id).execute();
      return { outcome: 'pending', refund: refundView(updated) };
    }

    if (result.state === 'failed') {
      if (refund.status === 'failed') return { outcome: 'duplicate', refund: refundView(refund) };
      if (!open) return exception(`The channel says refund ${refund.id} failed (${result.reason}); it is recorded as ${refund.status}`);
      const updated = { ...refund, status: 'failed' as const, failure_reason: result.reason, updated_at: now };
      await k.updateTable('refunds').set({ status: 'failed', failure_reason: result.reason, updated_at: now }).where('id', '=', refund.id).execute();
      return { outcome: 'applied', refund: refundView(updated) };
    }

    // succeeded
    if (refund.status === 'succeeded') return { outcome: 'duplicate', refund: refundView(refund) };
    if (!open) return exception(`The channel says refund ${refund.id} succeeded; it is recorded as ${refund.status}`);
    if (result.refundFen !== BigInt(refund.amount_minor)) {
      return exception(`The channel refunded ${result.refundFen} fen for refund ${refund.id} of ${refund.amount_minor} fen`);
    }
    const invoice = await k.selectFrom('invoices').selectAll().where('id', '=', refund.invoice_id).executeTakeFirstOrThrow();
    const payment = await k.selectFrom('payments').select('amount_minor').where('id', '=', refund.payment_id).executeTakeFirstOrThrow();
    const paid = BigInt(payment.amount_minor);
    const before = await refundedTotal(tx, invoice.id, ['succeeded']);
    const succeededAt = (result.succeededAt && !Number.isNaN(Date.parse(result.succeededAt)) ? new Date(result.succeededAt).toISOString() : null) ?? now;
    const ledgerTxId = await postRefundSucceeded(tx, {
      refundId: refund.id,
      invoice,
      channel: refund.channel,
      paidMinor: paid,
      refundedBeforeMinor: before,
      refundMinor: BigInt(refund.amount_minor),
      effectiveAt: succeededAt,
      postedBy: refund.requested_by,
    });
    const updated: RefundsTable = {
      ...refund,
      status: 'succeeded',
      channel_refund_id: result.refundId,
      ledger_tx_id: ledgerTxId,
      succeeded_at: succeededAt,
      updated_at: now,
    };
    await k
      .updateTable('refunds')
      .set({ status: 'succeeded', channel_refund_id: result.refundId, ledger_tx_id: ledgerTxId, succeeded_at: succeededAt, updated_at: now })
      .where('id', '=', refund.id)
      .execute();
    if (before + BigInt(refund.amount_minor) === paid) {
      await k.updateTable('invoices').set({ status: 'refunded', refunded_at: succeededAt, updated_at: now }).where('id', '=', invoice.id).execute();
      const scope = { merchantId: invoice.merchant_id, environment: invoice.environment };
      await recordEvent(tx, { type: 'invoice.refunded', ...scope, data: await loadInvoiceView(tx, scope, invoice.id) });
    }
    return { outcome: 'applied', refund: refundView(updated) };
  });
}

/** A verified refund notification, applied to the refund its out-refund number names (once). */
export async function applyRefundNotification(
  ctx: CoreContext,
  n: Extract<VerifiedNotification, { kind: 'refund' }>,
  options: NotificationOptions = {},
): Promise<NotificationResult> {
  return inTransaction(ctx, async (tx) => {
    const refund = await tx.db.kysely
      .selectFrom('refunds')
      .select(['id', 'invoice_id', 'payment_id', 'channel', 'merchant_id', 'environment'])
      .where('out_refund_no', '=', n.outRefundNo)
      .executeTakeFirst();
    if (!refund || refund.channel !== n.channel || (options.environment && refund.environment !== options.environment)) {
      const r = await recordPaymentException(tx, {
        channel: n.channel,
        transactionId: n.refundId,
        outTradeNo: n.outTradeNo,
        kind: 'unknown_refund',
        amountMinor: n.refundFen,
        detail: `No ${n.channel} refund ${n.outRefundNo}`,
        payload: n,
      });
      return { outcome: 'exception', exceptionId: r.exceptionId, exceptionKind: 'unknown_refund', alreadyRecorded: r.alreadyRecorded };
    }
    // Alipay's notification carries the trade's running refunded total: this refund's amount is
    // that total less the payment's other refunds that already succeeded.
    let refundFen = n.refundFen;
    if (n.refundFenIsTradeTotal) {
      const others = await tx.db.kysely
        .selectFrom('refunds')
        .select('amount_minor')
        .where('payment_id', '=', refund.payment_id)
        .where('status', '=', 'succeeded')
        .where('id', '!=', refund.id)
        .execute();
      refundFen -= others.reduce((sum, r) => sum + BigInt(r.amount_minor), 0n);
    }
    const result: ChannelRefundResult =
      n.state === 'succeeded' ? { state: 'succeeded', refundId: n.refundId, refundFen } : { state: 'failed', reason: `${n.channel} refund status ${n.channelStatus}` };
    const applied = await applyRefundResult(tx, refund.id, result, { payload: n, transactionId: n.refundId });
    const base = { refundId: refund.id, invoiceId: refund.invoice_id };
    if (applied.outcome === 'exception') return { ...base, outcome: 'exception', exceptionId: applied.exceptionId, exceptionKind: 'refund_mismatch' };
    if (applied.outcome === 'duplicate') return { ...base, outcome: 'duplicate' };
    return { ...base, outcome: 'applied' };
  });
}
