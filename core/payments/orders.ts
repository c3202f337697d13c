import type { CoreContext } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { type NotificationResult, applyChannelNotification } from './notifications.js';
import type { ChannelRegistry } from './shared.js';
import type { PaymentOrderStatus, PaymentOrdersTable } from './tables.js';

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
