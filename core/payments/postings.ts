import type { CoreContext, Environment } from '../context/index.js';
import type { InvoicesTable } from '../invoices/tables.js';
import { type PostingEntry, postLedgerTransaction } from '../ledger/index.js';
import type { ChannelName } from './channels/types.js';
import { COLLECTION_CURRENCY } from './shared.js';

/**
 * The collection's ledger postings (core/ledger/README.md, rows "payment captured" and "refund").
 * Both run inside the caller's transaction, with the state change they record.
 */

/** `payment:<id>:captured` — Dr channel_clearing (CNY) · Cr receivable (CNY): the claim is now money at the channel. */
export async function postPaymentCaptured(
  ctx: CoreContext,
  p: { paymentId: string; invoiceNumber: string; merchantId: string; environment: Environment; channel: ChannelName; amountMinor: bigint; effectiveAt: string },
): Promise<string> {
  const base = { environment: p.environment, currency: COLLECTION_CURRENCY };
  const { transaction } = await postLedgerTransaction(ctx, {
    idempotencyKey: `payment:${p.paymentId}:captured`,
    kind: 'payment.captured',
    cause: { type: 'payment', id: p.paymentId },
    environment: p.environment,
    merchantId: p.merchantId,
    description: `Invoice ${p.invoiceNumber} paid through ${p.channel}`,
    effectiveAt: p.effectiveAt,
    entries: [
      { account: { ...base, type: 'channel_clearing', channel: p.channel }, side: 'debit', amountMinor: p.amountMinor },
      { account: { ...base, type: 'receivable', merchantId: p.merchantId }, side: 'credit', amountMinor: p.amountMinor },
    ],
  });
  return transaction.id;
}

/** round_half_up(total × part / whole) for non-negative integers. */
function share(total: bigint, part: bigint, whole: bigint): bigint {
  return (2n * total * part + whole) / (2n * whole);
}

export interface RefundShares {
  /** The CNY going back to the customer. */
  refundMinor: bigint;
  /** The part of the invoice's gross (settlement currency) the refund takes back: net + fee. */
  grossMinor: bigint;
  netMinor: bigint;
  feeMinor: bigint;
}

/**
 * What a refund takes back, in the settlement currency, in proportion to the CNY refunded. Shares
 * are computed on the running total (refunded before → refunded after) and differenced, so the
 * refunds of an invoice add up to exactly its net and fee once it is fully refunded, whatever the
 * rounding of each. Settling in CNY, gross is the CNY itself and net is what the fee leaves.
 */
export function refundShares(
  inv: Pick<InvoicesTable, 'settlement_currency' | 'net_settlement_minor' | 'platform_fee_minor'>,
  paidMinor: bigint,
  refundedBeforeMinor: bigint,
  refundMinor: bigint,
): RefundShares {
  const after = refundedBeforeMinor + refundMinor;
  const fee = BigInt(inv.platform_fee_minor);
  const feeMinor = share(fee, after, paidMinor) - share(fee, refundedBeforeMinor, paidMinor);
  if (inv.settlement_currency === COLLECTION_CURRENCY) {
    return { refundMinor, grossMinor: refundMinor, netMinor: refundMinor - feeMinor, feeMinor };
  }
  const net = BigInt(inv.net_settlement_minor);
  const netMinor = share(net, after, paidMinor) - share(net, refundedBeforeMinor, paidMinor);
  return { refundMinor, grossMinor: netMinor + feeMinor, netMinor, feeMinor };
}

/**
 * `refund:<id>:succeeded` — the proportional reversal of the finalization, paid out of clearing:
 * Cr channel_clearing (CNY, refund) · Dr fx_position (CNY, refund) · Cr fx_position (settlement
 * ccy, gross share) · Dr merchant_payable (net share) · Dr platform_fee_revenue (fee share).
 * Settling in CNY the fx_position legs cancel and are left out; zero legs are left out.
 */
export async function postRefundSucceeded(
  ctx: CoreContext,
  p: {
    refundId: string;
    invoice: Pick<InvoicesTable, 'id' | 'invoice_number' | 'merchant_id' | 'environment' | 'settlement_currency' | 'net_settlement_minor' | 'platform_fee_minor'>;
    channel: ChannelName;
    paidMinor: bigint;
    refundedBeforeMinor: bigint;
    refundMinor: bigint;
    effectiveAt: string;
    postedBy: string | null;
  },
): Promise<string> {
  const s = refundShares(p.invoice, p.paidMinor, p.refundedBeforeMinor, p.refundMinor);
  const env = p.invoice.environment;
  const merchantId = p.invoice.merchant_id;
  const settlement = p.invoice.settlement_currency;
  const entries: PostingEntry[] = [];
  const add = (e: PostingEntry) => {
    if (BigInt(e.amountMinor) > 0n) entries.push(e);
  };
  add({ account: { type: 'channel_clearing', environment: env, currency: COLLECTION_CURRENCY, channel: p.channel }, side: 'credit', amountMinor: s.refundMinor });
  if (settlement !== COLLECTION_CURRENCY) {
    add({ account: { type: 'fx_position', environment: env, currency: COLLECTION_CURRENCY }, side: 'debit', amountMinor: s.refundMinor });
    add({ account: { type: 'fx_position', environment: env, currency: settlement }, side: 'credit', amountMinor: s.grossMinor });
  }
  add({ account: { type: 'merchant_payable', environment: env, currency: settlement, merchantId }, side: 'debit', amountMinor: s.netMinor });
  add({ account: { type: 'platform_fee_revenue', environment: env, currency: settlement }, side: 'debit', amountMinor: s.feeMinor });
  const { transaction } = await postLedgerTransaction(ctx, {
    idempotencyKey: `refund:${p.refundId}:succeeded`,
    kind: 'refund.succeeded',
    cause: { type: 'refund', id: p.refundId },
    environment: env,
    merchantId,
    description: `Refund of ${s.refundMinor} CNY minor on invoice ${p.invoice.invoice_number} through ${p.channel}`,
    effectiveAt: p.effectiveAt,
    postedBy: p.postedBy,
    entries,
  });
  return transaction.id;
}
