import type { CoreContext } from '../context/index.js';
import type { InvoiceStatus } from '../invoices/index.js';
import type { ChannelName } from './channels/types.js';
import { checkoutView } from './checkout.js';
import type { PaymentOrderStatus, PaymentOrdersTable } from './tables.js';

/**
 * The reads behind the hosted checkout page (server/checkout-page), by the order's unguessable
 * checkout token (a unique column: one indexed lookup, the same work for every wrong token):
 * what the payer needs and nothing more — the billing period and the invoice's status beside
 * the order.
 */

/** A checkout token as core/payments makes them (32 random bytes, base64url); anything else is not looked up. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32,128}$/;

export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

/**
 * What the payer sees, derived from the order and its invoice:
 * - `paid`: this order was paid, or the invoice was (through another order);
 * - `refunded` / `void`: the invoice was refunded in full / cancelled;
 * - `open`: the order takes payment (open or still being created, and not past `expiresAt`);
 * - `expired`: past `expiresAt` by the clock, or ended (`expired`, `closed`, `failed`).
 */
export type PayerState = 'open' | 'paid' | 'expired' | 'void' | 'refunded';

export interface StateFacts {
  orderStatus: PaymentOrderStatus;
  expiresAt: string;
  orderPaidAt: string | null;
  invoiceStatus: InvoiceStatus;
  invoicePaidAt: string | null;
}

export function payerState(f: StateFacts, now: Date): { status: PayerState; paidAt: string | null } {
  if (f.invoiceStatus === 'refunded') return { status: 'refunded', paidAt: null };
  if (f.orderStatus === 'paid') return { status: 'paid', paidAt: f.orderPaidAt ?? f.invoicePaidAt };
  if (f.invoiceStatus === 'paid') return { status: 'paid', paidAt: f.invoicePaidAt };
  if (f.invoiceStatus === 'void') return { status: 'void', paidAt: null };
  if ((f.orderStatus === 'open' || f.orderStatus === 'creating') && Date.parse(f.expiresAt) > now.getTime()) return { status: 'open', paidAt: null };
  return { status: 'expired', paidAt: null };
}

export interface HostedCheckout extends StateFacts {
  token: string;
  merchantId: string;
  environment: PaymentOrdersTable['environment'];
  invoiceId: string;
  channel: ChannelName;
  merchantName: string;
  invoiceNumber: string;
  periodStart: string;
  periodEnd: string;
  amountMinor: string;
  currency: string;
  /** What the payer scans, and the same as an SVG data URL (null while the order is being created). */
  codeUrl: string | null;
  qr: string | null;
}

/** The page's facts for a token, or null (unknown token). */
export async function loadHostedCheckout(ctx: CoreContext, token: string): Promise<HostedCheckout | null> {
  if (!isTokenShaped(token)) return null;
  const row = await ctx.db.kysely
    .selectFrom('payment_orders')
    .innerJoin('invoices', 'invoices.id', 'payment_orders.invoice_id')
    .innerJoin('merchants', 'merchants.id', 'payment_orders.merchant_id')
    .selectAll('payment_orders')
    .select([
      'invoices.invoice_number',
      'invoices.period_start',
      'invoices.period_end',
      'invoices.status as invoice_status',
      'invoices.paid_at as invoice_paid_at',
      'merchants.name as merchant_name',
    ])
    .where('payment_orders.checkout_token', '=', token)
    .executeTakeFirst();
  if (!row) return null;
  // The QR as core/payments draws it for the API (the hosted URL is not shown, so any will do).
  const view = await checkoutView(row, () => '');
  return {
    token,
    merchantId: row.merchant_id,
    environment: row.environment,
    invoiceId: row.invoice_id,
    channel: row.channel,
    merchantName: row.merchant_name,
    invoiceNumber: row.invoice_number,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    amountMinor: row.amount_minor,
    currency: row.currency,
    codeUrl: row.code_url,
    qr: view.checkout.qr,
    orderStatus: row.status,
    expiresAt: row.expires_at,
    orderPaidAt: row.paid_at,
    invoiceStatus: row.invoice_status,
    invoicePaidAt: row.invoice_paid_at,
  };
}

/** Only what the status poll needs (no QR drawn): the facts `payerState` reads, or null. */
export async function loadStateFacts(ctx: CoreContext, token: string): Promise<StateFacts | null> {
  if (!isTokenShaped(token)) return null;
  const row = await ctx.db.kysely
    .selectFrom('payment_orders')
    .innerJoin('invoices', 'invoices.id', 'payment_orders.invoice_id')
    .select([
      'payment_orders.status as order_status',
      'payment_orders.expires_at',
      'payment_orders.paid_at as order_paid_at',
      'invoices.status as invoice_status',
      'invoices.paid_at as invoice_paid_at',
    ])
    .where('payment_orders.checkout_token', '=', token)
    .executeTakeFirst();
  if (!row) return null;
  return {
    orderStatus: row.order_status,
    expiresAt: row.expires_at,
    orderPaidAt: row.order_paid_at,
    invoiceStatus: row.invoice_status,
    invoicePaidAt: row.invoice_paid_at,
  };
}
