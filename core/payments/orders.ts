import { z } from 'zod';
import type { CoreContext, Environment } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { type Page, type PageRequest, decodeCursor, toPage } from '../pagination/index.js';
import { type NotificationResult, applyChannelNotification } from './notifications.js';
import { CHANNEL_NAMES, type ChannelRegistry } from './shared.js';
import type { PaymentOrderStatus, PaymentOrdersTable, PaymentsTable } from './tables.js';

/** A payment as staff see it beside its order (one mapping: paymentView). */
export const PaymentSchema = z.object({
  id: z.string(),
  transactionId: z.string(),
  amountMinor: z.string(),
  paidAt: z.string(),
  ledgerTxId: z.string().nullable(),
});
export type PaymentView = z.infer<typeof PaymentSchema>;

export function paymentView(p: PaymentsTable): PaymentView {
  return { id: p.id, transactionId: p.transaction_id, amountMinor: p.amount_minor, paidAt: p.paid_at, ledgerTxId: p.ledger_tx_id };
}

export const PAYMENT_ORDER_STATUSES = ['creating', 'open', 'paid', 'closed', 'expired', 'failed'] as const satisfies readonly PaymentOrderStatus[];

/**
 * A payment order as staff see it: the attempt, its invoice's number and status, and the payment
 * it took, if any (one mapping: paymentOrderView). The merchant API shows orders as CheckoutView.
 */
export const PaymentOrderSchema = z.object({
  id: z.string(),
  merchantId: z.string(),
  environment: z.enum(['sandbox', 'live']),
  invoiceId: z.string(),
  invoiceNumber: z.string(),
  invoiceStatus: z.string(),
  channel: z.enum(CHANNEL_NAMES),
  outTradeNo: z.string(),
  amountMinor: z.string(),
  currency: z.string(),
  status: z.enum(PAYMENT_ORDER_STATUSES),
  expiresAt: z.string(),
  createdAt: z.string(),
  payment: PaymentSchema.nullable(),
});
export type PaymentOrderView = z.infer<typeof PaymentOrderSchema>;

export function paymentOrderView(o: PaymentOrdersTable, invoice: { invoice_number: string; invoice_status: string }, payment: PaymentsTable | null): PaymentOrderView {
  return {
    id: o.id,
    merchantId: o.merchant_id,
    environment: o.environment,
    invoiceId: o.invoice_id,
    invoiceNumber: invoice.invoice_number,
    invoiceStatus: invoice.invoice_status,
    channel: o.channel,
    outTradeNo: o.out_trade_no,
    amountMinor: o.amount_minor,
    currency: o.currency,
    status: o.status,
    expiresAt: o.expires_at,
    createdAt: o.created_at,
    payment: payment ? paymentView(payment) : null,
  };
}

/** Payment orders with their payments, newest first, cursor-paginated. */
export async function listPaymentOrders(
  ctx: CoreContext,
  query: PageRequest & { merchantId?: string; invoiceId?: string; status?: PaymentOrderStatus; environment?: Environment },
): Promise<Page<PaymentOrderView>> {
  const k = ctx.db.kysely;
  const after = decodeCursor(query.cursor, 'po');
  const q = k
    .selectFrom('payment_orders as o')
    .innerJoin('invoices as i', 'i.id', 'o.invoice_id')
    .selectAll('o')
    .select(['i.invoice_number', 'i.status as invoice_status'])
    .$if(after !== undefined, (w) => w.where('o.id', '<', after!))
    .$if(!!query.merchantId, (w) => w.where('o.merchant_id', '=', query.merchantId!))
    .$if(!!query.invoiceId, (w) => w.where('o.invoice_id', '=', query.invoiceId!))
    .$if(!!query.status, (w) => w.where('o.status', '=', query.status!))
    .$if(!!query.environment, (w) => w.where('o.environment', '=', query.environment!))
    .orderBy('o.id', 'desc')
    .limit(query.limit + 1);
  const page = toPage(await q.execute(), query.limit, (r) => r);
  const ids = page.data.map((o) => o.id);
  const payments = ids.length ? await k.selectFrom('payments').selectAll().where('order_id', 'in', ids).execute() : [];
  const byOrder = new Map(payments.map((p) => [p.order_id, p]));
  return { data: page.data.map((o) => paymentOrderView(o, o, byOrder.get(o.id) ?? null)), nextCursor: page.nextCursor };
}

/** Moves a live order (creating/open) to a final status; false when something else moved it first. */
export async function markOrder(ctx: CoreContext, orderId: string, status: Extract<PaymentOrderStatus, 'expired' | 'failed' | 'closed'>): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const r = await tx.db.kysely
      .updateTable('payment_orders')
      .set({ status, updated_at: tx.clock.now().toISOString() })
      .where('id', '=', orderId)
      .where('status', 'in', ['creating', 'open'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  });
}

export interface StaleOrderOutcome {
  /** What the channel's query said. */
  channelState: 'open' | 'paid' | 'closed' | 'refunded' | 'not_found';
  /** What was done: the payment applied (or kept as an exception), or the order ended with this status. */
  did: 'payment_applied' | 'payment_duplicate' | 'payment_exception' | PaymentOrderStatus | 'nothing';
  result?: NotificationResult;
}

/**
 * Ends an order that should not stay live (expired, abandoned while `creating`, or superseded),
 * asking the channel first: one paid there is applied exactly as its notification would be (the
 * query is as authoritative); one still open is closed there before it is ended here, so nothing
 * can be paid on an order we no longer wait for. Network calls run outside any transaction; each
 * write is its own. If the close fails, the order stays live and the next attempt asks again.
 */
export async function endStaleOrder(
  ctx: CoreContext,
  channels: ChannelRegistry,
  order: PaymentOrdersTable,
  finalStatus: Extract<PaymentOrderStatus, 'expired' | 'failed' | 'closed'>,
): Promise<StaleOrderOutcome> {
  const channel = channels(order.channel, order.environment);
  const state = await channel.queryOrder(order.out_trade_no);
  if (state.state === 'paid') {
    const result = await applyChannelNotification(ctx, {
      kind: 'payment',
      channel: order.channel,
      outTradeNo: order.out_trade_no,
      transactionId: state.transactionId,
      amountFen: state.amountFen,
      paid: true,
      tradeState: 'QUERY_PAID',
      paidAt: state.paidAt,
    });
    if (result.outcome === 'exception') {
      // Paid there but not applicable here: the exception keeps the money for finance, and the
      // order is no longer one we wait on (asking again would only find the same exception).
      await markOrder(ctx, order.id, finalStatus);
      return { channelState: 'paid', did: 'payment_exception', result };
    }
    return { channelState: 'paid', did: result.outcome === 'applied' ? 'payment_applied' : 'payment_duplicate', result };
  }
  if (state.state === 'open') await channel.closeOrder(order.out_trade_no);
  // closed / not_found: nothing to close there. refunded (paid and refunded at the channel without
  // us): nothing of it is in our books; ended here, and the report shows it for finance.
  const moved = await markOrder(ctx, order.id, finalStatus);
  return { channelState: state.state, did: moved ? finalStatus : 'nothing' };
}
