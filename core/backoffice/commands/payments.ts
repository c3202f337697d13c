import { z } from 'zod';
import type { CoreContext } from '../../context/index.js';
import { DomainError, conflict, notFound } from '../../errors/index.js';
import { decodeCursor, toPage } from '../../pagination/index.js';
import {
  PAYMENT_ORDER_STATUSES,
  PaymentExceptionSchema,
  PaymentOrderSchema,
  RefundSchema,
  createRefund,
  listPaymentExceptions,
  listPaymentOrders,
  loadRefund,
  paymentChannelsFor,
  reconcilePayments,
  refundNotifyUrlFor,
  refundView,
  resolvePaymentException,
  retryRefund,
  sandboxPayerFor,
} from '../../payments/index.js';
import { defineCommand } from '../registry.js';
import { Limit, MerchantRef, ReviewerText } from './shared.js';

/**
 * Payments in the back office: payment orders and payments, finance's exception queue, refunds,
 * reconciliation on demand, and paying a sandbox order as a payer would.
 *
 * Roles, from the existing model (admin, finance, support):
 *  - reads (`payments:list`, `payments:exceptions`, `refunds:list`): admin, finance, support —
 *    support answers merchants' "did my customer pay?" questions, as with invoices.
 *  - `refunds:create`: admin, finance, **step-up** — it sends money back out of the channel, like
 *    voiding an invoice or entering an FX rate; a stolen session alone must not refund.
 *  - `refunds:retry`: admin, finance, no step-up — it re-sends a refund already approved with a
 *    code, under its own out-refund number, so the channel refunds at most once; no new money.
 *  - `payments:resolve-exception`: admin, finance — it records what finance did (at the channel or
 *    by hand); it moves no money itself, so no step-up; audited like every mutation.
 *  - `payments:reconcile`: admin, finance — the scheduler's job on demand.
 *  - `sandbox:pay`: admin, finance, no step-up — sandbox money is not real and only a sandbox order
 *    is accepted, but it still changes records, and support never changes anything.
 *
 * Channel calls never sit inside a database transaction (core/payments/README.md), so the
 * commands that talk to a channel run with `ownTransactions`: the core functions commit before
 * and after each call, and the audit entry is written after.
 */

const Environment = z.enum(['sandbox', 'live']);
const Channel = z.enum(['wechat', 'alipay']);
const InvoiceRef = z
  .string()
  .trim()
  .regex(/^inv_[0-9a-z]+$/, 'must be an invoice id (inv_…)');
const Cursor = z.string().trim().max(256).optional().meta({ description: 'nextCursor of the previous page' });
/** A positive amount of CNY fen as digits (never a JS number: no rounding on the way). */
const MinorAmount = z
  .string()
  .trim()
  .regex(/^[1-9]\d{0,17}$/, 'must be a positive whole number of fen, e.g. 1500 for 15.00 CNY');

export const paymentsList = defineCommand({
  name: 'payments:list',
  summary: 'Payment orders and their payments, newest first (filters: --merchant, --invoice, --status, --environment; --cursor for the next page)',
  input: z.object({
    merchant: MerchantRef.optional(),
    invoice: InvoiceRef.optional(),
    status: z.enum(PAYMENT_ORDER_STATUSES).optional().meta({ description: 'The payment order status' }),
    environment: Environment.optional(),
    limit: Limit,
    cursor: Cursor,
  }),
  output: z.object({ items: z.array(PaymentOrderSchema), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const page = await listPaymentOrders(ctx, {
      limit: input.limit,
      cursor: input.cursor,
      merchantId: input.merchant,
      invoiceId: input.invoice,
      status: input.status,
      environment: input.environment,
    });
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const paymentsExceptions = defineCommand({
  name: 'payments:exceptions',
  summary: 'Payment exceptions (money at the channel that no invoice took), oldest first (--status open|resolved, --merchant, --environment)',
  input: z.object({
    status: z.enum(['open', 'resolved']).optional(),
    merchant: MerchantRef.optional(),
    environment: Environment.optional(),
    limit: Limit,
    cursor: Cursor,
  }),
  output: z.object({ items: z.array(PaymentExceptionSchema), nextCursor: z.string().nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    const page = await listPaymentExceptions(ctx, { limit: input.limit, cursor: input.cursor, status: input.status, merchantId: input.merchant, environment: input.environment });
    return { items: page.data, nextCursor: page.nextCursor };
  },
});

export const paymentsResolveException = defineCommand({
  name: 'payments:resolve-exception',
  summary: 'Close a payment exception with what was done about it: payments:resolve-exception --exception ID --resolution TEXT (once)',
  input: z.object({
    exception: z
      .string()
      .trim()
      .regex(/^pex_[0-9a-z]+$/, 'must be a payment exception id (pex_…)')
      .meta({ description: 'Payment exception id (pex_…)' }),
    resolution: ReviewerText('The resolution').meta({ description: 'What was done, e.g. "refunded at the channel, ref 5030…"' }),
  }),
  output: PaymentExceptionSchema,
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  positional: ['exception'],
  async handler(ctx, input) {
    const resolved = await resolvePaymentException(ctx, input.exception, { resolution: input.resolution, actor: ctx.staff.id });
    ctx.touch(resolved.id, ...(resolved.merchantId ? [resolved.merchantId] : []), ...(resolved.invoiceId ? [resolved.invoiceId] : []));
    return resolved;
  },
});

/**
 * What an invoice was paid and how much of it is refunded: the statement the refund dialog shows.
 * `inFlightMinor` is refunds asked for and not yet settled (they count against what is left).
 */
const RefundTotals = z.object({
  invoiceId: z.string(),
  invoiceNumber: z.string(),
  status: z.string(),
  currency: z.string(),
  paidMinor: z.string(),
  refundedMinor: z.string(),
  inFlightMinor: z.string(),
  refundableMinor: z.string(),
});

async function refundTotals(ctx: CoreContext, invoiceId: string): Promise<z.input<typeof RefundTotals>> {
  const k = ctx.db.kysely;
  const invoice = await k.selectFrom('invoices').select(['id', 'invoice_number', 'status', 'collection_currency']).where('id', '=', invoiceId).executeTakeFirst();
  if (!invoice) throw notFound('invoice_not_found', `No invoice ${invoiceId}`);
  // The refunds' payment: the invoice's first (core/payments/refunds.ts refunds against it).
  const payment = await k.selectFrom('payments').select('amount_minor').where('invoice_id', '=', invoiceId).orderBy('id').executeTakeFirst();
  const refunds = await k.selectFrom('refunds').select(['amount_minor', 'status']).where('invoice_id', '=', invoiceId).execute();
  const sum = (statuses: string[]) => refunds.filter((r) => statuses.includes(r.status)).reduce((s, r) => s + BigInt(r.amount_minor), 0n);
  const paid = payment ? BigInt(payment.amount_minor) : 0n;
  const refunded = sum(['succeeded']);
  const inFlight = sum(['requested', 'pending']);
  const refundable = invoice.status === 'paid' && paid > refunded + inFlight ? paid - refunded - inFlight : 0n;
  return {
    invoiceId: invoice.id,
    invoiceNumber: invoice.invoice_number,
    status: invoice.status,
    currency: invoice.collection_currency,
    paidMinor: paid.toString(),
    refundedMinor: refunded.toString(),
    inFlightMinor: inFlight.toString(),
    refundableMinor: refundable.toString(),
  };
}

const RefundRow = RefundSchema.extend({ merchantId: z.string(), environment: Environment, invoiceNumber: z.string() });

export const refundsList = defineCommand({
  name: 'refunds:list',
  summary: 'Refunds, newest first (filters: --invoice, --merchant, --status; --cursor); with --invoice also what it was paid and what is left to refund',
  input: z.object({
    invoice: InvoiceRef.optional(),
    merchant: MerchantRef.optional(),
    status: RefundSchema.shape.status.optional(),
    limit: Limit,
    cursor: Cursor,
  }),
  output: z.object({ items: z.array(RefundRow), nextCursor: z.string().nullable(), invoice: RefundTotals.nullable() }),
  roles: ['admin', 'finance', 'support'],
  stepUp: false,
  mutates: false,
  async handler(ctx, input) {
    let q = ctx.db.kysely
      .selectFrom('refunds as r')
      .innerJoin('invoices as i', 'i.id', 'r.invoice_id')
      .selectAll('r')
      .select('i.invoice_number')
      .orderBy('r.id', 'desc')
      .limit(input.limit + 1);
    const after = decodeCursor(input.cursor, 'rf');
    if (after) q = q.where('r.id', '<', after);
    if (input.invoice) q = q.where('r.invoice_id', '=', input.invoice);
    if (input.merchant) q = q.where('r.merchant_id', '=', input.merchant);
    if (input.status) q = q.where('r.status', '=', input.status);
    const page = toPage(await q.execute(), input.limit, (r) => ({ ...refundView(r), invoiceNumber: r.invoice_number, merchantId: r.merchant_id, environment: r.environment }));
    return { items: page.data, nextCursor: page.nextCursor, invoice: input.invoice ? await refundTotals(ctx, input.invoice) : null };
  },
});

function requireRefundNotifyUrl(ctx: CoreContext) {
  const url = refundNotifyUrlFor(ctx);
  if (!url)
    throw new DomainError('unavailable', 'refund_notify_url_not_configured', 'This process has no refund callback address; refund from the server (npm start) or the desktop app');
  return url;
}

export const refundsCreate = defineCommand({
  name: 'refunds:create',
  summary: 'Refund part or all of a paid invoice: refunds:create --invoice ID --amount MINOR --reason TEXT --otp CODE (never more than was paid in total)',
  input: z.object({
    invoice: InvoiceRef.meta({ description: 'The paid invoice (inv_…)' }),
    amount: MinorAmount.meta({ description: 'CNY fen to refund, digits only (1500 = 15.00 CNY)' }),
    reason: ReviewerText('The reason').meta({ description: 'Why (kept with the refund and sent to the channel)' }),
  }),
  output: z.object({ refund: RefundSchema, invoice: RefundTotals }),
  roles: ['admin', 'finance'],
  stepUp: true,
  mutates: true,
  ownTransactions: true,
  async handler(ctx, input) {
    const channels = paymentChannelsFor(ctx);
    const notifyUrl = requireRefundNotifyUrl(ctx);
    const refund = await createRefund(ctx, channels, { invoiceId: input.invoice, amountMinor: input.amount, reason: input.reason, actor: ctx.staff.id, notifyUrl });
    ctx.touch(refund.id, refund.invoiceId);
    return { refund, invoice: await refundTotals(ctx, refund.invoiceId) };
  },
});

export const refundsRetry = defineCommand({
  name: 'refunds:retry',
  summary: 'Ask the channel again about a refund still requested or pending (same out-refund number: the channel refunds once)',
  input: z.object({
    refund: z
      .string()
      .trim()
      .regex(/^rf_[0-9a-z]+$/, 'must be a refund id (rf_…)')
      .meta({ description: 'Refund id (rf_…)' }),
  }),
  output: z.object({ refund: RefundSchema, invoice: RefundTotals }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  ownTransactions: true,
  positional: ['refund'],
  async handler(ctx, input) {
    const before = await loadRefund(ctx, input.refund);
    if (before.status === 'succeeded' || before.status === 'failed') {
      throw conflict('refund_settled', `Refund ${before.id} is ${before.status}; only a requested or pending refund is asked again`);
    }
    const refund = await retryRefund(ctx, paymentChannelsFor(ctx), input.refund, { notifyUrl: requireRefundNotifyUrl(ctx) });
    ctx.touch(refund.id, refund.invoiceId);
    return { refund, invoice: await refundTotals(ctx, refund.invoiceId) };
  },
});

export const paymentsReconcile = defineCommand({
  name: 'payments:reconcile',
  summary: 'Reconcile now: ask the channels about expired, stuck and superseded orders and unsettled refunds; report the differences',
  input: z.object({}),
  output: z.object({
    at: z.string(),
    checked: z.number(),
    differences: z.array(
      z.object({
        subject: z.enum(['order', 'refund']),
        id: z.string(),
        invoiceId: z.string(),
        channel: Channel,
        outNo: z.string(),
        found: z.enum(['expired_open', 'stuck_creating', 'superseded_open', 'refund_pending', 'refund_requested']),
        channelState: z.string(),
        did: z.string(),
        exceptionId: z.string().optional(),
      }),
    ),
    errors: z.array(z.object({ subject: z.enum(['order', 'refund']), id: z.string(), code: z.string(), message: z.string() })),
  }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  ownTransactions: true,
  async handler(ctx) {
    const report = await reconcilePayments(ctx, paymentChannelsFor(ctx), { refundNotifyUrl: refundNotifyUrlFor(ctx) });
    ctx.touch(...report.differences.map((d) => d.id));
    return report;
  },
});

export const sandboxPay = defineCommand({
  name: 'sandbox:pay',
  summary: 'Pay an open sandbox payment order as a payer would (the sandbox channel then calls back, signed as the real one): sandbox:pay --order ID',
  input: z.object({
    order: z
      .string()
      .trim()
      .regex(/^po_[0-9a-z]+$/, 'must be a payment order id (po_…)')
      .meta({ description: 'Payment order id (po_…)' }),
  }),
  output: z.object({ order: z.string(), callbackStatus: z.number(), status: z.enum(PAYMENT_ORDER_STATUSES), invoiceStatus: z.string() }),
  roles: ['admin', 'finance'],
  stepUp: false,
  mutates: true,
  ownTransactions: true,
  positional: ['order'],
  async handler(ctx, input) {
    const k = ctx.db.kysely;
    const order = await k.selectFrom('payment_orders').selectAll().where('id', '=', input.order).executeTakeFirst();
    if (!order) throw notFound('payment_order_not_found', `No payment order ${input.order}`);
    // Never a live order: that would be real money, paid by no one.
    if (order.environment !== 'sandbox') throw conflict('payment_order_not_sandbox', `Payment order ${order.id} is a live order; only sandbox orders can be paid here`);
    if (order.status !== 'open') throw conflict('payment_order_not_open', `Payment order ${order.id} is ${order.status}; only an open order can be paid`);
    const { callbackStatus } = await sandboxPayerFor(ctx)({ channel: order.channel, outTradeNo: order.out_trade_no });
    ctx.touch(order.id, order.invoice_id, order.merchant_id);
    const after = await k.selectFrom('payment_orders').select('status').where('id', '=', order.id).executeTakeFirstOrThrow();
    const invoice = await k.selectFrom('invoices').select('status').where('id', '=', order.invoice_id).executeTakeFirstOrThrow();
    return { order: order.id, callbackStatus, status: after.status, invoiceStatus: invoice.status };
  },
});
