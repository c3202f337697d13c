import type { CoreContext } from '../context/index.js';
import { MINUTE } from '../context/index.js';
import { isDomainError } from '../errors/index.js';
import { ChannelError, type ChannelName } from './channels/types.js';
import { endStaleOrder } from './orders.js';
import { type RefundNotifyUrl, applyRefundResult, retryRefund } from './refunds.js';
import { type ChannelRegistry, PAYABLE_INVOICE_STATUSES } from './shared.js';
import type { PaymentOrdersTable } from './tables.js';

/** How long after an order's expiry its notification may still be on the way. */
export const DEFAULT_RECONCILE_GRACE_MS = 5 * MINUTE;
/** A `creating` order or a `requested` refund older than this was left by a crash or a failed call. */
export const STUCK_AFTER_MS = MINUTE;

export interface ReconcileDifference {
  subject: 'order' | 'refund';
  id: string;
  invoiceId: string;
  channel: ChannelName;
  /** The out-trade number (orders) or out-refund number (refunds). */
  outNo: string;
  /** Why it was looked at. */
  found: 'expired_open' | 'stuck_creating' | 'superseded_open' | 'refund_pending' | 'refund_requested';
  /** What the channel said. */
  channelState: string;
  /** What was done about it. */
  did: string;
  exceptionId?: string;
}

export interface ReconcileReport {
  at: string;
  checked: number;
  differences: ReconcileDifference[];
  errors: Array<{ subject: 'order' | 'refund'; id: string; code: string; message: string }>;
}

export interface ReconcileOptions {
  now?: Date;
  graceMs?: number;
  /** Where the channel sends refund notifications, for refunds asked again. */
  refundNotifyUrl?: RefundNotifyUrl;
  /** At most this many rows of each kind per run (the next run takes the rest). */
  limit?: number;
}

/**
 * The reconciliation job (the server's scheduler, and `payments:reconcile` on demand): asks the
 * channel about everything still waiting on it and settles what it learns, through the same
 * functions as the callbacks.
 *  - `open` orders past expiry + grace: paid there → applied as a payment; otherwise closed there
 *    and `expired` here.
 *  - `creating` orders older than a minute (a crash or failed call mid-checkout): paid → applied;
 *    otherwise closed there if open and `failed` here (the next checkout starts a new order).
 *  - `open` orders of invoices no longer payable (paid through the other channel, voided): paid →
 *    applied (which keeps it as an exception); otherwise closed there and `closed` here.
 *  - `pending` refunds: `queryRefund`, applied; `requested` refunds older than a minute: asked
 *    again with the same out-refund number.
 * Every row that needed action is a difference in the report; a channel failure on one row is
 * reported and the run goes on.
 */
export async function reconcilePayments(ctx: CoreContext, channels: ChannelRegistry, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const now = options.now ?? ctx.clock.now();
  const limit = options.limit ?? 500;
  const graceMs = options.graceMs ?? DEFAULT_RECONCILE_GRACE_MS;
  const k = ctx.db.kysely;
  const report: ReconcileReport = { at: now.toISOString(), checked: 0, differences: [], errors: [] };
  const failed = (subject: 'order' | 'refund', id: string, e: unknown) => {
    if (e instanceof ChannelError) report.errors.push({ subject, id, code: 'channel_unavailable', message: `${e.channel} ${e.channelCode}: ${e.message}` });
    else if (isDomainError(e)) report.errors.push({ subject, id, code: e.code, message: e.message });
    else throw e;
  };

  const expired = await k
    .selectFrom('payment_orders')
    .selectAll()
    .where('status', '=', 'open')
    .where('expires_at', '<', new Date(now.getTime() - graceMs).toISOString())
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  const stuck = await k
    .selectFrom('payment_orders')
    .selectAll()
    .where('status', '=', 'creating')
    .where('created_at', '<', new Date(now.getTime() - STUCK_AFTER_MS).toISOString())
    .orderBy('created_at')
    .limit(limit)
    .execute();
  const superseded = await k
    .selectFrom('payment_orders')
    .innerJoin('invoices', 'invoices.id', 'payment_orders.invoice_id')
    .selectAll('payment_orders')
    .where('payment_orders.status', '=', 'open')
    .where('invoices.status', 'not in', [...PAYABLE_INVOICE_STATUSES])
    .orderBy('payment_orders.id')
    .limit(limit)
    .execute();

  const seen = new Set<string>();
  const settle = async (order: PaymentOrdersTable, found: ReconcileDifference['found'], finalStatus: 'expired' | 'failed' | 'closed') => {
    if (seen.has(order.id)) return;
    seen.add(order.id);
    report.checked++;
    try {
      const r = await endStaleOrder(ctx, channels, order, finalStatus);
      report.differences.push({
        subject: 'order',
        id: order.id,
        invoiceId: order.invoice_id,
        channel: order.channel,
        outNo: order.out_trade_no,
        found,
        channelState: r.channelState,
        did: r.did,
        ...(r.result?.exceptionId ? { exceptionId: r.result.exceptionId } : {}),
      });
    } catch (e) {
      failed('order', order.id, e);
    }
  };
  for (const o of superseded) await settle(o, 'superseded_open', 'closed');
  for (const o of expired) await settle(o, 'expired_open', 'expired');
  for (const o of stuck) await settle(o, 'stuck_creating', 'failed');

  const refunds = await k
    .selectFrom('refunds')
    .innerJoin('payments', 'payments.id', 'refunds.payment_id')
    .innerJoin('payment_orders', 'payment_orders.id', 'payments.order_id')
    .selectAll('refunds')
    .select('payment_orders.out_trade_no')
    .where((eb) =>
      eb.or([
        eb('refunds.status', '=', 'pending'),
        eb.and([eb('refunds.status', '=', 'requested'), eb('refunds.updated_at', '<', new Date(now.getTime() - STUCK_AFTER_MS).toISOString())]),
      ]),
    )
    .orderBy('refunds.id')
    .limit(limit)
    .execute();
  for (const rf of refunds) {
    report.checked++;
    const base = { subject: 'refund' as const, id: rf.id, invoiceId: rf.invoice_id, channel: rf.channel, outNo: rf.out_refund_no };
    try {
      if (rf.status === 'requested') {
        if (!options.refundNotifyUrl) {
          report.differences.push({ ...base, found: 'refund_requested', channelState: 'not_asked', did: 'nothing (no refund notify URL given)' });
          continue;
        }
        const after = await retryRefund(ctx, channels, rf.id, { notifyUrl: options.refundNotifyUrl });
        report.differences.push({ ...base, found: 'refund_requested', channelState: after.status, did: `asked again: ${after.status}` });
        continue;
      }
      const state = await channels(rf.channel, rf.environment).queryRefund(rf.out_trade_no, rf.out_refund_no);
      if (state.state === 'pending') continue; // still in the channel's hands: not a difference
      if (state.state === 'not_found') {
        report.differences.push({ ...base, found: 'refund_pending', channelState: 'not_found', did: 'nothing (the channel does not know it)' });
        continue;
      }
      const applied = await applyRefundResult(ctx, rf.id, state, { payload: { source: 'queryRefund', ...state } });
      report.differences.push({
        ...base,
        found: 'refund_pending',
        channelState: state.state,
        did: applied.outcome === 'applied' ? `refund ${applied.refund.status}` : applied.outcome,
        ...(applied.exceptionId ? { exceptionId: applied.exceptionId } : {}),
      });
    } catch (e) {
      failed('refund', rf.id, e);
    }
  }
  return report;
}
