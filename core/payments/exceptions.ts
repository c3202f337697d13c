import { z } from 'zod';
import type { CoreContext, Environment } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { conflict, invalidInput, notFound } from '../errors/index.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import type { ChannelName } from './channels/types.js';
import { CHANNEL_NAMES, jsonWithBigints } from './shared.js';
import type { PaymentExceptionKind, PaymentExceptionsTable } from './tables.js';

/**
 * Payment exceptions: verified notifications (or channel query answers) that could not be applied
 * — money that moved at the channel without a place in our books. Never dropped: each is kept
 * here for finance, once per (channel, transaction id, kind), and the channel is told it was
 * taken so it stops retrying.
 */

const EXCEPTION_KINDS = [
  'amount_mismatch',
  'unknown_order',
  'order_closed',
  'invoice_not_payable',
  'duplicate_payment',
  'unknown_refund',
  'refund_mismatch',
] as const satisfies readonly PaymentExceptionKind[];

/** A payment exception as finance's queue shows it (one mapping: paymentExceptionView). */
export const PaymentExceptionSchema = z.object({
  id: z.string(),
  channel: z.enum(CHANNEL_NAMES),
  transactionId: z.string(),
  outTradeNo: z.string(),
  kind: z.enum(EXCEPTION_KINDS),
  orderId: z.string().nullable(),
  invoiceId: z.string().nullable(),
  merchantId: z.string().nullable(),
  environment: z.enum(['sandbox', 'live']).nullable(),
  amountMinor: z.string(),
  detail: z.string(),
  payload: z.unknown(),
  status: z.enum(['open', 'resolved']),
  resolution: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type PaymentExceptionView = z.infer<typeof PaymentExceptionSchema>;

export function paymentExceptionView(r: PaymentExceptionsTable): PaymentExceptionView {
  return {
    id: r.id,
    channel: r.channel,
    transactionId: r.transaction_id,
    outTradeNo: r.out_trade_no,
    kind: r.kind,
    orderId: r.order_id,
    invoiceId: r.invoice_id,
    merchantId: r.merchant_id,
    environment: r.environment,
    amountMinor: r.amount_minor,
    detail: r.detail,
    payload: JSON.parse(r.payload),
    status: r.status,
    resolution: r.resolution,
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at,
    createdAt: r.created_at,
  };
}

export interface ExceptionRecord {
  channel: ChannelName;
  transactionId: string;
  outTradeNo: string;
  kind: PaymentExceptionKind;
  amountMinor: bigint;
  detail: string;
  payload: unknown;
  orderId?: string | null;
  invoiceId?: string | null;
  merchantId?: string | null;
  environment?: Environment | null;
}

/**
 * Records an exception inside the caller's transaction, at most once per (channel, transaction
 * id, kind): a redelivered notification finds the one already kept (`alreadyRecorded`).
 */
export async function recordPaymentException(ctx: CoreContext, e: ExceptionRecord): Promise<{ exceptionId: string; alreadyRecorded: boolean }> {
  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const find = () =>
      k.selectFrom('payment_exceptions').select('id').where('channel', '=', e.channel).where('transaction_id', '=', e.transactionId).where('kind', '=', e.kind).executeTakeFirst();
    const prior = await find();
    if (prior) return { exceptionId: prior.id, alreadyRecorded: true };
    const id = tx.ids.next('pex');
    await k
      .insertInto('payment_exceptions')
      .values({
        id,
        channel: e.channel,
        transaction_id: e.transactionId,
        out_trade_no: e.outTradeNo,
        kind: e.kind,
        order_id: e.orderId ?? null,
        invoice_id: e.invoiceId ?? null,
        merchant_id: e.merchantId ?? null,
        environment: e.environment ?? null,
        amount_minor: e.amountMinor.toString(),
        payload: jsonWithBigints(e.payload),
        detail: e.detail,
        status: 'open',
        resolution: null,
        resolved_by: null,
        resolved_at: null,
        created_at: tx.clock.now().toISOString(),
      })
      .onConflict((oc) => oc.columns(['channel', 'transaction_id', 'kind']).doNothing())
      .execute();
    const row = await find();
    return { exceptionId: row!.id, alreadyRecorded: row!.id !== id };
  });
}

/** Oldest first within a status (what finance works through), cursor-paginated. */
export async function listPaymentExceptions(
  ctx: CoreContext,
  query: PageRequest & { status?: 'open' | 'resolved'; merchantId?: string; environment?: Environment },
): Promise<Page<PaymentExceptionView>> {
  let q = ctx.db.kysely
    .selectFrom('payment_exceptions')
    .selectAll()
    .orderBy('id', 'asc')
    .limit(query.limit + 1);
  const after = decodeCursor(query.cursor, 'pex');
  if (after) q = q.where('id', '>', after);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.merchantId) q = q.where('merchant_id', '=', query.merchantId);
  if (query.environment) q = q.where('environment', '=', query.environment);
  return toPage(await q.execute(), query.limit, paymentExceptionView);
}

export async function loadPaymentException(ctx: CoreContext, id: string): Promise<PaymentExceptionView> {
  const row = await ctx.db.kysely.selectFrom('payment_exceptions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('payment_exception_not_found', `No payment exception ${id}`);
  return paymentExceptionView(row);
}

/**
 * Closes an exception with what finance did about it (refunded at the channel, applied by hand,
 * …). Once: resolving a resolved exception is 409. The back-office command that calls it writes
 * the audit entry (core/backoffice registry), in this same transaction.
 */
export async function resolvePaymentException(ctx: CoreContext, id: string, input: { resolution: string; actor: string | null }): Promise<PaymentExceptionView> {
  const resolution = input.resolution.trim();
  if (!resolution) throw invalidInput('resolution_required', 'Say how the exception was resolved');
  return inTransaction(ctx, async (tx) => {
    const row = await tx.db.kysely.selectFrom('payment_exceptions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('payment_exception_not_found', `No payment exception ${id}`);
    if (row.status !== 'open') {
      throw conflict('payment_exception_already_resolved', `Payment exception ${id} was already resolved by ${row.resolved_by ?? 'someone'} at ${row.resolved_at}`, {
        resolvedAt: row.resolved_at,
      });
    }
    const now = tx.clock.now().toISOString();
    await tx.db.kysely
      .updateTable('payment_exceptions')
      .set({ status: 'resolved', resolution, resolved_by: input.actor, resolved_at: now })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .execute();
    return paymentExceptionView({ ...row, status: 'resolved', resolution, resolved_by: input.actor, resolved_at: now });
  });
}
