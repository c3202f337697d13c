import QRCode from 'qrcode';
import type { CoreContext, Environment, MerchantScope } from '../context/index.js';
import { HOUR } from '../context/index.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError, invalidInput, notFound } from '../errors/index.js';
import { ChannelError, type ChannelName, type CreatedChannelOrder } from './channels/types.js';
import { endStaleOrder, markOrder } from './orders.js';
import { type ChannelRegistry, CHANNEL_NAMES, COLLECTION_CURRENCY, assertInvoicePayable, channelUnavailable, randomToken } from './shared.js';
import type { PaymentOrderStatus, PaymentOrdersTable } from './tables.js';

/** How long a payment order accepts payment, unless the caller says otherwise. */
export const DEFAULT_ORDER_TTL_MS = 2 * HOUR;

export interface CheckoutView {
  paymentOrderId: string;
  invoiceId: string;
  channel: ChannelName;
  status: PaymentOrderStatus;
  amountMinor: string;
  currency: string;
  expiresAt: string;
  checkout: {
    /** What the payer scans (WeChat Pay code_url, Alipay qr_code). */
    codeUrl: string | null;
    /** The same as an SVG image, `data:image/svg+xml;base64,…`. */
    qr: string | null;
    /** The hosted checkout page for this order. */
    url: string;
  };
}

export interface CreateCheckoutInput {
  merchantId: string;
  environment: Environment;
  invoiceId: string;
  channel: ChannelName;
  /** Where the channel sends payment notifications (the server's callback route). */
  notifyUrl: (channel: ChannelName) => string;
  /** The hosted checkout page's URL for an order's checkout token. */
  hostedUrl: (checkoutToken: string) => string;
  /** How long the order accepts payment (default 2 hours). */
  ttlMs?: number;
}

type Plan = { kind: 'reuse'; order: PaymentOrdersTable } | { kind: 'create'; order: PaymentOrdersTable; description: string } | { kind: 'expire'; order: PaymentOrdersTable };

/**
 * The checkout of an invoice through one channel: the open, unexpired order for that invoice and
 * channel, or a new one. Crash-safe around the channel, which is never called inside a database
 * transaction:
 *  1. one transaction checks the invoice, inserts the order as `creating` with a fresh
 *     out-trade number, and moves the invoice `finalized` → `payment_pending`;
 *  2. `createOrder` at the channel;
 *  3. another transaction stores the code URL and `open`.
 * A crash or channel failure between 1 and 3 leaves the order `creating`: the next checkout calls
 * `createOrder` again with the SAME out-trade number (the channel answers the same order). An
 * expired order is asked about, closed at the channel and ended (`expired`); the next gets a new
 * out-trade number.
 */
export async function createCheckout(ctx: CoreContext, channels: ChannelRegistry, input: CreateCheckoutInput): Promise<CheckoutView> {
  if (!(CHANNEL_NAMES as readonly string[]).includes(input.channel)) throw invalidInput('channel_invalid', `channel must be one of ${CHANNEL_NAMES.join(', ')}`);
  const ttlMs = input.ttlMs ?? DEFAULT_ORDER_TTL_MS;
  // Each pass makes progress (an expired order ended, an order opened); three are plenty.
  for (let pass = 0; pass < 3; pass++) {
    const plan = await planCheckout(ctx, input, ttlMs);
    if (plan.kind === 'reuse') return checkoutView(plan.order, input.hostedUrl);
    if (plan.kind === 'expire') {
      try {
        await endStaleOrder(ctx, channels, plan.order, 'expired');
      } catch (e) {
        channelUnavailable(e);
      }
      continue;
    }
    const order = plan.order;
    let created: CreatedChannelOrder;
    try {
      created = await channels(order.channel, order.environment).createOrder({
        outTradeNo: order.out_trade_no,
        amountFen: BigInt(order.amount_minor),
        description: plan.description,
        expiresAt: order.expires_at,
        notifyUrl: input.notifyUrl(order.channel),
      });
    } catch (e) {
      // A refusal that asking again cannot change ends this attempt; the next checkout starts a new one.
      if (e instanceof ChannelError && !e.retryable) await markOrder(ctx, order.id, 'failed');
      channelUnavailable(e);
    }
    const opened = await inTransaction(ctx, async (tx) => {
      await tx.db.kysely
        .updateTable('payment_orders')
        .set({ status: 'open', code_url: created.codeUrl, updated_at: tx.clock.now().toISOString() })
        .where('id', '=', order.id)
        .where('status', '=', 'creating')
        .execute();
      return tx.db.kysely.selectFrom('payment_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow();
    });
    // Opened here or by a concurrent checkout of the same order; anything else: plan again.
    if (opened.status === 'open') return checkoutView(opened, input.hostedUrl);
  }
  throw new DomainError('unavailable', 'checkout_busy', 'The checkout changed while it was being made; try again', { retryAfterSeconds: 1 });
}

async function planCheckout(ctx: CoreContext, input: CreateCheckoutInput, ttlMs: number): Promise<Plan> {
  return inTransaction(ctx, async (tx) => {
    const k = tx.db.kysely;
    const invoice = await k
      .selectFrom('invoices')
      .innerJoin('merchants', 'merchants.id', 'invoices.merchant_id')
      .selectAll('invoices')
      .select('merchants.name as merchant_name')
      .where('invoices.id', '=', input.invoiceId)
      .executeTakeFirst();
    // Another merchant's (or environment's) invoice is as unknown as a missing one.
    if (!invoice || invoice.merchant_id !== input.merchantId || invoice.environment !== input.environment) {
      throw notFound('invoice_not_found', `No invoice ${input.invoiceId}`);
    }
    assertInvoicePayable(invoice);
    const description = orderDescription(invoice.merchant_name, invoice.invoice_number);
    const now = tx.clock.now();
    const live = await k
      .selectFrom('payment_orders')
      .selectAll()
      .where('invoice_id', '=', invoice.id)
      .where('channel', '=', input.channel)
      .where('status', 'in', ['creating', 'open'])
      .executeTakeFirst();
    if (live) {
      if (Date.parse(live.expires_at) <= now.getTime()) return { kind: 'expire', order: live };
      return live.status === 'open' ? { kind: 'reuse', order: live } : { kind: 'create', order: live, description };
    }
    const at = now.toISOString();
    const order: PaymentOrdersTable = {
      id: tx.ids.next('po'),
      merchant_id: invoice.merchant_id,
      environment: invoice.environment,
      invoice_id: invoice.id,
      channel: input.channel,
      out_trade_no: tx.ids.next('bm'),
      amount_minor: invoice.collection_amount_minor,
      currency: COLLECTION_CURRENCY,
      status: 'creating',
      code_url: null,
      checkout_token: randomToken(tx),
      expires_at: new Date(now.getTime() + ttlMs).toISOString(),
      transaction_id: null,
      paid_at: null,
      created_at: at,
      updated_at: at,
    };
    await k.insertInto('payment_orders').values(order).execute();
    if (invoice.status === 'finalized') {
      await k.updateTable('invoices').set({ status: 'payment_pending', updated_at: at }).where('id', '=', invoice.id).where('status', '=', 'finalized').execute();
    }
    return { kind: 'create', order, description };
  });
}

/** "<merchant> invoice <number>", cut to WeChat Pay's 127 bytes on a character boundary. */
export function orderDescription(merchantName: string, invoiceNumber: string): string {
  let text = `${merchantName} invoice ${invoiceNumber}`;
  while (Buffer.byteLength(text, 'utf8') > 127) text = Array.from(text).slice(0, -1).join('');
  return text;
}

async function qrDataUrl(codeUrl: string): Promise<string> {
  const svg = await QRCode.toString(codeUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

export async function checkoutView(order: PaymentOrdersTable, hostedUrl: (token: string) => string): Promise<CheckoutView> {
  return {
    paymentOrderId: order.id,
    invoiceId: order.invoice_id,
    channel: order.channel,
    status: order.status,
    amountMinor: order.amount_minor,
    currency: order.currency,
    expiresAt: order.expires_at,
    checkout: {
      codeUrl: order.code_url,
      qr: order.code_url ? await qrDataUrl(order.code_url) : null,
      url: hostedUrl(order.checkout_token),
    },
  };
}

/** The order a hosted checkout page shows, by its unguessable token (null when there is none). */
export async function findCheckoutByToken(
  ctx: CoreContext,
  token: string,
  hostedUrl: (token: string) => string,
): Promise<(CheckoutView & { invoiceNumber: string; merchantName: string }) | null> {
  const row = await ctx.db.kysely
    .selectFrom('payment_orders')
    .innerJoin('invoices', 'invoices.id', 'payment_orders.invoice_id')
    .innerJoin('merchants', 'merchants.id', 'payment_orders.merchant_id')
    .selectAll('payment_orders')
    .select(['invoices.invoice_number', 'merchants.name as merchant_name'])
    .where('payment_orders.checkout_token', '=', token)
    .executeTakeFirst();
  if (!row) return null;
  return { ...(await checkoutView(row, hostedUrl)), invoiceNumber: row.invoice_number, merchantName: row.merchant_name };
}

/** One payment order of a merchant (404 for another merchant's). */
export async function loadPaymentOrder(ctx: CoreContext, scope: MerchantScope, orderId: string, hostedUrl: (token: string) => string): Promise<CheckoutView> {
  const row = await ctx.db.kysely
    .selectFrom('payment_orders')
    .selectAll()
    .where('id', '=', orderId)
    .where('merchant_id', '=', scope.merchantId)
    .where('environment', '=', scope.environment)
    .executeTakeFirst();
  if (!row) throw notFound('payment_order_not_found', `No payment order ${orderId}`);
  return checkoutView(row, hostedUrl);
}
