import type { CoreContext, Environment } from '../context/index.js';
import { DomainError, conflict, invalidInput } from '../errors/index.js';
import type { InvoicesTable } from '../invoices/tables.js';
import { MAX_ENTRY_AMOUNT } from '../ledger/index.js';
import { ChannelError, type ChannelName, type PaymentChannel } from './channels/types.js';

/** The channel clients, injected by whoever builds the service (server, CLI, tests): never a global. */
export type ChannelRegistry = (name: ChannelName, environment: Environment) => PaymentChannel;

export const CHANNEL_NAMES = ['wechat', 'alipay'] as const satisfies readonly ChannelName[];
export const COLLECTION_CURRENCY = 'CNY';

/** Invoice statuses in which a payment may still be taken. */
export const PAYABLE_INVOICE_STATUSES = ['finalized', 'payment_pending'] as const;

export function isPayableStatus(status: string): boolean {
  return (PAYABLE_INVOICE_STATUSES as readonly string[]).includes(status);
}

/** Refuses an invoice that cannot be collected, with the code the API answers. */
export function assertInvoicePayable(inv: Pick<InvoicesTable, 'id' | 'invoice_number' | 'status' | 'collection_amount_minor' | 'collection_currency'>): void {
  switch (inv.status) {
    case 'paid':
      throw conflict('invoice_already_paid', `Invoice ${inv.invoice_number} is already paid`, { status: inv.status });
    case 'void':
      throw conflict('invoice_void', `Invoice ${inv.invoice_number} is void`, { status: inv.status });
    case 'refunded':
      throw conflict('invoice_refunded', `Invoice ${inv.invoice_number} was refunded`, { status: inv.status });
    case 'finalized':
    case 'payment_pending':
      break;
    default:
      throw conflict('invoice_not_payable', `Invoice ${inv.invoice_number} is ${inv.status}; only a finalized invoice can be paid`, { status: inv.status });
  }
  if (inv.collection_currency !== COLLECTION_CURRENCY || BigInt(inv.collection_amount_minor) <= 0n) {
    throw conflict('invoice_not_payable', `Invoice ${inv.invoice_number} has nothing to collect`, { status: inv.status });
  }
}

/**
 * A channel failure as the domain reports it: 503 `channel_unavailable`, with the channel's own
 * code. Anything that is not a ChannelError is a bug or the database, and is rethrown as it is.
 */
export function channelUnavailable(e: unknown): never {
  if (e instanceof ChannelError) {
    throw new DomainError('unavailable', 'channel_unavailable', `${e.channel} did not complete the request: ${e.message}`, {
      details: { channel: e.channel, channelCode: e.channelCode, retryable: e.retryable },
      retryAfterSeconds: e.retryable ? 5 : undefined,
    });
  }
  throw e;
}

/** A positive whole number of minor units, as a bigint (never a float). */
export function parsePositiveMinor(value: string | bigint, field: string): bigint {
  const text = typeof value === 'bigint' ? value.toString() : value;
  if (!/^[1-9][0-9]*$/.test(text)) throw invalidInput('amount_invalid', `${field} must be a positive whole number of minor units (a decimal string)`);
  const n = BigInt(text);
  if (n > MAX_ENTRY_AMOUNT) throw invalidInput('amount_invalid', `${field} is too large`);
  return n;
}

/** JSON with bigints as decimal strings (verified notifications carry fen as bigint). */
export function jsonWithBigints(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** An unguessable token (32 random bytes, base64url) from the context's randomness. */
export function randomToken(ctx: CoreContext, bytes = 32): string {
  return Buffer.from(ctx.randomBytes(bytes)).toString('base64url');
}
